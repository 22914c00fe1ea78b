"""``Session``: the one service the magic and the Studio talk to.

It plans (exactly what will be sent), estimates, keeps the spending budget, submits plans to the
client on the background loop thread and hands back ``Run`` objects at once, and answers the
questions a front end asks about what was made: history, one asset, its recipe, what is pending.
Every method is safe to call from the notebook's thread and from widget callbacks; none of them
waits for kie except ``credits()`` and ``Run.result()``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from kie_widgets import runner
from kie_widgets.errors import KieValidationError, KieWaitTimeoutError, Problem
from kie_widgets.jobs import Budget
from kie_widgets.session._history import select_entries
from kie_widgets.session._run import Run, Subscriber

if TYPE_CHECKING:
    from kie_widgets.assets import Asset, DriftReport, Manifest
    from kie_widgets.catalog import Plan
    from kie_widgets.config import Settings
    from kie_widgets.jobs import KieClient, StatusUpdate

#: A request as front ends give it: ``{"model": ..., "prompt": ..., "n": ..., **params}``.
Request = Mapping[str, Any]


class Session:
    """Plan, estimate, submit and look up, for every front end (module docstring).

    ``client_kwargs`` go to the ``KieClient`` on the loop thread (``transport=``, ``manifest=``,
    ``clock=``, ...); with none, the settings of the environment are followed, and a change of them
    (``%env KIE_SANDBOX=1``, a key typed in later) takes effect on the next call.
    """

    def __init__(self, *, budget: float | None = None, **client_kwargs: Any) -> None:
        self.budget = Budget(budget)
        self._client_kwargs = client_kwargs
        self._deliveries: queue.SimpleQueue[Callable[[], Any]] = queue.SimpleQueue()
        self._delivery_thread: threading.Thread | None = None
        self._lock = threading.Lock()
        if client_kwargs:
            runner.configure(**client_kwargs)

    def __repr__(self) -> str:
        return f"Session({self.client!r}, {self.budget!r})"

    # ---- the client and its settings ----------------------------------------------------------

    @property
    def client(self) -> KieClient:
        """The loop thread's client, rebuilt first when the environment's settings changed."""
        client = runner.get_client()
        if self._client_kwargs or runner.configured():
            # Someone chose the client's arguments on purpose: the environment does not override them.
            return client
        from kie_widgets.config import load_settings

        now, was = load_settings(), client.settings

        def key(s: Settings) -> tuple[Any, ...]:
            return (s.sandbox, s.api_key, s.base_url, s.upload_url, s.project_root)

        if key(now) != key(was):
            runner.configure()
            client = runner.get_client()
        return client

    @property
    def settings(self) -> Settings:
        """The settings the client runs with (the key masked in every repr)."""
        return self.client.settings

    @property
    def manifest(self) -> Manifest:
        """The manifest this session records into (read it through the methods below)."""
        return self.client.manifest

    # ---- planning -----------------------------------------------------------------------------

    def plan(self, requests: Sequence[Request]) -> list[Plan]:
        """Exactly the plans that will be sent for ``requests``, in order (``n`` split into batches).

        Raises ``KieValidationError`` for the first request with a problem; nothing is sent.
        """
        client = self.client
        plans: list[Plan] = []
        for index, request in enumerate(requests):
            params = dict(request)
            model = params.pop("model", None)
            if not model:
                raise KieValidationError([Problem("model", "is required", None)])
            prompt = params.pop("prompt", None)
            plans.extend(client.plan_request(model, prompt, request=index, **params))
        return plans

    @staticmethod
    def estimate(plans: Sequence[Plan]) -> float:
        """The estimated credits of all ``plans``."""
        return sum(p.estimated_credits for p in plans)

    def credits(self) -> float:
        """The account's balance (waits for kie)."""
        return runner.credits()

    # ---- submitting ---------------------------------------------------------------------------

    def submit(
        self,
        plans: Sequence[Plan],
        *,
        scene_id: int | str | None = None,
        context: Mapping[str, Any] | None = None,
        reuse: bool = False,
        timeout: float | None = None,
        operation: str | None = None,
        on_event: Subscriber | None = None,
        on: Any = "thread",
        force: bool = False,
    ) -> Run:
        """Send ``plans`` (from ``plan()``) and return their ``Run`` at once.

        ``context`` is the calling cell's (``CONTEXT_KEYS``), captured by the front end before it
        calls. ``on_event`` is subscribed before anything happens, on the thread ``on`` names.
        Raises ``KieBudgetError`` before sending if the estimate would exceed the budget. A request
        whose earlier create is uncertain ends in ``KieUncertainRepeatError`` unless ``force``.
        """
        if not plans:
            raise KieValidationError([Problem("plans", "nothing to send", None)])
        from kie_widgets.jobs import check_run_options

        check_run_options(timeout=timeout, scene_id=scene_id, context=context)
        run = Run(plans, deliver=self._deliver)
        if on_event is not None:
            run.subscribe(on_event, on=on)
        self.budget.charge(run.estimated_credits)
        client = self.client
        for request in run.requests:
            run.futures[request] = runner.submit(
                self._run_request,
                client,
                run,
                request,
                scene_id=scene_id,
                context=context,
                reuse=reuse,
                timeout=timeout,
                operation=operation,
                force=force,
            )
        return run

    async def _run_request(self, client: KieClient, run: Run, request: int, **kwargs: Any) -> list[Asset]:
        """One request's plans on the loop thread; the handles learn each part's outcome."""
        loop = asyncio.get_running_loop()
        handles = run.handles_of(request)

        def on_task(part: int, future: asyncio.Future[Any]) -> None:
            handles[part]._future, handles[part]._loop = future, loop

        def on_status(update: StatusUpdate) -> None:
            run._on_status(update)

        try:
            outcomes = await client.run_plans(
                [h.plan for h in handles], on_status=on_status, on_task=on_task, **kwargs
            )
        except BaseException as exc:
            run._settle(request, [exc] * len(handles))
            self._refund_unspent(handles)
            raise
        # A part whose wait was stopped is not a failure: the task goes on at kie, journaled.
        outcomes = [
            KieWaitTimeoutError(
                f"{h.model}: stopped waiting; the task is still running at kie", task_id=h.task_id
            )
            if isinstance(o, asyncio.CancelledError)
            else o
            for h, o in zip(handles, outcomes, strict=True)
        ]
        run._settle(request, outcomes)
        self._refund_unspent(handles)
        return client._gathered(outcomes, handles[0].model)

    def _refund_unspent(self, handles: Sequence[Any]) -> None:
        unspent = sum(
            h.credits for h in handles if h.state == "reused" or (h.state == "failed" and h.task_id is None)
        )
        if unspent:
            self.budget.refund(unspent)

    def _deliver(self, call: Callable[[], Any]) -> None:
        """Run ``call`` on the session's delivery thread (started on first use)."""
        with self._lock:
            if self._delivery_thread is None or not self._delivery_thread.is_alive():
                self._delivery_thread = threading.Thread(
                    target=self._deliver_forever, name="kie-widgets-events", daemon=True
                )
                self._delivery_thread.start()
        self._deliveries.put(call)

    def _deliver_forever(self) -> None:
        while True:
            self._deliveries.get()()

    # ---- follow-up actions on an asset ------------------------------------------------------

    def upscale(self, image: Any, *, model: str | None = None, **kwargs: Any) -> Run:
        """Upscale ``image`` (an asset or its id) with the guidance's first choice unless ``model``."""
        return self._follow_up("upscale", image, model, None, **kwargs)

    def remove_background(self, image: Any, *, model: str | None = None, **kwargs: Any) -> Run:
        """Cut the subject of ``image`` out onto a transparent background."""
        return self._follow_up("remove-background", image, model, None, **kwargs)

    def edit(self, image: Any, prompt: str, *, model: str | None = None, **kwargs: Any) -> Run:
        """Edit ``image`` as ``prompt`` says (with ``mask=`` for a masked edit)."""
        if model is None:
            from kie_widgets.catalog import default_model

            model = default_model("masked-edit" if kwargs.get("mask") is not None else "edit")
        return self._follow_up("edit", image, model, prompt, **kwargs)

    def vary(self, image: Any, **kwargs: Any) -> Run:
        """The same recipe as ``image`` (model, prompt, parameters, inputs) with another seed."""
        entry = self._entry(image)
        raw = entry.get("kie")
        extra: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        params = dict(extra.get("params") or {})
        params.pop("n", None)
        model = extra.get("model_id") or entry.get("model")
        parents = list(extra.get("parents") or [])
        if parents and "images" not in params:
            params["images"] = parents
        from kie_widgets.catalog import resolve

        spec = resolve(str(model), has_image=bool(parents))
        if spec.seed:
            params["seed"] = random.randrange(1, 2**31 - 1)
        params.update(kwargs.pop("params", {}))
        plans = self.plan([{"model": model, **params}])
        return self.submit(plans, operation=extra.get("operation") or None, **_submit_kwargs(kwargs))

    def _follow_up(
        self, operation: str, image: Any, model: str | None, prompt: str | None, **kwargs: Any
    ) -> Run:
        if model is None:
            from kie_widgets.catalog import default_model

            model = default_model(operation)
        source = getattr(image, "id", image)
        submit = _submit_kwargs(kwargs)
        request = {"model": model, "prompt": prompt, "images": [source], **kwargs}
        return self.submit(self.plan([request]), operation=operation, **submit)

    # ---- checking a masked edit --------------------------------------------------------------

    def _image(self, image: Any) -> Any:
        """An asset for an asset id, else the image as given (path, bytes, PIL image, asset)."""
        if isinstance(image, str) and image.startswith("img-"):
            asset = self.asset(image)
            if asset is None:
                raise KieValidationError([Problem("image", "no such asset in the manifest", image)])
            return asset
        return image

    def drift(self, edit: Any, source: Any, mask: Any) -> DriftReport:
        """How much ``edit`` changed ``source`` outside ``mask`` (ours: 255 = change)."""
        from kie_widgets.assets import drift_report

        return drift_report(self._image(source), self._image(edit), self._image(mask))

    def composite(self, edit: Any, source: Any, mask: Any) -> Asset:
        """Record the edit inside the mask over the source's own pixels outside it, as a new asset.

        The new asset's operation is "composite" and its parent is the edit.
        """
        from kie_widgets.assets import record_composite

        edit_asset = self._image(getattr(edit, "id", edit))
        return record_composite(self.manifest, edit_asset, self._image(source), self._image(mask))

    # ---- looking things up ------------------------------------------------------------------

    def asset(self, asset_id: str) -> Asset | None:
        """The recorded asset with this id, or ``None``."""
        return self.manifest.asset(asset_id)

    def asset_of(self, entry: Mapping[str, Any]) -> Asset:
        """The asset an entry (from ``history()`` or ``entries()``) describes; the manifest is not read."""
        from kie_widgets.assets import Asset

        return Asset.from_entry(dict(entry), self.manifest)

    def _entry(self, image: Any) -> dict[str, Any]:
        asset_id = str(getattr(image, "id", image))
        entry = self.manifest.get(asset_id)
        if entry is None:
            raise KieValidationError([Problem("image", "no such asset in the manifest", asset_id)])
        return entry

    def recipe(self, image: Any) -> dict[str, Any]:
        """How an asset (or its id, or an image file) was made: ``recipe_from``."""
        from kie_widgets.assets import recipe_from

        key = getattr(image, "id", image)
        return recipe_from(key, manifest=self.manifest)

    def keep(self, image: Any, kept: bool = True) -> dict[str, Any]:
        """Mark (or unmark) the take you chose (``"kie": {"kept": true}``); ids and versions stay."""
        asset_id = str(getattr(image, "id", image))
        self._entry(asset_id)
        return self.manifest.update_extra(asset_id, kept=bool(kept))

    def entries(self) -> list[dict[str, Any]]:
        """Every manifest entry, oldest first."""
        return self.manifest.entries

    def history(
        self,
        *,
        scene: int | str | None = None,
        model: str | None = None,
        since: date | None = None,
        until: date | None = None,
        text: str | None = None,
        include_superseded: bool = False,
        limit: int | None = 50,
    ) -> list[dict[str, Any]]:
        """Image entries that match, oldest first, at most the newest ``limit``."""
        return select_entries(
            self.manifest,
            scene=scene,
            model=model,
            since=since,
            until=until,
            text=text,
            include_superseded=include_superseded,
            limit=limit,
        )

    def history_page(
        self, *, offset: int = 0, limit: int = 12, kept_only: bool = False, **filters: Any
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of history for a gallery, newest first, and how many entries match in all.

        ``filters`` are ``history()``'s; only the page's entries are read from the manifest.
        """
        from kie_widgets.session._history import select_page

        return select_page(self.manifest, offset=offset, limit=limit, kept_only=kept_only, **filters)

    def pending(self) -> list[dict[str, Any]]:
        """Journal records of paid tasks not yet collected, and creates whose outcome is unknown
        (``sending``: the process stopped on the wire; ``uncertain``: no answer came)."""
        return self.manifest.pending()

    def dismiss(self, journal_id: str, reason: str = "") -> None:
        """Close an open journal record by hand, e.g. an uncertain create after checking kie's logs.

        Once dismissed it no longer blocks the same request and ``resume()`` no longer reports it.
        """
        known = {str(r.get("journal_id")) for r in self.pending()} | {
            str(r.get("task_id")) for r in self.pending() if r.get("task_id")
        }
        if journal_id not in known:
            raise KieValidationError([Problem("journal_id", "is no open journal record", journal_id)])
        self.manifest.journal_dismiss(journal_id, reason)

    def resume(
        self, *, timeout: float | None = None, on_status: Callable[[StatusUpdate], Any] | None = None
    ) -> concurrent.futures.Future[list[Asset]]:
        """Collect every pending task of the journal, in the background; never creates a task.

        The future's result is the client's ``ResumeReport`` (a list of the collected assets, with
        what stays pending and why, what was given up, and the uncertain creates to check at kie).
        """

        async def collect() -> list[Asset]:
            return await self.client.resume(timeout=timeout, on_status=on_status)

        return runner.submit(collect)


def _submit_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop the keywords of ``Session.submit`` out of a follow-up's keywords."""
    names = {"scene_id", "context", "reuse", "timeout", "on_event", "on", "force"}
    return {k: kwargs.pop(k) for k in list(kwargs) if k in names}


_current: Session | None = None
_current_lock = threading.Lock()


def current_session() -> Session:
    """The process's session (made on first use), shared by the magic and every Studio."""
    global _current
    with _current_lock:
        if _current is None:
            _current = Session()
            runner.use_budget(_current.budget)
        return _current


def use_session(session: Session | None) -> None:
    """Make ``session`` the process's session (``None``: a fresh default one next time)."""
    global _current
    with _current_lock:
        _current = session
        runner.use_budget(session.budget if session is not None else None)


__all__ = ["Budget", "Request", "Session", "current_session", "use_session"]

"""``KieClient``: plan, submit and journal requests, fan out, resume (inputs and following mixed in)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import random
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kie_widgets.assets.record import CONTEXT_KEYS, AssetRecord
from kie_widgets.clock import Clock, RealClock
from kie_widgets.config import Secret, Settings, load_settings
from kie_widgets.errors import (
    KieBatchError,
    KieError,
    KieNotFoundError,
    KieSubmitUncertainError,
    KieTaskFailedError,
    KieUncertainRepeatError,
    KieValidationError,
    Problem,
)
from kie_widgets.jobs._follow import FollowMixin, RecordGroup
from kie_widgets.jobs._inputs import InputsMixin
from kie_widgets.jobs._model import (
    Job,
    PollSchedule,
    Prepared,
    ResumeReport,
    StatusCallback,
    StatusUpdate,
    check_run_options,
    log,
    what_to_check,
)

if TYPE_CHECKING:
    import httpx

    from kie_widgets.assets import Asset, Manifest
    from kie_widgets.catalog import Plan
    from kie_widgets.client import KieAPI
    from kie_widgets.jobs._budget import Budget


# The model each convenience method uses when none is given (first one the catalog knows).
_DEFAULT_EDIT = ("flux-kontext-pro", "google/nano-banana-edit", "seedream/4.5-edit")
_DEFAULT_MASKED_EDIT = ("gpt4o-image", "4o Image")


class KieClient(InputsMixin, FollowMixin):
    """The async kie.ai client: ``async with KieClient() as kie: assets = await kie.generate(...)``.

    Arguments default to the settings (explicit argument, environment, ``.env``). With
    ``KIE_SANDBOX=1`` and no ``transport`` it talks to the process's in-process sandbox.
    ``manifest`` defaults to ``<project root>/assets/manifest.json``; ``clock`` to the real clock.

    This module plans, submits and journals requests and fans them out; ``_inputs`` loads and
    uploads their inputs; ``_follow`` waits for each task and downloads and records its results.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        upload_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        manifest: Manifest | str | Path | None = None,
        clock: Clock | None = None,
        settings: Settings | None = None,
        schedule: PollSchedule | None = None,
        api: KieAPI | None = None,
        budget: Budget | None = None,
    ) -> None:
        if settings is None:
            settings = load_settings(api_key=api_key, base_url=base_url, upload_url=upload_url)
        else:
            if base_url:
                settings = dataclasses.replace(settings, base_url=base_url.rstrip("/"))
            if upload_url:
                settings = dataclasses.replace(settings, upload_url=upload_url.rstrip("/"))
            if api_key:
                settings = dataclasses.replace(settings, api_key=Secret(api_key), key_source="argument")
        self.settings = settings
        self.clock: Clock = clock or RealClock()
        if transport is None and api is None and settings.sandbox:
            # Deferred: jobs is the one layer allowed to start the emulator, and only when asked.
            from kie_widgets.sandbox import shared_sandbox

            shared = shared_sandbox()
            transport = shared.transport
            # The emulator accepts only its own key; a real key set alongside KIE_SANDBOX=1 stays home.
            settings = dataclasses.replace(settings, api_key=Secret(shared.api_key), key_source="sandbox")
            self.settings = settings
        if api is None:
            from kie_widgets.client import KieAPI

            api = KieAPI(settings, transport=transport, clock=self.clock)
        self.api: KieAPI = api
        self._manifest_arg = manifest
        self._manifest: Manifest | None = None
        self.schedule = schedule or PollSchedule()
        self._rng = random.Random()
        self._record_lock: asyncio.Lock | None = None
        self._download_sem: asyncio.Semaphore | None = None
        self._uploads: dict[str, tuple[str, float]] = {}
        self.jobs: dict[str, Job] = {}
        #: The spending limit ``generate()`` (and its twins) charge before sending; ``None``: no limit.
        #: The runner's client carries the current session's budget (``Session.submit`` charges it itself).
        self.budget: Budget | None = budget

    # ---- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> KieClient:
        await self.api.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self.api.aclose()

    def __repr__(self) -> str:
        key = self.settings.api_key.masked() if self.settings.api_key else "none"
        mode = ", sandbox" if self.settings.sandbox else ""
        return f"KieClient(base_url={self.settings.base_url!r}, key={key!r}{mode})"

    @property
    def manifest(self) -> Manifest:
        """The manifest results are recorded in (opened on first use)."""
        if self._manifest is None:
            from kie_widgets.assets import Manifest

            arg = self._manifest_arg
            if arg is None:
                self._manifest = Manifest(self.settings.assets_dir / "manifest.json")
            elif isinstance(arg, (str, Path)):
                self._manifest = Manifest(arg)
            else:
                self._manifest = arg
        return self._manifest

    # ---- public operations ------------------------------------------------------------------

    def plan(self, model: str, prompt: str | None = None, **params: Any) -> Plan:
        """The catalog's plan for this request, with asset-id inputs checked against the manifest."""
        from kie_widgets.catalog import plan as catalog_plan

        if "source_size" not in params:
            params["source_size"] = self._source_size(params)
        result = catalog_plan(model, prompt, **params)
        self._check_assets(result)
        return result

    def plan_request(self, model: str, prompt: str | None = None, **params: Any) -> list[Plan]:
        """The plans that make ``n`` images (``catalog.plan_request``), asset-id inputs checked."""
        from kie_widgets.catalog import plan_request

        params.setdefault("max_images", self.settings.max_images)
        if "source_size" not in params:
            params["source_size"] = self._source_size(params)
        plans = plan_request(model, prompt, **params)
        self._check_assets(plans[0])
        return plans

    def _check_assets(self, planned: Plan) -> None:
        missing = [
            Problem(ref.field, f"no asset {ref.source!r} in the manifest", value=ref.source)
            for ref in planned.uploads
            if ref.kind == "asset" and self.manifest.get(str(ref.source)) is None
        ]
        if missing:
            raise KieValidationError(missing, model=planned.display_name)

    async def credits(self) -> float:
        """The account's credit balance."""
        return await self.api.credits()

    async def generate(
        self,
        model: str,
        prompt: str | None = None,
        *,
        n: int = 1,
        images: Any = None,
        mask: Any = None,
        scene_id: int | str | None = None,
        context: Mapping[str, Any] | None = None,
        reuse: bool = False,
        timeout: float | None = None,
        on_status: StatusCallback | None = None,
        operation: str | None = None,
        force: bool = False,
        **params: Any,
    ) -> list[Asset]:
        """Make ``n`` images with ``model`` and return them as recorded ``Asset`` objects.

        ``n`` is split into as few requests as the model allows, sent concurrently. If some fail,
        every success is still downloaded and recorded, and ``KieBatchError`` carries both. An
        earlier create of the same recipe whose outcome is unknown refuses the request
        (``KieUncertainRepeatError``) unless ``force``. ``input={...}`` (or ``raw=True``) sends a
        kie model id the catalog does not know as written (see ``plan``).
        """
        emit = self._emitter(on_status, self.clock.monotonic())
        emit("planning", model, message="checking the request")
        estimate = 0.0
        try:
            check_run_options(timeout=timeout, scene_id=scene_id, context=context)
            # Off the loop: planning reads image headers and the manifest.
            plans = await asyncio.to_thread(
                self.plan_request, model, prompt, n=n, images=images, mask=mask, **params
            )
            estimate = sum(p.estimated_credits for p in plans)
            if self.budget is not None:
                self.budget.charge(estimate)
        except KieError as exc:
            emit("failed", model, message=str(exc))
            raise
        try:
            outcomes = await self.run_plans(
                plans,
                scene_id=scene_id,
                context=context,
                reuse=reuse,
                timeout=timeout,
                on_status=on_status,
                operation=operation,
                force=force,
            )
        except KieError:
            # Refused before any create left (inputs, uploads, the ground check): nothing was spent.
            self._refund(estimate)
            raise
        self._refund(_unspent(plans, outcomes))
        return self._gathered(outcomes, plans[0].display_name)

    def _refund(self, credits: float) -> None:
        if self.budget is not None and credits:
            self.budget.refund(credits)

    async def run_plans(
        self,
        plans: Sequence[Plan],
        *,
        scene_id: int | str | None = None,
        context: Mapping[str, Any] | None = None,
        reuse: bool = False,
        timeout: float | None = None,
        on_status: StatusCallback | None = None,
        operation: str | None = None,
        on_task: Callable[[int, asyncio.Future[list[Asset]]], None] | None = None,
        force: bool = False,
    ) -> list[list[Asset] | BaseException]:
        """Send the plans of one request exactly as given (they are never planned again).

        Refused with ``KieUncertainRepeatError`` before anything is sent when an earlier create of
        the same recipe may have been paid without an answer, unless ``force``.

        Returns one outcome per plan, in order: its assets or the error it ended with. ``on_task``
        receives each plan's asyncio future as soon as it runs, so a front end can stop waiting for
        one task (it stays journaled) while the others go on.
        """
        started = self.clock.monotonic()
        label = plans[0].display_name
        emits = [self._emitter(on_status, started, part=p.part, request=p.request) for p in plans]
        try:
            check_run_options(timeout=timeout, scene_id=scene_id, context=context)
            prepared = [
                await self._prepare(p, operation=operation, scene_id=scene_id, context=context) for p in plans
            ]
            from kie_widgets.assets.schema import check_json

            for p in prepared:
                # Exactly what the journal and the manifest will hold, checked before anything is paid.
                check_json({**p.context, "record": _record_of(p).to_dict()}, "the request's record")
        except KieError as exc:
            for emit in emits:
                emit("failed", label, message=str(exc))
            raise
        if len(prepared) > 1:
            # One recipe for the whole request, so reuse finds all of its results together.
            from kie_widgets.assets import recipe_hash

            first = prepared[0]
            hashes = [hashlib.sha256(raw).hexdigest() for _, raw, _ in first.data]
            total = sum(p.n for p in plans)
            call_recipe = recipe_hash(first.plan.model_id, {**first.plan.params, "n": total}, hashes)
            for p in prepared:
                p.recipe = call_recipe
        batch = uuid.uuid4().hex[:12]
        offset = 0
        for p in prepared:
            p.batch, p.first_variant = batch, offset
            offset += p.plan.n
        if reuse:
            found = await asyncio.to_thread(self._reusable, prepared[0].recipe, sum(p.n for p in plans))
            if found is not None:
                for emit in emits:
                    emit("reused", label, message=f"{len(found)} earlier result(s) with the same recipe")
                return [found, *([] for _ in plans[1:])]
        try:
            # A missing key, or one that cannot be a header, is found before anything is written.
            self.api.settings.require_key()
            await asyncio.to_thread(self._check_before_paying, prepared[0], force)
        except KieError as exc:
            for emit in emits:
                emit("failed", label, message=str(exc))
            raise
        if any(p.data for p in prepared):
            for emit in emits:
                emit("uploading", label, message=f"uploading {len(prepared[0].data)} input(s)")
        try:
            bodies = [await self._resolve_inputs(p) for p in prepared]
        except KieError as exc:
            for emit in emits:
                emit("failed", label, message=str(exc))
            raise
        from kie_widgets.assets.journal import new_journal_id

        # One journal write holds the intent of every part, before any create leaves.
        intents = [
            (new_journal_id(), self._intent(p, body)) for p, body in zip(prepared, bodies, strict=True)
        ]
        launched: set[str] = set()
        try:
            await self._journal("journal_sending", intents)
        except KieError as exc:
            for emit in emits:
                emit("failed", label, message=str(exc))
            raise
        except BaseException:
            self._not_sent([jid for jid, _ in intents], launched)
            raise
        tasks: list[asyncio.Future[list[Asset]]] = []
        group = self.record_group(len(prepared))  # one manifest write for results that come together
        for i, (p, body, emit, (journal_id, intent)) in enumerate(
            zip(prepared, bodies, emits, intents, strict=True)
        ):
            task: asyncio.Future[list[Asset]] = asyncio.ensure_future(
                self._run(p, body, journal_id, intent, launched, timeout=timeout, emit=emit, group=group)
            )
            tasks.append(task)
            if on_task is not None:
                on_task(i, task)
        try:
            return list(await asyncio.gather(*tasks, return_exceptions=True))
        except asyncio.CancelledError:
            # Cancelled from outside: every part stops waiting (their tasks stay journaled).
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            # A part cancelled before it ran never sent its create.
            self._not_sent([jid for jid, _ in intents], launched)

    def _not_sent(self, journal_ids: Sequence[str], started: set[str]) -> None:
        """Close the ``sending`` records of parts that never started (their creates never left)."""
        idle = [jid for jid in journal_ids if jid not in started]
        for journal_id in idle:
            with contextlib.suppress(KieError):
                self.manifest.journal_not_sent(journal_id, "stopped before the create was sent")

    @staticmethod
    def _intent(prepared: Prepared, body: dict[str, Any]) -> dict[str, Any]:
        """What the journal keeps of one part: the request as sent and how to record its results."""
        plan = prepared.plan
        return {
            "family": plan.family,
            "model_id": plan.model_id,
            "model": plan.display_name,
            "endpoint": plan.endpoint,
            "body": body,
            "recipe": prepared.recipe,
            "context": {**prepared.context, "record": _record_of(prepared).to_dict()},
        }

    async def generate_many(
        self, requests: Iterable[Mapping[str, Any]], *, on_status: StatusCallback | None = None
    ) -> list[Asset]:
        """Run several ``generate`` requests (each a dict of its arguments, with ``model``) concurrently.

        The shared rate limiter paces the creates; partial failure raises ``KieBatchError`` after
        every success is recorded.
        """
        calls = []
        for request in requests:
            kwargs = dict(request)
            kwargs.setdefault("on_status", on_status)
            calls.append(self.generate(**kwargs))
        return self._gathered(await asyncio.gather(*calls, return_exceptions=True), "batch")

    async def edit(
        self, image: Any, prompt: str, *, model: str | None = None, mask: Any = None, **kw: Any
    ) -> list[Asset]:
        """Edit ``image`` (path, bytes, PIL image, array, URL or asset id) as ``prompt`` says."""
        if model is None:
            model = self._default_model(_DEFAULT_MASKED_EDIT if mask is not None else _DEFAULT_EDIT)
        kw.setdefault("operation", "edit")
        return await self.generate(model, prompt, images=[image], mask=mask, **kw)

    async def upscale(self, image: Any, *, model: str | None = None, **kw: Any) -> list[Asset]:
        """Upscale ``image`` with an upscaling model (the guidance's first choice unless given)."""
        from kie_widgets.catalog import default_model

        model = model or default_model("upscale")
        kw.setdefault("operation", "upscale")
        return await self.generate(model, kw.pop("prompt", None), images=[image], **kw)

    async def remove_background(self, image: Any, *, model: str | None = None, **kw: Any) -> list[Asset]:
        """Cut the subject of ``image`` out onto a transparent background."""
        from kie_widgets.catalog import default_model

        model = model or default_model("remove-background")
        kw.setdefault("operation", "remove-background")
        return await self.generate(model, kw.pop("prompt", None), images=[image], **kw)

    async def resume(
        self,
        *,
        timeout: float | None = None,
        on_status: StatusCallback | None = None,
        strict: bool = False,
    ) -> ResumeReport:
        """Collect every pending task of the journal and report on every open record; never creates a task.

        Returns a ``ResumeReport`` (a list of the collected assets, with ``pending``, ``given_up``,
        ``failed`` and ``uncertain``). Tasks still running after their deadline stay pending; tasks kie
        reports failed are marked failed; a result that stays unusable is retried on later calls
        and given up after ``max_result_attempts``. With ``strict`` it raises ``KieBatchError`` (with
        every collected asset) if any task could not be collected, as scripts may prefer.
        """
        from kie_widgets.assets.journal import UNCERTAIN_STATES

        open_records = await asyncio.to_thread(self.manifest.pending)
        records = [r for r in open_records if r.get("state") == "pending" and r.get("task_id")]
        records = [r for r in records if r["task_id"] not in self.jobs]
        group = self.record_group(len(records))
        calls = [self._resume_one(r, timeout=timeout, on_status=on_status, group=group) for r in records]
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        report = ResumeReport()
        states = {r.get("task_id"): r.get("state") for r in await asyncio.to_thread(self.manifest.journal)}
        for record, outcome in zip(records, outcomes, strict=True):
            if not isinstance(outcome, BaseException):
                report.extend(outcome)
                continue
            if not isinstance(outcome, Exception):
                raise outcome
            report.errors.append(outcome)
            item = {"task_id": record["task_id"], "model": record.get("model"), "reason": str(outcome)}
            if isinstance(outcome, KieBatchError):
                report.extend(outcome.assets)
            if isinstance(outcome, (KieTaskFailedError, KieNotFoundError)):
                report.failed.append(item)
            elif states.get(record["task_id"]) == "given up":
                report.given_up.append(item)
            else:
                report.pending.append(item)
        for record in open_records:
            if record.get("state") in UNCERTAIN_STATES:
                report.uncertain.append({**record, "what_to_check": what_to_check(record)})
        if strict and report.errors:
            self._gathered([list(report), *report.errors], "resume")
        return report

    # ---- planning and inputs ----------------------------------------------------------------

    def _default_model(self, candidates: Sequence[str]) -> str:
        from kie_widgets.catalog import resolve

        for name in candidates:
            try:
                resolve(name, has_image=True)
            except KieValidationError:
                continue
            return name
        raise KieValidationError([Problem("model", "no default model is available; pass model=")])

    def _reusable(self, recipe: str, n: int) -> list[Asset] | None:
        """The newest ``n`` recorded results of this recipe whose files still exist, or None."""
        from kie_widgets.assets import Asset

        entries = self.manifest.find_recipe(recipe, existing=True)
        if len(entries) < n:
            return None
        return [Asset.from_entry(e, self.manifest, reused=True) for e in entries[-n:]]

    def _check_before_paying(self, prepared: Prepared, force: bool) -> None:
        """The ground (manifest readable, folders writable), then, unless ``force``, no uncertain repeat.

        One worker-thread call for both: each request pays for it before its first byte is sent.
        """
        self.manifest.check_ground()
        if not force:
            self._refuse_uncertain_repeat(prepared)

    def _refuse_uncertain_repeat(self, prepared: Prepared) -> None:
        """``KieUncertainRepeatError`` if a create of this recipe may have been paid without an answer."""
        earlier = self.manifest.uncertain_of_recipe(prepared.recipe)
        if not earlier:
            return
        last = earlier[-1]
        raise KieUncertainRepeatError(
            f"An earlier create of this exact request ({prepared.plan.display_name}, journal record "
            f"{last.get('journal_id')} of {last.get('created_at')}, {last.get('state')}) may have reached "
            "kie without an answer; sending it again could pay for it twice. Nothing was sent.",
            journal_ids=[str(r.get("journal_id")) for r in earlier],
        )

    # ---- submit, wait, collect --------------------------------------------------------------

    async def _run(
        self,
        prepared: Prepared,
        body: dict[str, Any],
        journal_id: str,
        intent: dict[str, Any],
        started: set[str],
        *,
        timeout: float | None,
        emit: Callable[..., None],
        group: RecordGroup | None = None,
    ) -> list[Asset]:
        started.add(journal_id)
        plan = prepared.plan
        group = group or self.record_group(1)
        emit("submitting", plan.display_name, message=f"sending to {plan.endpoint}")
        record = _record_of(prepared)
        submission = asyncio.ensure_future(self._submit(plan, body, journal_id, intent))
        try:
            task_id = await asyncio.shield(submission)
        except asyncio.CancelledError:
            group.leave()
            # The create may already be on the wire: let it finish and be journaled, then give up.
            await asyncio.wait({submission})
            if not submission.cancelled():
                submission.exception()  # seen here, so asyncio does not log it as never retrieved
            raise
        except BaseException as exc:
            group.leave()
            if isinstance(exc, KieError):
                emit("failed", plan.display_name, message=str(exc))
            raise
        job = Job(
            task_id=task_id,
            family=plan.family,
            model_id=plan.model_id,
            model=plan.display_name,
            endpoint=plan.endpoint,
            body=body,
            operation=prepared.operation,
            record=record,
            context=prepared.context,
            recipe=prepared.recipe,
            started=self.clock.monotonic(),
        )
        # The task id exists from here on: show it at once, not only when the first poll answers.
        emit("queued", plan.display_name, task_id=task_id, message="created")
        deadline = timeout if timeout is not None else float(plan.spec.default_timeout)
        return await self._follow(job, deadline=deadline, emit=emit, group=group)

    async def _submit(
        self, plan: Plan, body: dict[str, Any], journal_id: str, submitted: dict[str, Any]
    ) -> str:
        """Create the task and resolve its ``sending`` journal record (``journal_id``) from kie's answer.

        The record was written before the create leaves, so a process killed while the create is on
        the wire leaves a trace that ``resume()`` reports. kie's answer turns it into a pending task
        (a task id), an uncertain create (no answer) or "not sent" (refused, or never left). None of
        these writes can be skipped by a cancellation or a ``KeyboardInterrupt`` (a runner shutting
        down cancels every task): they are made synchronously when the asynchronous write was
        interrupted (each is idempotent).
        """
        reached = False

        def uncertain(error: str) -> str | None:
            nonlocal reached
            reached = True
            try:
                uncertain_id: str = self.manifest.journal_uncertain(
                    error=error, journal_id=journal_id, **submitted
                )
            except KieError as journal_exc:
                log.error("could not journal an uncertain %s create: %s", plan.display_name, journal_exc)
                return journal_id  # the "sending" record stays: resume() still reports it
            return uncertain_id

        def interrupted(exc: BaseException) -> None:
            uncertain(f"the create was interrupted ({type(exc).__name__}) before kie's answer arrived")

        try:
            task_id = await self.api.create(
                plan.family,
                plan.endpoint,
                body,
                estimated_cost=plan.estimated_credits,
                on_interrupt=interrupted,
            )
        except KieSubmitUncertainError as exc:
            exc.journal_id = uncertain(str(exc))
            raise
        except BaseException as exc:
            if not reached:
                # kie refused it, or it never left (connect failure, cancelled in the rate limiter).
                reason = f"{type(exc).__name__}: {exc}"
                with contextlib.suppress(KieError):
                    if isinstance(exc, Exception):
                        await self._journal("journal_not_sent", journal_id, reason)
                    else:
                        self.manifest.journal_not_sent(journal_id, reason)
            raise
        try:
            await self._journal("journal_submit", task_id, journal_id=journal_id, **submitted)
        except KieError as exc:
            # The task exists and is paid: keep following it (recording may still work) and say
            # loudly which task it is; resume() reports its "sending" record as uncertain.
            log.error(
                "%s task %s is not in the journal (%s); collecting it anyway", plan.display_name, task_id, exc
            )
        except BaseException:
            # Cancelled while the write waited for its turn: the task is paid, so write it now.
            with contextlib.suppress(KieError):
                self.manifest.journal_submit(task_id, journal_id=journal_id, **submitted)
            raise
        return task_id

    # ---- small helpers ----------------------------------------------------------------------

    def _emitter(
        self, on_status: StatusCallback | None, started: float, *, part: int = 0, request: int = 0
    ) -> Callable[..., None]:
        def emit(
            state: str,
            model: str,
            *,
            task_id: str | None = None,
            progress: float | None = None,
            message: str = "",
        ) -> None:
            if on_status is None:
                return
            update = StatusUpdate(
                state=state,
                model=model,
                task_id=task_id,
                progress=progress,
                elapsed=self.clock.monotonic() - started,
                message=message,
                part=part,
                request=request,
            )
            try:
                on_status(update)
            except Exception:  # a broken status display must not lose a paid result
                log.exception("on_status callback failed")

        return emit

    @staticmethod
    def _gathered(results: Sequence[Any], label: str) -> list[Asset]:
        """Assets of every successful run; KieBatchError (holding them) if any run failed."""
        assets: list[Asset] = []
        errors: list[BaseException] = []
        for result in results:
            if isinstance(result, KieBatchError):
                # A nested fan-out's successes are saved too: carry them up.
                assets.extend(result.assets)
                errors.extend(result.errors)
            elif isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                errors.append(result)
            else:
                assets.extend(result)
        if not errors:
            return assets
        if not assets and len({type(e) for e in errors}) == 1:
            # Nothing succeeded and everything failed alike: the plain error is the clearest report
            # (the journal keeps every task id a timeout left pending).
            raise errors[0]
        kinds = ", ".join(sorted({type(e).__name__ for e in errors}))
        raise KieBatchError(
            f"{label}: {len(errors)} request(s) failed ({kinds}); {len(assets)} image(s) were saved.",
            assets=assets,
            errors=errors,
        )


def _record_of(prepared: Prepared) -> AssetRecord:
    """The one place a result's record is filled; the journal, manifest and sidecar follow it."""
    plan = prepared.plan
    return AssetRecord(
        prompt=plan.params.get("prompt"),
        model=plan.display_name,
        size=plan.size,
        endpoint=plan.endpoint,
        scene_id=prepared.scene_id,
        model_id=plan.model_id,
        params=plan.params,
        negative_prompt=plan.params.get("negative_prompt"),
        seed=plan.params.get("seed"),
        parents=tuple(prepared.parents),
        operation=prepared.operation,
        # A raw plan's estimate is not a price: record none rather than a made-up 0.
        credits=None if plan.unvalidated else plan.estimated_credits,
        recipe=prepared.recipe,
        batch=prepared.batch,
        request=plan.request,
        variant=prepared.first_variant,
        unvalidated=True if plan.unvalidated else None,
        **{key: prepared.context.get(key) for key in CONTEXT_KEYS},
    )


def _unspent(plans: Sequence[Plan], outcomes: Sequence[list[Asset] | BaseException]) -> float:
    """Credits of the plans that cost nothing: a reused result, or a refusal before kie made a task."""
    first = outcomes[0] if outcomes else None
    if isinstance(first, list) and first and all(getattr(a, "reused", False) for a in first):
        return sum(p.estimated_credits for p in plans)  # reuse answers the whole request at once
    return sum(
        plan.estimated_credits
        for plan, outcome in zip(plans, outcomes, strict=False)
        if isinstance(outcome, KieError)
        and not isinstance(outcome, KieSubmitUncertainError)
        and getattr(outcome, "task_id", None) is None
    )

"""``KieClient``: plan, upload, submit, journal, wait, download, record, fan out, resume."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import random
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kie_widgets.clock import Clock, RealClock
from kie_widgets.config import Secret, Settings, load_settings
from kie_widgets.errors import (
    KieAPIError,
    KieBatchError,
    KieError,
    KieImageError,
    KieNotFoundError,
    KieRateLimitError,
    KieRequestError,
    KieServerError,
    KieSubmitUncertainError,
    KieTaskFailedError,
    KieTransportError,
    KieUnavailableError,
    KieValidationError,
    KieWaitTimeoutError,
    Problem,
)
from kie_widgets.jobs._inputs import EXTENSIONS, encode_pil, fmt_bytes, png_from_array, sniff_mime
from kie_widgets.jobs._model import (
    CONTEXT_KEYS,
    Job,
    PollSchedule,
    Prepared,
    StatusCallback,
    StatusUpdate,
    log,
)
from kie_widgets.jobs._pacer import CreatePacer

if TYPE_CHECKING:
    import httpx

    from kie_widgets.assets import Asset, Manifest, SavedImage
    from kie_widgets.catalog import InputRef, Plan
    from kie_widgets.client import KieAPI, TaskStatus


# Transient failures of a status read that outlived the wire layer's own retries: keep polling.
_TRANSIENT = (KieTransportError, KieUnavailableError, KieServerError, KieRateLimitError)
# The model each convenience method uses when none is given (first one the catalog knows).
_DEFAULT_EDIT = ("flux-kontext-pro", "google/nano-banana-edit", "seedream/4.5-edit")
_DEFAULT_MASKED_EDIT = ("gpt4o-image", "4o Image")


class KieClient:
    """The async kie.ai client: ``async with KieClient() as kie: assets = await kie.generate(...)``.

    Arguments default to the settings (explicit argument, environment, ``.env``). With
    ``KIE_SANDBOX=1`` and no ``transport`` it talks to the process's in-process sandbox.
    ``manifest`` defaults to ``<project root>/assets/manifest.json``; ``clock`` to the real clock.
    """

    #: Largest result file accepted (bytes); larger downloads are refused while streaming.
    max_download_bytes: int = 128 * 1024 * 1024
    #: How many times a result download is tried before the task is left pending for ``resume()``.
    download_attempts: int = 3
    #: Concurrent result downloads (bounded so many finished tasks do not open hundreds of files).
    max_concurrent_downloads: int = 16
    #: kie's create limit (count, seconds), kept per key by the time kie *answered* each create, so
    #: requests that arrive late in one window never make the next window start early (None: off).
    create_rate: tuple[int, float] | None = (20, 10.0)
    #: How often a create that kie refused with 429 (and so did not create) is sent again.
    rate_limited_attempts: int = 8

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
        #: Jobs being waited on right now, by task id (``resume()`` leaves these alone).
        self.jobs: dict[str, Job] = {}

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

        result = catalog_plan(model, prompt, **params)
        missing = [
            Problem(ref.field, f"no asset {ref.source!r} in the manifest", value=ref.source)
            for ref in result.uploads
            if ref.kind == "asset" and self.manifest.get(str(ref.source)) is None
        ]
        if missing:
            raise KieValidationError(missing, model=result.display_name)
        return result

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
        scene_id: str | None = None,
        context: Mapping[str, Any] | None = None,
        reuse: bool = False,
        timeout: float | None = None,
        on_status: StatusCallback | None = None,
        operation: str | None = None,
        **params: Any,
    ) -> list[Asset]:
        """Make ``n`` images with ``model`` and return them as recorded ``Asset`` objects.

        A model that makes one image per request gets ``n`` concurrent requests. If some fail, every
        success is still downloaded and recorded, and ``KieBatchError`` carries both.
        """
        started = self.clock.monotonic()
        emit = self._emitter(on_status, started)
        label = model
        emit("planning", label, message="checking the request")
        try:
            plans = self._plans(model, prompt, n=n, images=images, mask=mask, **params)
            label = plans[0].display_name
            prepared = [
                await self._prepare(p, operation=operation, scene_id=scene_id, context=context) for p in plans
            ]
        except KieError as exc:
            emit("failed", label, message=str(exc))
            raise
        if len(prepared) > 1:
            # One recipe for the whole call, so reuse=True finds all n fanned-out results together.
            from kie_widgets.assets import recipe_hash

            first = prepared[0]
            hashes = [hashlib.sha256(raw).hexdigest() for _, raw, _ in first.data]
            call_recipe = recipe_hash(first.plan.model_id, {**first.plan.params, "n": n}, hashes)
            for p in prepared:
                p.recipe = call_recipe
        if reuse:
            found = self._reusable(prepared[0].recipe, n)
            if found is not None:
                emit("reused", label, message=f"{len(found)} earlier result(s) with the same recipe")
                return found
        if any(p.data for p in prepared):
            emit("uploading", label, message=f"uploading {len(prepared[0].data)} input(s)")
        try:
            bodies = [await self._resolve_inputs(p) for p in prepared]
        except KieError as exc:
            emit("failed", label, message=str(exc))
            raise
        runs = [
            self._run(p, body, timeout=timeout, emit=emit) for p, body in zip(prepared, bodies, strict=True)
        ]
        if len(runs) == 1:
            return await runs[0]
        return self._gathered(await asyncio.gather(*runs, return_exceptions=True), label)

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
        """Upscale ``image`` with an upscaling model (the catalog's first one unless given)."""
        model = model or self._model_for_mode("upscale")
        kw.setdefault("operation", "upscale")
        return await self.generate(model, kw.pop("prompt", None), images=[image], **kw)

    async def remove_background(self, image: Any, *, model: str | None = None, **kw: Any) -> list[Asset]:
        """Cut the subject of ``image`` out onto a transparent background."""
        model = model or self._model_for_mode("remove-background")
        kw.setdefault("operation", "remove-background")
        return await self.generate(model, kw.pop("prompt", None), images=[image], **kw)

    async def resume(
        self, *, timeout: float | None = None, on_status: StatusCallback | None = None
    ) -> list[Asset]:
        """Collect every pending task of the journal; never creates a task.

        Tasks still running after their deadline stay pending; tasks kie reports failed are marked
        failed. Raises ``KieBatchError`` (with every collected asset) if any task could not be collected.
        Uncertain submissions have no task id to ask about and are left for the user to check.
        """
        records = [r for r in self.manifest.pending() if r.get("state") == "pending" and r.get("task_id")]
        records = [r for r in records if r["task_id"] not in self.jobs]
        calls = [self._resume_one(r, timeout=timeout, on_status=on_status) for r in records]
        return self._gathered(await asyncio.gather(*calls, return_exceptions=True), "resume")

    # ---- planning and inputs ----------------------------------------------------------------

    def _plans(self, model: str, prompt: str | None, *, n: int, **params: Any) -> list[Plan]:
        """One plan when the model makes ``n`` images per request, else the fewest requests that do.

        4o makes 1, 2 or 4 images per request, so n=8 is two requests of 4; a model that makes one
        image per request gets ``n`` requests (sent concurrently by ``generate``).
        """
        if n < 1:
            raise KieValidationError([Problem("n", "must be at least 1", value=n)])
        params = {k: v for k, v in params.items() if v is not None}
        if n == 1:
            return [self.plan(model, prompt, **params)]
        sizes = [1]
        try:
            single = self.plan(model, prompt, n=n, **params)
            if single.n >= n:
                return [single]
        except KieValidationError as exc:
            about_n = [p for p in exc.problems if p.field == "n"]
            if not about_n:
                raise
            # The catalog lists the per-request counts it accepts, e.g. "1, 2, 4".
            sizes = sorted(
                {int(x) for x in re.findall(r"\d+", about_n[0].allowed or "") if 0 < int(x) < n} | {1}
            )
        plans = []
        for i, size in enumerate(_split(n, sizes)):
            extra = dict(params)
            seed = extra.get("seed")
            # The same seed in every request would buy identical images.
            if isinstance(seed, int) and not isinstance(seed, bool):
                extra["seed"] = seed + i
            plans.append(
                self.plan(model, prompt, n=size, **extra) if size > 1 else self.plan(model, prompt, **extra)
            )
        return plans

    def _default_model(self, candidates: Sequence[str]) -> str:
        from kie_widgets.catalog import resolve

        for name in candidates:
            try:
                resolve(name, has_image=True)
            except KieValidationError:
                continue
            return name
        raise KieValidationError([Problem("model", "no default model is available; pass model=")])

    def _model_for_mode(self, mode: str) -> str:
        """The model the catalog's guidance ranks first for ``mode``, so defaults match ``recommend``."""
        from kie_widgets.catalog import all_specs, recommend

        candidates = [spec.id for spec in all_specs() if spec.mode == mode]
        try:
            ranked = [r.model_id for r in recommend(mode.replace("-", " "))]
        except KieValidationError:
            ranked = []
        for model_id in [*ranked, *candidates]:
            if model_id in candidates:
                return model_id
        raise KieValidationError([Problem("model", f"no {mode} model in the catalog; pass model=")])

    async def _prepare(
        self,
        plan: Plan,
        *,
        operation: str | None,
        scene_id: str | None,
        context: Mapping[str, Any] | None,
    ) -> Prepared:
        """Load and check every input (all problems at once), and hash the recipe. Nothing is sent."""
        from kie_widgets.assets import recipe_hash

        data: list[tuple[InputRef, bytes, str]] = []
        parents: list[str] = []
        problems: list[Problem] = []
        for ref in plan.uploads:
            try:
                raw, parent = await asyncio.to_thread(self._input_bytes, ref)
            except KieValidationError as exc:
                problems.extend(exc.problems)
                continue
            except OSError as exc:
                problems.append(Problem(ref.field, f"cannot read {ref.source!s}: {exc.strerror}"))
                continue
            if parent:
                parents.append(parent)
            mime = sniff_mime(raw)
            if mime is None:
                problems.append(
                    Problem(ref.field, "is not a PNG, JPEG, WebP or GIF image", model=plan.display_name)
                )
                continue
            if ref.mime_types and mime not in ref.mime_types:
                problems.append(
                    Problem(
                        ref.field,
                        f"{mime} is not accepted by {plan.display_name}",
                        value=mime,
                        allowed=", ".join(ref.mime_types),
                    )
                )
            if ref.max_bytes and len(raw) > ref.max_bytes:
                problems.append(
                    Problem(
                        ref.field,
                        f"{fmt_bytes(len(raw))} is over {plan.display_name}'s limit of "
                        f"{fmt_bytes(ref.max_bytes)}",
                        value=len(raw),
                    )
                )
            data.append((ref, raw, mime))
        if problems:
            raise KieValidationError(problems, model=plan.display_name)
        for url in _urls_in(plan.body):
            parent = self._parent_for_url(url)
            if parent:
                parents.append(parent)
        input_hashes = [hashlib.sha256(raw).hexdigest() for _, raw, _ in data]
        recipe = recipe_hash(plan.model_id, plan.params, input_hashes)
        ctx = {k: v for k, v in (context or {}).items() if v is not None}
        op = operation or ("generate" if plan.spec.mode == "text-to-image" else plan.spec.mode)
        return Prepared(plan, op, data, parents, recipe, scene_id, ctx)

    def _input_bytes(self, ref: InputRef) -> tuple[bytes, str | None]:
        """The bytes of one input and, for a manifest asset, its id (the new image's parent)."""
        source = ref.source
        if ref.kind == "asset":
            entry = self.manifest.get(str(source))
            if entry is None:
                raise KieValidationError([Problem(ref.field, f"no asset {source!r} in the manifest")])
            return (self.manifest.root / entry["filename"]).read_bytes(), str(source)
        if ref.kind == "bytes":
            return bytes(source), None
        if ref.kind == "pil":
            return encode_pil(source, ref), None
        if ref.kind == "array":
            return png_from_array(source), None
        path = Path(source).expanduser()
        return path.read_bytes(), self._parent_for_path(path)

    def _parent_for_path(self, path: Path) -> str | None:
        try:
            rel = path.resolve().relative_to(self.manifest.root.resolve()).as_posix()
        except (ValueError, OSError):
            return None
        for entry in self.manifest.entries:
            if entry.get("filename") == rel:
                return str(entry.get("id"))
        return None

    def _parent_for_url(self, url: str) -> str | None:
        for entry in self.manifest.entries:
            if _extra(entry, "source_url") == url:
                return str(entry.get("id"))
        return None

    async def _resolve_inputs(self, prepared: Prepared) -> dict[str, Any]:
        """Upload every local input (once per distinct content) and fill the placeholders."""
        distinct = {hashlib.sha256(raw).hexdigest(): (raw, mime) for _, raw, mime in prepared.data}
        urls = await asyncio.gather(*(self._upload(raw, mime) for raw, mime in distinct.values()))
        by_digest = dict(zip(distinct, urls, strict=True))
        return prepared.plan.resolve_body(
            {ref.placeholder: by_digest[hashlib.sha256(raw).hexdigest()] for ref, raw, _ in prepared.data}
        )

    async def _upload(self, raw: bytes, mime: str) -> str:
        digest = hashlib.sha256(raw).hexdigest()
        cached = self._uploads.get(digest)
        # kie keeps uploads for a day at least; reuse an upload for an hour.
        if cached and self.clock.monotonic() - cached[1] < 3600:
            return cached[0]
        name = f"kie-{digest[:12]}-{uuid.uuid4().hex[:8]}{EXTENSIONS.get(mime, '.bin')}"
        url = await self.api.upload(raw, filename=name, content_type=mime)
        self._uploads[digest] = (url, self.clock.monotonic())
        return url

    def _reusable(self, recipe: str, n: int) -> list[Asset] | None:
        """The newest ``n`` recorded results of this recipe whose files still exist, or None."""
        from kie_widgets.assets import Asset

        entries = self.manifest.find_recipe(recipe, existing=True)
        if len(entries) < n:
            return None
        return [Asset.from_entry(e, self.manifest, reused=True) for e in entries[-n:]]

    # ---- submit, wait, collect --------------------------------------------------------------

    async def _run(
        self,
        prepared: Prepared,
        body: dict[str, Any],
        *,
        timeout: float | None,
        emit: Callable[..., None],
    ) -> list[Asset]:
        plan = prepared.plan
        emit("submitting", plan.display_name, message=f"sending to {plan.endpoint}")
        record = {
            "prompt": plan.params.get("prompt"),
            "size": plan.size,
            "scene_id": prepared.scene_id,
            "operation": prepared.operation,
            "params": plan.params,
            "parents": prepared.parents,
            "negative_prompt": plan.params.get("negative_prompt"),
            "seed": plan.params.get("seed"),
            "credits": plan.estimated_credits,
        }
        journal_context = {**prepared.context, "record": record}
        submission = asyncio.ensure_future(self._submit(plan, body, prepared.recipe, journal_context))
        try:
            task_id = await asyncio.shield(submission)
        except asyncio.CancelledError:
            # The create may already be on the wire: let it finish and be journaled, then give up.
            await asyncio.wait({submission})
            raise
        except KieError as exc:
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
        deadline = timeout if timeout is not None else float(plan.spec.default_timeout)
        return await self._follow(job, deadline=deadline, emit=emit)

    async def _submit(self, plan: Plan, body: dict[str, Any], recipe: str, context: dict[str, Any]) -> str:
        """Create the task and journal it (uncertain outcomes too) before anyone polls it."""
        try:
            task_id = await self._create(plan, body)
        except KieSubmitUncertainError as exc:
            try:
                exc.journal_id = await self._journal(
                    "journal_uncertain",
                    family=plan.family,
                    model_id=plan.model_id,
                    model=plan.display_name,
                    endpoint=plan.endpoint,
                    body=body,
                    error=str(exc),
                    context=context,
                )
            except KieError as journal_exc:
                log.error("could not journal an uncertain %s create: %s", plan.display_name, journal_exc)
            raise
        try:
            await self._journal(
                "journal_submit",
                task_id,
                family=plan.family,
                model_id=plan.model_id,
                model=plan.display_name,
                endpoint=plan.endpoint,
                body=body,
                recipe=recipe,
                context=context,
            )
        except KieError as exc:
            # The task exists and is paid: keep following it (recording may still work) and say
            # loudly which task it is, since resume() will not know about it.
            log.error(
                "%s task %s is not in the journal (%s); collecting it anyway", plan.display_name, task_id, exc
            )
        return task_id

    async def _create(self, plan: Plan, body: dict[str, Any]) -> str:
        """``api.create`` paced by answer times, and sent again after a 429 (kie did not take it)."""
        pacer = self._pacer()
        for attempt in range(self.rate_limited_attempts):
            if pacer is not None:
                await pacer.acquire()
            counted = True
            try:
                return await self.api.create(plan.family, plan.endpoint, body)
            except KieRateLimitError as exc:
                counted = False
                if attempt + 1 >= self.rate_limited_attempts:
                    raise
                period = pacer.period if pacer is not None else 10.0
                wait = exc.retry_after if exc.retry_after is not None else period / 2
                log.info("create refused with 429 (not created); sending again in %.1f s", wait)
            except KieTransportError:
                counted = False  # the connection was never made: kie saw nothing
                raise
            finally:
                if pacer is not None:
                    pacer.release(counted=counted)
            await self.clock.sleep(wait)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _pacer(self) -> CreatePacer | None:
        if self.create_rate is None:
            return None
        key = self.settings.api_key.reveal() if self.settings.api_key else ""
        return CreatePacer.shared(key, self.clock, *self.create_rate)

    async def _follow(
        self, job: Job, *, deadline: float, emit: Callable[..., None], poll_now: bool = False
    ) -> list[Asset]:
        """Wait for ``job``, then download and record its results."""
        self.jobs[job.task_id] = job
        try:
            status = await self.wait(job, timeout=deadline, emit=emit, poll_now=poll_now)
            emit("downloading", job.model, task_id=job.task_id, message=f"{len(status.result_urls)} file(s)")
            assets = await self._collect(job, status)
        except KieError as exc:
            if not isinstance(exc, KieWaitTimeoutError):
                emit("failed", job.model, task_id=job.task_id, message=str(exc))
            raise
        finally:
            self.jobs.pop(job.task_id, None)
        emit("done", job.model, task_id=job.task_id, progress=1.0, message=f"{len(assets)} image(s)")
        return assets

    async def wait(
        self,
        job: Job,
        *,
        timeout: float,
        emit: Callable[..., None] | None = None,
        poll_now: bool = False,
    ) -> TaskStatus:
        """Poll ``job`` on the adaptive schedule until it succeeds, fails or ``timeout`` passes.

        Success returns the final status. Failure marks the journal and raises
        ``KieTaskFailedError``. Running out of time raises ``KieWaitTimeoutError`` and leaves the
        task pending in the journal; so does cancellation.
        """
        emit = emit or (lambda *a, **k: None)
        started = job.started or self.clock.monotonic()
        deadline = started + timeout
        last: tuple[str, float | None] | None = None
        while True:
            now = self.clock.monotonic()
            if now >= deadline:
                waited = now - started
                emit(
                    "timeout", job.model, task_id=job.task_id, message=f"stopped waiting after {waited:.0f} s"
                )
                raise KieWaitTimeoutError(
                    f"{job.model} task {job.task_id} was still {job.state} after {waited:.0f} s.",
                    task_id=job.task_id,
                    waited=waited,
                )
            if poll_now:
                poll_now = False  # resume(): the task is probably done, ask at once
            else:
                await self.clock.sleep(min(self.schedule.interval(now - started, self._rng), deadline - now))
            elapsed = self.clock.monotonic() - started
            try:
                status = await self.api.status(job.family, job.task_id)
            except (KieNotFoundError, KieRequestError) as exc:
                # Right after creation kie may not show the record yet (404 / 422 "record is null").
                if elapsed < self.schedule.grace:
                    continue
                await self._journal(
                    "journal_failed", job.task_id, str(exc.code or 404), exc.kie_message or str(exc)
                )
                raise
            except KieTaskFailedError as exc:
                exc.task_id = exc.task_id or job.task_id
                await self._journal(
                    "journal_failed", job.task_id, str(exc.code), exc.kie_message or exc.message
                )
                raise
            except _TRANSIENT as exc:
                log.warning("status of %s unavailable (%s); still waiting", job.task_id, type(exc).__name__)
                continue
            job.status = status
            if status.not_visible_yet:
                if elapsed < self.schedule.grace:
                    continue
                await self._journal("journal_failed", job.task_id, "404", "kie never showed this task")
                raise KieNotFoundError(
                    f"kie did not show task {job.task_id} within {self.schedule.grace:.0f} s.",
                    task_id=job.task_id,
                )
            state = {"pending": "queued", "queued": "queued"}.get(status.state, status.state)
            job.state, job.progress = state, status.progress
            if status.state == "success":
                return status
            if status.state == "failed":
                code = status.fail_code or "failed"
                message = status.fail_message or "kie reported the task as failed"
                await self._journal("journal_failed", job.task_id, code, message)
                raise KieTaskFailedError(
                    f"{job.model} task {job.task_id} failed: {message} (code {code}).",
                    code=int(code) if str(code).isdigit() else None,
                    task_id=job.task_id,
                    kie_message=message,
                    endpoint=job.endpoint,
                )
            if (state, status.progress) != last:
                last = (state, status.progress)
                emit(state, job.model, task_id=job.task_id, progress=status.progress)

    async def _collect(self, job: Job, status: TaskStatus) -> list[Asset]:
        """Download every result at once, record each, then complete the journal entry."""
        from kie_widgets.assets import Asset

        if not status.result_urls:
            await self._journal(
                "journal_failed", job.task_id, "empty", "kie reported success without results"
            )
            raise KieTaskFailedError(
                f"{job.model} task {job.task_id} succeeded without any result URL.", task_id=job.task_id
            )
        # After a crash between recording and completing the journal, some results are recorded.
        recorded = self.manifest.find(task_id=job.task_id)
        if len(recorded) >= len(status.result_urls):
            # kie's URLs are not stable between reads; the count says the task is fully recorded.
            ordered = recorded[: len(status.result_urls)]
            await self._journal("journal_complete", job.task_id, [str(e["id"]) for e in ordered])
            return [Asset.from_entry(e, self.manifest) for e in ordered]
        done = {_extra(e, "source_url"): e for e in recorded}
        todo = [u for u in status.result_urls if u not in done]
        results = await asyncio.gather(*(self._download(job, url) for url in todo), return_exceptions=True)
        # Record every good download even when a sibling failed: each one is paid.
        entries = dict(done)
        share = _credit_share(job.record.get("credits"), len(status.result_urls))
        errors: list[BaseException] = []
        for url, result in zip(todo, results, strict=True):
            if isinstance(result, BaseException):
                errors.append(result)
                continue
            entries[url] = await self._record(job, url, result, share)
        for err in errors:
            if not isinstance(err, Exception):
                raise err
        if errors:
            # Not journaled as failed: the result is paid for and may download later (resume()).
            raise errors[0]
        ordered = [entries[u] for u in status.result_urls]
        await self._journal("journal_complete", job.task_id, [str(e["id"]) for e in ordered])
        return [Asset.from_entry(e, self.manifest) for e in ordered]

    async def _download(self, job: Job, url: str) -> SavedImage:
        from kie_widgets.assets import save_image_stream

        if self._download_sem is None:
            self._download_sem = asyncio.Semaphore(self.max_concurrent_downloads)
        target = url
        last_error: KieError | None = None
        async with self._download_sem:
            for attempt in range(self.download_attempts):
                try:
                    async with self.api.stream(target) as chunks:
                        return await save_image_stream(
                            chunks, folder=self.manifest.images_dir, max_bytes=self.max_download_bytes
                        )
                except (KieAPIError, KieTransportError) as exc:
                    last_error = exc
                    # Result URLs expire; kie signs a fresh one on request (20 minutes).
                    try:
                        target = await self.api.fresh_download_url(
                            url, family=job.family, task_id=job.task_id
                        )
                    except (KieAPIError, KieTransportError) as fresh_exc:
                        last_error = fresh_exc
                except KieImageError as exc:
                    # A truncated transfer looks like a bad image; the next try may be whole.
                    last_error = exc
                if attempt + 1 < self.download_attempts:
                    await self.clock.sleep(min(2.0 * (attempt + 1), 10.0))
        assert last_error is not None
        raise last_error

    async def _record(self, job: Job, url: str, saved: SavedImage, credits: float | None) -> dict[str, Any]:
        rec = job.record
        extra: dict[str, Any] = {
            "task_id": job.task_id,
            "model_id": job.model_id,
            "params": rec.get("params"),
            "negative_prompt": rec.get("negative_prompt"),
            "seed": rec.get("seed"),
            "parents": list(rec.get("parents") or []),
            "operation": job.operation,
            "credits": credits,
            "recipe": job.recipe,
            "source_url": url,
        }
        extra.update({k: job.context[k] for k in CONTEXT_KEYS if job.context.get(k) is not None})
        extra = {k: v for k, v in extra.items() if v is not None}
        if self._record_lock is None:
            self._record_lock = asyncio.Lock()
        async with self._record_lock:
            # The manifest write holds a file lock and fsyncs: keep it off the event loop.
            entry: dict[str, Any] = await asyncio.to_thread(
                self.manifest.record_image,
                saved,
                prompt=rec.get("prompt") or _operation_prompt(job.operation, extra["parents"]),
                model=job.model,
                parameters={"size": rec.get("size"), "endpoint": job.endpoint},
                scene_id=rec.get("scene_id"),
                **extra,
            )
        return entry

    async def _resume_one(
        self, record: Mapping[str, Any], *, timeout: float | None, on_status: StatusCallback | None
    ) -> list[Asset]:
        context = dict(record.get("context") or {})
        saved = dict(context.pop("record", None) or {})
        saved.setdefault("prompt", _prompt_of(record.get("body") or {}))
        # The task's real age decides whether "not visible yet" is still kie's propagation delay.
        age = _age_seconds(record.get("created_at"))
        now = self.clock.monotonic()
        job = Job(
            task_id=str(record["task_id"]),
            family=str(record["family"]),
            model_id=str(record.get("model_id") or ""),
            model=str(record.get("model") or record.get("model_id") or ""),
            endpoint=str(record.get("endpoint") or ""),
            body=dict(record.get("body") or {}),
            operation=str(saved.get("operation") or "generate"),
            record=saved,
            context=context,
            recipe=record.get("recipe"),
            started=now - age,
        )
        emit = self._emitter(on_status, now)
        limit = timeout if timeout is not None else self._default_timeout(job.model_id)
        return await self._follow(job, deadline=age + limit, emit=emit, poll_now=True)

    def _default_timeout(self, model_id: str) -> float:
        from kie_widgets.catalog import resolve

        try:
            return float(resolve(model_id).default_timeout)
        except KieError:
            return 600.0

    # ---- small helpers ----------------------------------------------------------------------

    async def _journal(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a manifest journal method off the event loop."""
        if self._record_lock is None:
            self._record_lock = asyncio.Lock()
        async with self._record_lock:
            return await asyncio.to_thread(getattr(self.manifest, method), *args, **kwargs)

    def _emitter(self, on_status: StatusCallback | None, started: float) -> Callable[..., None]:
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


def _split(n: int, sizes: Sequence[int]) -> list[int]:
    """``n`` as a sum of the allowed per-request ``sizes`` (which include 1), largest first."""
    parts = []
    for size in sorted(sizes, reverse=True):
        while n >= size:
            parts.append(size)
            n -= size
    return parts


def _extra(entry: Mapping[str, Any], key: str) -> Any:
    """A key of an entry, top-level or inside its nested object of extra data."""
    if key in entry:
        return entry[key]
    for value in entry.values():
        if isinstance(value, Mapping) and key in value:
            return value[key]
    return None


def _urls_in(body: Any) -> list[str]:
    if isinstance(body, str):
        return [body] if body.startswith(("http://", "https://")) else []
    if isinstance(body, Mapping):
        return [u for k, v in body.items() if k != "callBackUrl" for u in _urls_in(v)]
    if isinstance(body, (list, tuple)):
        return [u for v in body for u in _urls_in(v)]
    return []


def _age_seconds(created_at: Any) -> float:
    """Seconds since an ISO 8601 journal time (wall clock); 0 when unreadable or in the future."""
    if not isinstance(created_at, str):
        return 0.0
    try:
        when = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, time.time() - when.timestamp())


def _prompt_of(body: Mapping[str, Any]) -> str:
    inner = body.get("input")
    if isinstance(inner, Mapping) and isinstance(inner.get("prompt"), str):
        return str(inner["prompt"])
    return str(body.get("prompt") or "")


def _credit_share(credits: Any, count: int) -> float | None:
    if not isinstance(credits, (int, float)) or count <= 0:
        return None
    return round(float(credits) / count, 4)


def _operation_prompt(operation: str | None, parents: Sequence[str]) -> str:
    """A prompt for prompt-less operations, e.g. "upscale of img-003".

    The manifest versions entries by prompt and model, so an empty prompt would make every upscale
    of one model a "new version" of an unrelated image.
    """
    source = ", ".join(parents) if parents else "an outside image"
    return f"{operation or 'operation'} of {source}"

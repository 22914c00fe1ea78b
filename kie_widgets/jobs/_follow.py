"""Following a submitted task: adaptive polling to a deadline, then download and record its results.

``FollowMixin`` is the part of ``KieClient`` that waits for a task (``wait``), downloads every
result at once (streamed, size-capped, validated), records each in the manifest and completes the
journal entry; ``resume()`` follows journaled tasks the same way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from kie_widgets.assets.record import AssetRecord
from kie_widgets.errors import (
    KieAPIError,
    KieError,
    KieImageError,
    KieNotFoundError,
    KieRateLimitError,
    KieRequestError,
    KieServerError,
    KieTaskFailedError,
    KieTransportError,
    KieUnavailableError,
    KieWaitTimeoutError,
)
from kie_widgets.jobs._model import Job, PollSchedule, StatusCallback, log

if TYPE_CHECKING:
    from kie_widgets.assets import Asset, Manifest, SavedImage
    from kie_widgets.client import KieAPI, TaskStatus
    from kie_widgets.clock import Clock


# Transient failures of a status read that outlived the wire layer's own retries: keep polling.
_TRANSIENT = (KieTransportError, KieUnavailableError, KieServerError, KieRateLimitError)


# One task's downloads waiting to be recorded, and where its entries go.
_HandIn = tuple[list[tuple["SavedImage", AssetRecord]], "asyncio.Future[list[dict[str, Any]]]"]


class RecordGroup:
    """The tasks of one run (a cell, a Studio run, a resume): results that arrive together are
    recorded in one manifest write rather than one write per image.

    Each task either hands in its downloads (``record``) or ``leave``s (it failed or stopped
    waiting). The write happens as soon as every task still running has handed in, or ``linger``
    seconds after the first waiting hand-in, so a fast task's images never wait for a slow one.
    """

    def __init__(
        self,
        write: Callable[[list[tuple[SavedImage, AssetRecord]]], Awaitable[list[dict[str, Any]]]],
        parts: int,
        *,
        linger: float = 0.5,
    ) -> None:
        self._write = write
        self._open = parts
        self._linger = linger
        self._waiting: list[
            tuple[list[tuple[SavedImage, AssetRecord]], asyncio.Future[list[dict[str, Any]]]]
        ] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writes: set[asyncio.Task[None]] = set()

    async def record(self, items: list[tuple[SavedImage, AssetRecord]]) -> list[dict[str, Any]]:
        """Record ``items`` (with whatever the run's other tasks hand in meanwhile); their entries."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[dict[str, Any]]] = loop.create_future()
        self._waiting.append((items, future))
        self._open -= 1
        if self._open <= 0:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self._linger, self._flush)
        # Shielded: a caller that stops waiting does not stop the write of paid results.
        return await asyncio.shield(future)

    def leave(self) -> None:
        """A task of the run ends without handing anything in."""
        self._open -= 1
        if self._open <= 0 and self._waiting:
            self._flush()

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._waiting = self._waiting, []
        if batch:
            task = asyncio.ensure_future(self._write_batch(batch))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    async def _write_batch(self, batch: list[_HandIn]) -> None:
        try:
            try:
                entries = await self._write([item for items, _ in batch for item in items])
            except Exception:
                if len(batch) == 1:
                    raise
                # One task's bad file must not cost the others their records: write each alone.
                for items, future in batch:
                    try:
                        result = await self._write(items)
                    except Exception as exc:
                        future.set_exception(exc)
                    else:
                        future.set_result(result)
                return
            start = 0
            for items, future in batch:
                future.set_result(entries[start : start + len(items)])
                start += len(items)
        except BaseException as exc:
            for _items, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise


class FollowMixin:
    """Waiting, downloading and recording for ``KieClient`` (which provides the attributes below)."""

    #: Largest result file accepted (bytes); larger downloads are refused while streaming.
    max_download_bytes: int = 128 * 1024 * 1024
    #: Concurrent result downloads (bounded so many finished tasks do not open hundreds of files).
    max_concurrent_downloads: int = 16
    #: Collections of a task whose result is no usable image before it is given up.
    max_result_attempts: int = 3

    api: KieAPI
    clock: Clock
    schedule: PollSchedule
    _rng: random.Random
    _record_lock: asyncio.Lock | None
    _download_sem: asyncio.Semaphore | None
    #: Jobs being waited on right now, by task id (``resume()`` leaves these alone).
    jobs: dict[str, Job]

    if TYPE_CHECKING:

        @property
        def manifest(self) -> Manifest: ...

        def _emitter(self, on_status: StatusCallback | None, started: float) -> Callable[..., None]: ...

    def record_group(self, parts: int) -> RecordGroup:
        """A ``RecordGroup`` for a run of ``parts`` tasks, writing through this client's manifest."""
        return RecordGroup(self._record_images, parts)

    async def _follow(
        self,
        job: Job,
        *,
        deadline: float,
        emit: Callable[..., None],
        poll_now: bool = False,
        group: RecordGroup | None = None,
    ) -> list[Asset]:
        """Wait for ``job``, then download and record its results (with the rest of its run's)."""
        group = group or self.record_group(1)
        self.jobs[job.task_id] = job
        handed_in = [False]
        try:
            status = await self.wait(job, timeout=deadline, emit=emit, poll_now=poll_now)
            emit("downloading", job.model, task_id=job.task_id, message=f"{len(status.result_urls)} file(s)")
            assets = await self._collect(job, status, group, handed_in)
        except KieError as exc:
            if isinstance(exc, KieImageError):
                # A result that is no usable image stays pending for a few tries (it may be a broken
                # transfer), then is given up with the reason, so resume() does not retry it forever.
                await self._journal(
                    "journal_result_failed", job.task_id, str(exc), limit=self.max_result_attempts
                )
            if not isinstance(exc, KieWaitTimeoutError):
                emit("failed", job.model, task_id=job.task_id, message=str(exc))
            raise
        finally:
            self.jobs.pop(job.task_id, None)
            if not handed_in[0]:
                group.leave()
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
        # The model's usual task time, from the tasks this manifest recorded: read densely around it.
        expected = await asyncio.to_thread(self.manifest.typical_seconds, job.model_id)
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
                gap = self.schedule.interval(now - started, self._rng, expected)
                await self.clock.sleep(min(gap, deadline - now))
            elapsed = self.clock.monotonic() - started
            try:
                status = await self.api.status(job.family, job.task_id)
            except (KieNotFoundError, KieRequestError) as exc:
                if exc.code not in (404, 422):
                    raise  # the read itself was refused (400, 405, ...): the task stays pending
                # Right after creation kie may not show the record yet (404 / 422), kie-api.md §4.
                if elapsed < self.schedule.grace:
                    continue
                await self._journal("journal_failed", job.task_id, str(exc.code), exc.kie_message or str(exc))
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

    async def _collect(
        self, job: Job, status: TaskStatus, group: RecordGroup, handed_in: list[bool]
    ) -> list[Asset]:
        """Download every result at once, record them together, then complete the journal entry."""
        from kie_widgets.assets import Asset

        seconds = _task_seconds(status, self.clock.monotonic() - job.started)

        if not status.result_urls:
            await self._journal(
                "journal_failed", job.task_id, "empty", "kie reported success without results"
            )
            raise KieTaskFailedError(
                f"{job.model} task {job.task_id} succeeded without any result URL.", task_id=job.task_id
            )
        # After a crash between recording and completing the journal, some results are recorded.
        recorded: list[dict[str, Any]] = await asyncio.to_thread(self.manifest.find, task_id=job.task_id)
        if len(recorded) >= len(status.result_urls):
            # kie's URLs are not stable between reads; the count says the task is fully recorded.
            ordered = recorded[: len(status.result_urls)]
            await self._journal("journal_complete", job.task_id, [str(e["id"]) for e in ordered])
            return [Asset.from_entry(e, self.manifest) for e in ordered]
        # A result counts as recorded by its URL, or by its place among the task's results (kie's URLs
        # change between reads; verify(repair=True) records a leftover download without its URL).
        base = job.record.variant or 0
        by_url = {AssetRecord.from_entry(e).source_url: e for e in recorded}
        by_variant = {AssetRecord.from_entry(e).variant: e for e in recorded}
        done: dict[str, dict[str, Any]] = {}
        for i, url in enumerate(status.result_urls):
            entry = by_url.get(url) or by_variant.get(base + i)
            if entry is not None:
                done[url] = entry
        todo = [u for u in status.result_urls if u not in done]
        indexes = {u: i for i, u in enumerate(status.result_urls)}
        results = await asyncio.gather(
            *(self._download(job, url, indexes[url]) for url in todo), return_exceptions=True
        )
        # Record every good download even when a sibling failed: each one is paid.
        entries = dict(done)
        share = _credit_share(job.record.credits, len(status.result_urls))
        errors: list[BaseException] = []
        good: list[tuple[str, SavedImage]] = []
        for url, result in zip(todo, results, strict=True):
            if isinstance(result, BaseException):
                errors.append(result)
            else:
                good.append((url, result))
        if good:
            handed_in[0] = True
            items = [
                (saved, self._record_of(job, url, share, _layer_group(job, status.result_urls, url)))
                for url, saved in good
            ]
            for (url, _saved), entry in zip(good, await group.record(items), strict=True):
                entries[url] = entry
        for err in errors:
            if not isinstance(err, Exception):
                raise err
        if errors:
            # Not journaled as failed: the result is paid for and may download later (resume()).
            first = errors[0]
            if isinstance(first, KieImageError):
                raise KieImageError(
                    f"{job.model} task {job.task_id}: a result could not be saved ({first.message})",
                    hint="The task stays pending in the journal (it is paid); resume() downloads it again.",
                ) from first
            raise first
        ordered = [entries[u] for u in status.result_urls]
        ids = [str(e["id"]) for e in ordered]
        await self._journal("journal_complete", job.task_id, ids, seconds=seconds)
        return [Asset.from_entry(e, self.manifest) for e in ordered]

    async def _download(self, job: Job, url: str, index: int) -> SavedImage:
        from kie_widgets.assets import THUMBNAIL_SIDE, save_image_stream
        from kie_widgets.assets.images import download_label
        from kie_widgets.client import Retry, run_with_retry

        label = download_label(job.task_id, (job.record.variant or 0) + index)

        if self._download_sem is None:
            self._download_sem = asyncio.Semaphore(self.max_concurrent_downloads)
        target = url

        async def attempt() -> SavedImage | Retry:
            nonlocal target
            try:
                async with self.api.stream(target) as chunks:
                    return await save_image_stream(
                        chunks,
                        folder=self.manifest.images_dir,
                        max_bytes=self.max_download_bytes,
                        preview_side=THUMBNAIL_SIDE,  # the inline thumbnail, from the validating decode
                        label=label,
                    )
            except (KieAPIError, KieTransportError) as exc:
                failed: KieError = exc
            except KieImageError as exc:
                # A truncated transfer looks like a bad image; the next try may be whole.
                return Retry(exc)
            # Result URLs expire; kie signs a fresh one on request (20 minutes).
            try:
                target = await self.api.fresh_download_url(url, family=job.family, task_id=job.task_id)
            except (KieAPIError, KieTransportError) as exc:
                failed = exc
            return Retry(failed, failed.retry_after if isinstance(failed, KieRateLimitError) else None)

        async with self._download_sem:
            return await run_with_retry(
                attempt,
                kind="download",
                policy=self.api.retry,
                clock=self.clock,
                rng=self._rng,
                what=f"download of task {job.task_id}'s result",
            )

    def _record_of(
        self, job: Job, url: str, credits: float | None, layer_group: dict[str, Any] | None = None
    ) -> AssetRecord:
        urls = job.status.result_urls if job.status is not None else [url]
        variant = (job.record.variant or 0) + (urls.index(url) if url in urls else 0)
        record = dataclasses.replace(
            job.record,
            task_id=job.task_id,
            source_url=url,
            credits=credits,
            variant=variant,
            layer_group=layer_group,
        )
        if not record.prompt:
            prompt = _operation_prompt(record.operation, record.parents or ())
            record = dataclasses.replace(record, prompt=prompt)
        return record

    async def _record_images(self, items: list[tuple[SavedImage, AssetRecord]]) -> list[dict[str, Any]]:
        """Record downloads in one manifest write, off the event loop (it locks, splices and fsyncs)."""
        if self._record_lock is None:
            self._record_lock = asyncio.Lock()
        async with self._record_lock:
            entries: list[dict[str, Any]] = await asyncio.to_thread(self.manifest.record_images, items)
        return entries

    async def _resume_one(
        self,
        task: Mapping[str, Any],
        *,
        timeout: float | None,
        on_status: StatusCallback | None,
        group: RecordGroup | None = None,
    ) -> list[Asset]:
        context = dict(task.get("context") or {})
        context.pop("record", None)
        record = AssetRecord.from_journal(task)
        if record.prompt is None:
            record = dataclasses.replace(record, prompt=_prompt_of(task.get("body") or {}) or None)
        # The task's real age decides whether "not visible yet" is still kie's propagation delay.
        age = _age_seconds(task.get("created_at"))
        now = self.clock.monotonic()
        job = Job(
            task_id=str(task["task_id"]),
            family=str(task["family"]),
            model_id=str(task.get("model_id") or ""),
            model=str(task.get("model") or task.get("model_id") or ""),
            endpoint=str(task.get("endpoint") or ""),
            body=dict(task.get("body") or {}),
            operation=str(record.operation),
            record=record,
            context=context,
            recipe=task.get("recipe"),
            started=now - age,
        )
        emit = self._emitter(on_status, now)
        limit = timeout if timeout is not None else self._default_timeout(job.model_id)
        return await self._follow(job, deadline=age + limit, emit=emit, poll_now=True, group=group)

    def _default_timeout(self, model_id: str) -> float:
        from kie_widgets.catalog import resolve

        try:
            return float(resolve(model_id).default_timeout)
        except KieError:
            return 600.0

    async def _journal(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a manifest journal method off the event loop."""
        if self._record_lock is None:
            self._record_lock = asyncio.Lock()
        async with self._record_lock:
            return await asyncio.to_thread(getattr(self.manifest, method), *args, **kwargs)


def _task_seconds(status: TaskStatus, observed: float) -> float | None:
    """How long kie took for a task: its own cost time, else its timestamps, else what we observed."""
    if status.cost_time_ms:
        return status.cost_time_ms / 1000
    if status.created_at and status.completed_at and status.completed_at > status.created_at:
        return status.completed_at - status.created_at
    return observed if observed > 0 else None


def _layer_group(job: Job, urls: Sequence[str], url: str) -> dict[str, Any] | None:
    """For a layer decomposition: which group (the task) a result belongs to, and its place in it.

    kie returns the base image first, then the transparent layers (the order the sandbox emulates;
    kie's docs do not say it outright).
    """
    if job.operation != "layer-decomposition":
        return None
    return {"id": job.task_id, "index": list(urls).index(url), "count": len(urls)}


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

"""``KieAPI``: the one object that speaks HTTP to kie.ai (the API host, the upload host, result files).

Everything above it (jobs, the runner, the notebook) sees Python values and ``KieError`` subclasses,
never httpx. The retry rules are DESIGN.md §6 and are the reason this module exists:

* a create (a paid request) is sent again only when it surely never reached kie (the connection
  was never made) or kie answered 429 (rejected, not queued); once the request may have arrived, any
  failure to read kie's answer is a ``KieSubmitUncertainError`` and the request is never resent;
* reads (status, credits, download URLs, uploads, file streams up to their first byte) retry transient
  failures with capped, jittered backoff, honour ``Retry-After``, and fail fast on what a retry
  cannot fix (401, 402, 404, 422 ...);
* every wait goes through the injected ``Clock``; every create and status read through the shared
  ``RateLimiter`` of the key.

Each call says per attempt what may be tried again; ``run_with_retry`` (``_retry.py``) is the one
loop that counts the attempts and waits between them.

Exceptions are raised outside the ``except`` blocks that caught httpx's, so no httpx exception (and
none of the header lists inside its frames) is chained onto the errors users see.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import platform
import random
import re
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import httpx

from kie_widgets import __version__
from kie_widgets.clock import Clock, RealClock
from kie_widgets.config import Secret, Settings
from kie_widgets.errors import (
    KieAPIError,
    KieConfigError,
    KieError,
    KieImageError,
    KieInsufficientCreditsError,
    KieNotFoundError,
    KieRateLimitError,
    KieRequestError,
    KieServerError,
    KieSubmitUncertainError,
    KieTransportError,
    KieUnavailableError,
    KieValidationError,
    Problem,
)

from ._codes import api_error, is_bot_filter
from ._limiter import RateLimiter
from ._paths import API_PATHS, check_create_endpoint, check_family
from ._retry import Retry, RetryKind, RetryPolicy, parse_retry_after, run_with_retry
from ._status import TaskStatus, parse_status
from ._upload import EXTENSIONS, sniff, unique_name

logger = logging.getLogger("kie_widgets.client")

_T = TypeVar("_T")

#: Sent on every request: kie's hosts answer a bare 403 "error code: 1010" to clients without one.
USER_AGENT = f"kie_widgets/{__version__} httpx/{httpx.__version__} python/{platform.python_version()}"
#: Uploads up to this size go as base64 JSON; larger ones as a multipart stream (kie: >10 MB stream).
BASE64_MAX_BYTES = 1 << 20
#: kie's practical ceiling for one upload.
MAX_UPLOAD_BYTES = 100 * (1 << 20)
#: The folder on kie's upload host that our uploads go into.
UPLOAD_PATH = "kie-widgets/uploads"
#: Default and largest chunk that ``stream()`` yields.
CHUNK_SIZE = 64 * 1024
MAX_CHUNK_SIZE = 1 << 20

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
UPLOAD_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
STREAM_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
# Many concurrent downloads must not starve creates and status reads of connections (used only
# when KieAPI builds its own transport).
POOL_LIMITS = httpx.Limits(max_connections=128, max_keepalive_connections=32)

# kie's wording when a fresh task is not readable yet ("recordInfo is null", "record is null", ...).
_NOT_VISIBLE = re.compile(r"\bnull\b|not (?:yet )?(?:found|exist)|no (?:such )?record|does not exist", re.I)

# Failures that happen before a single byte of the request left this machine.
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, url.port or default)


def _safe_url(url: str | httpx.URL) -> str:
    """A URL for messages: no query string (signed links carry credentials of their own)."""
    parsed = httpx.URL(str(url))
    return str(parsed.copy_with(query=None, fragment=None))


class _BearerAuth(httpx.Auth):
    """Adds ``Authorization: Bearer <key>`` to requests for kie's own hosts, and to nothing else.

    The key is revealed only inside the header assignment, so it is never bound to a local name;
    httpx masks the header in every repr. Result files live on other hosts (CDNs, signed storage
    links) that must never see the key, so requests to them go without it.
    """

    def __init__(self, key: Secret | None, origins: frozenset[tuple[str, str, int | None]]) -> None:
        self._key = key
        self._origins = origins

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Set the header when the request goes to one of kie's hosts."""
        if self._key is not None and _origin(request.url) in self._origins:
            problem = self._key.header_problem()
            if problem is not None:
                # h11 would refuse the header and quote it, key and all, in its error text.
                raise KieConfigError(
                    f"The kie.ai API key {self._key.masked()} contains {problem}, which cannot be "
                    "sent in an HTTP header; nothing was sent.",
                    hint="Copy the key again from https://kie.ai/api-key and set KIE_API_KEY to it.",
                )
            request.headers["Authorization"] = "Bearer " + self._key.reveal()
        yield request

    def __repr__(self) -> str:
        return f"_BearerAuth(key={self._key!r})"


@dataclass(frozen=True)
class _Answer:
    """A response that arrived, decoded as far as kie's JSON envelope goes."""

    http_status: int
    envelope: dict[str, Any] | None
    code: int | None
    message: str | None
    text: str
    retry_after: float | None

    @property
    def data(self) -> Any:
        return self.envelope.get("data") if self.envelope is not None else None


@dataclass(frozen=True)
class _NetFailure:
    """No response arrived; ``sent`` tells whether the request may have reached the server."""

    sent: bool
    what: str


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _finite(value: object) -> float | None:
    """A finite float from a number or a numeric string, else ``None``."""
    if not isinstance(value, int | float | str) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _truncated(where: str, failure: str) -> KieImageError:
    """A file transfer that broke off after kie's host answered: what arrived is a truncated file.

    Not a ``KieTransportError``, which promises that the request never arrived.
    """
    return KieImageError(
        f"The download of {where} broke off ({failure}); the file is incomplete.",
        hint="The partial file was not recorded; download it again.",
    )


def _is_transient(error: KieAPIError) -> bool:
    """Whether a read that failed this way may succeed when simply sent again."""
    if error.code is None:  # an unreadable body (a proxy page, a truncated answer)
        return True
    return isinstance(error, KieRateLimitError | KieUnavailableError | KieServerError)


def _http_url(value: object) -> str | None:
    if isinstance(value, str) and value.strip().lower().startswith(("http://", "https://")):
        return value.strip()
    return None


class KieAPI:
    """The async wire client for kie.ai: creates, status reads, credits, uploads and file streams.

    ``transport`` is the one seam for tests and the sandbox (any ``httpx.AsyncBaseTransport``);
    ``clock`` drives every wait; ``retry`` sets the retry budget; ``limiter`` defaults to the
    process-wide limiter of the settings' key. Use it as ``async with KieAPI(settings) as api:``
    or call ``await api.aclose()`` when done.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or RealClock()
        self.retry = retry or RetryPolicy()
        if limiter is None:
            key = settings.api_key
            limiter = RateLimiter.shared(key, self.clock) if key else RateLimiter(clock=self.clock)
        self.limiter = limiter
        self._base = settings.base_url.rstrip("/")
        self._upload_base = settings.upload_url.rstrip("/")
        origins = frozenset(_origin(httpx.URL(u)) for u in (self._base, self._upload_base))
        self._random = random.Random()
        self._client = httpx.AsyncClient(
            transport=transport,
            auth=_BearerAuth(settings.api_key, origins),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            timeout=DEFAULT_TIMEOUT,
            limits=POOL_LIMITS,
            follow_redirects=False,
        )

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> KieAPI:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    @property
    def closed(self) -> bool:
        """Whether ``aclose()`` has run."""
        return self._client.is_closed

    def _scrub(self, text: str) -> str:
        """Error text from httpx or h11 with every trace of the key masked, before anyone sees it."""
        key = self.settings.api_key
        return key.scrub(text) if key is not None else text

    def __repr__(self) -> str:
        key = self.settings.api_key.masked() if self.settings.api_key else None
        return f"KieAPI(base_url={self._base!r}, upload_url={self._upload_base!r}, key={key!r})"

    # -- the public calls ----------------------------------------------------------------------

    async def create(
        self,
        family: str,
        endpoint: str,
        body: Mapping[str, Any],
        *,
        estimated_cost: float | None = None,
        on_interrupt: Callable[[BaseException], object] | None = None,
    ) -> str:
        """Submit a task and return kie's task id.

        Sent again only after a connect failure (the request never left) or a 429 (kie rejected it
        without queueing), each time within the rate limiter. If the request may have reached kie
        and no readable answer came back (read timeout, dropped connection, HTTP 5xx, a success
        without a task id), raises ``KieSubmitUncertainError`` and never resends it.

        ``estimated_cost`` (the plan's credits) goes into a 402's ``KieInsufficientCreditsError``.
        ``on_interrupt(exc)`` is called when a cancellation or ``KeyboardInterrupt`` arrives while
        the request may be on its way to kie (the exception then propagates): the caller's chance
        to journal the create as uncertain.
        """
        path = check_create_endpoint(family, endpoint)
        self.settings.require_key()
        url = self._base + path

        async def attempt() -> str | Retry:
            outcome = await self._send_create(url, path, body, on_interrupt)
            if isinstance(outcome, _NetFailure):
                if outcome.sent:
                    raise self._uncertain(path, f"no answer arrived ({outcome.what})")
                return Retry(
                    KieTransportError(
                        f"Could not connect to kie.ai for POST {path} ({outcome.what}); "
                        "the request was not sent, so nothing was created.",
                        endpoint=path,
                    )
                )
            if outcome.http_status >= 500 or outcome.http_status == 408:
                said = f": {outcome.message!r}" if outcome.message else ""
                raise self._uncertain(path, f"kie answered HTTP {outcome.http_status}{said}")
            problem = self._problem(outcome, path)
            if problem is None:
                task_id = self._task_id(outcome.data)
                if task_id is None:
                    raise self._uncertain(path, "kie answered success without a task id")
                logger.info("created %s task %s", family, task_id)
                return task_id
            if problem.code is None:
                raise self._uncertain(path, f"kie's answer was unreadable ({outcome.text[:80]!r})")
            if isinstance(problem, KieInsufficientCreditsError):
                raise await self._with_balance(problem, estimated_cost)
            if not isinstance(problem, KieRateLimitError):
                raise problem
            return Retry(problem, outcome.retry_after)

        async def pause(wait: float, error: KieError) -> None:
            if isinstance(error, KieRateLimitError):
                self.limiter.pause_creates(wait)  # the next open_create() does the waiting
            else:
                await self.clock.sleep(wait)

        return await self._retrying(attempt, "create", f"create on {path}", pause)

    async def _send_create(
        self,
        url: str,
        path: str,
        body: Mapping[str, Any],
        on_interrupt: Callable[[BaseException], object] | None,
    ) -> _Answer | _NetFailure:
        """One create attempt, holding its place in the limiter until kie's answer (or failure)."""
        await self.limiter.open_create()
        try:
            outcome = await self._exchange("POST", url, path, json=dict(body))
        except BaseException as exc:
            self.limiter.close_create()  # counted: it may have reached kie
            if on_interrupt is not None and not isinstance(exc, Exception):
                # Cancelled or interrupted while the request may be on its way. A failing callback
                # must not turn the cancellation into an ordinary error.
                try:
                    on_interrupt(exc)
                except Exception:
                    logger.exception("the on_interrupt callback of a create failed")
            raise
        # kie did not count a create that never left, nor one it refused with 429.
        unsent = isinstance(outcome, _NetFailure) and not outcome.sent
        refused = isinstance(outcome, _Answer) and 429 in (outcome.code, outcome.http_status)
        self.limiter.close_create(counted=not (unsent or refused))
        return outcome

    async def _with_balance(
        self, error: KieInsufficientCreditsError, estimated_cost: float | None
    ) -> KieInsufficientCreditsError:
        """The 402 error again, with the request's estimate and the balance (one quick, best-effort read)."""
        path = API_PATHS["common"]["credits"]
        answer = await self._exchange("GET", self._base + path, path)  # network failures come back as values
        value = answer.data if isinstance(answer, _Answer) and answer.code == 200 else None
        balance = None if isinstance(value, bool) else _finite(value)
        message = error.message
        if estimated_cost is not None:
            message += f" This request costs about {estimated_cost:g} credits."
        if balance is not None:
            message += f" The balance is {balance:g} credits."
        return KieInsufficientCreditsError(
            message,
            balance=balance,
            estimated_cost=estimated_cost,
            code=error.code,
            endpoint=error.endpoint,
            task_id=error.task_id,
            kie_message=error.kie_message,
            http_status=error.http_status,
            hint=error.hint,
        )

    async def status(self, family: str, task_id: str) -> TaskStatus:
        """kie's current record of a task, normalised.

        A record kie does not show yet (404, or 422 "record is null") comes back as
        ``TaskStatus(not_visible_yet=True, state="pending")``; 501 and 408 answers come back as a
        failed status. Transient failures are retried; anything else raises.
        """
        path = check_family(family)["status"]
        answer = await self._read(
            "GET",
            self._base + path,
            path,
            task_id=task_id,
            limited=True,
            accept=self._status_passthrough,
            params={"taskId": task_id},
        )
        raw = dict(answer.envelope or {})
        if answer.code in (501, 408) and answer.http_status != 404:
            return TaskStatus(
                task_id=task_id,
                family=family,
                state="failed",
                fail_code=str(answer.code),
                fail_message=answer.message,
                raw=raw,
            )
        # 404, 422 "record is null", or a success envelope with no record: not readable yet.
        if answer.code in (404, 422) or answer.http_status == 404 or answer.data is None:
            return TaskStatus(task_id=task_id, family=family, state="pending", not_visible_yet=True, raw=raw)
        return parse_status(family, task_id, answer.data, endpoint=path)

    async def credits(self) -> float:
        """The account's remaining credit balance."""
        path = API_PATHS["common"]["credits"]
        answer = await self._read("GET", self._base + path, path)
        value = answer.data
        balance = None if isinstance(value, bool) else _finite(value)
        if balance is None:
            raise self._garbage(path, answer, f"the balance is {value!r}, not a number")
        return balance

    async def upload(self, data: bytes, *, filename: str, content_type: str) -> str:
        """Upload bytes to kie's upload host and return the file's download URL.

        The content type comes from the bytes' magic numbers (``content_type`` is used only when they
        are not recognised), and the file gets a unique name with the matching extension. Small
        files go as base64 JSON, larger ones as a multipart stream. Transient failures are retried.
        """
        if not data:
            raise KieValidationError([Problem("data", "the file to upload is empty", filename)])
        if len(data) > MAX_UPLOAD_BYTES:
            raise KieValidationError(
                [
                    Problem(
                        "data",
                        f"the file is {len(data)} bytes; kie accepts uploads up to {MAX_UPLOAD_BYTES}",
                        filename,
                    )
                ]
            )
        self.settings.require_key()
        sniffed = sniff(data)
        if sniffed is not None:
            mime, ext = sniffed
        else:
            mime = content_type or "application/octet-stream"
            suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
            ext = EXTENSIONS.get(mime) or (f".{suffix}" if suffix.isalnum() else ".bin")
        name = unique_name(filename, data, ext, self.clock.time())
        if len(data) <= BASE64_MAX_BYTES:
            path = API_PATHS["upload"]["base64"]
            encoded = base64.b64encode(data).decode("ascii")
            kwargs: dict[str, Any] = {
                "json": {
                    "base64Data": f"data:{mime};base64,{encoded}",
                    "uploadPath": UPLOAD_PATH,
                    "fileName": name,
                }
            }
        else:
            path = API_PATHS["upload"]["stream"]
            kwargs = {
                "files": {"file": (name, data, mime)},
                "data": {"uploadPath": UPLOAD_PATH, "fileName": name},
            }
        answer = await self._read("POST", self._upload_base + path, path, timeout=UPLOAD_TIMEOUT, **kwargs)
        if answer.envelope is not None and answer.envelope.get("success") is False:
            raise api_error(
                answer.code or 0,
                endpoint=path,
                http_status=answer.http_status,
                kie_message=answer.message or "success: false",
            )
        info = answer.data if isinstance(answer.data, Mapping) else {}
        url = _http_url(info.get("downloadUrl")) or _http_url(info.get("fileUrl"))
        if url is None:
            raise self._garbage(path, answer, "the upload answer has no data.downloadUrl")
        logger.info("uploaded %s (%d bytes, %s)", name, len(data), mime)
        return url

    async def fresh_download_url(self, url: str, *, family: str, task_id: str | None) -> str:
        """A fresh, directly downloadable link (valid about 20 minutes) for an expired result URL.

        4o tasks use their own download-url endpoint when the task id is known, with the common
        endpoint as the fallback; every other family uses ``/api/v1/common/download-url``.
        """
        check_family(family)
        self.settings.require_key()
        if family == "gpt4o" and task_id:
            path = API_PATHS["gpt4o"]["download_url"]
            try:
                return await self._download_url(path, {"taskId": task_id, "url": url}, task_id)
            except (KieRequestError, KieNotFoundError) as exc:
                logger.info("4o download-url refused (%s); trying the common endpoint", exc.code)
        path = API_PATHS["common"]["download_url"]
        return await self._download_url(path, {"url": url}, task_id)

    @asynccontextmanager
    async def stream(self, url: str, *, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[AsyncIterator[bytes]]:
        """Stream a result file: ``async with api.stream(url) as chunks: async for c in chunks: ...``.

        Chunks are at most ``chunk_size`` bytes (capped at 1 MiB); the caller writes them to disk.
        Failures before the first byte are retried like reads; a transfer that breaks off after it
        raises ``KieImageError`` (the file is truncated) and the caller starts over. A
        401/403/404/410 means the link is gone or expired (``KieNotFoundError``): ask
        ``fresh_download_url`` for a new one.
        """
        size = max(1024, min(int(chunk_size), MAX_CHUNK_SIZE))
        response, chunks, first = await self._open_stream(url, size)
        body = self._continue_stream(chunks, first, url)
        try:
            yield body
        finally:
            await body.aclose()
            await response.aclose()

    # -- reads -------------------------------------------------------------------------------------

    async def _read(
        self,
        method: str,
        url: str,
        endpoint: str,
        *,
        task_id: str | None = None,
        limited: bool = False,
        accept: Callable[[_Answer], bool] | None = None,
        **kwargs: Any,
    ) -> _Answer:
        """Send a request that is safe to repeat, retrying transient failures; the success answer.

        ``accept`` may claim an error answer for the caller to interpret (status's "not visible yet").
        """

        async def attempt() -> _Answer | Retry:
            if limited:
                await self.limiter.acquire_read()
            outcome = await self._exchange(method, url, endpoint, **kwargs)
            if isinstance(outcome, _NetFailure):
                return Retry(
                    KieTransportError(
                        f"kie.ai did not answer {method} {endpoint} ({outcome.what}).", endpoint=endpoint
                    )
                )
            problem = self._problem(outcome, endpoint, task_id)
            if problem is None or (accept is not None and accept(outcome)):
                return outcome
            if not _is_transient(problem):
                raise problem
            return Retry(problem, outcome.retry_after)

        return await self._retrying(attempt, "read", f"{method} {endpoint}")

    async def _retrying(
        self,
        attempt: Callable[[], Awaitable[_T | Retry]],
        kind: RetryKind,
        what: str,
        pause: Callable[[float, KieError], Awaitable[None]] | None = None,
    ) -> _T:
        """``run_with_retry`` with this client's policy, clock and random source."""
        return await run_with_retry(
            attempt, kind=kind, policy=self.retry, clock=self.clock, rng=self._random, what=what, pause=pause
        )

    @staticmethod
    def _status_passthrough(answer: _Answer) -> bool:
        """Answers that status() turns into a TaskStatus instead of an error."""
        if answer.code in (501, 408):
            return True
        if answer.code == 404 or (answer.http_status == 404 and answer.envelope is not None):
            return True
        return answer.code == 422 and bool(_NOT_VISIBLE.search(answer.message or "null"))

    async def _download_url(self, path: str, body: dict[str, Any], task_id: str | None) -> str:
        answer = await self._read("POST", self._base + path, path, task_id=task_id, json=body)
        data = answer.data
        found = _http_url(data)
        if found is None and isinstance(data, Mapping):  # the 4o quickstart's {"downloadUrl": ...}
            found = _http_url(data.get("downloadUrl")) or _http_url(data.get("url"))
        if found is None:
            raise self._garbage(path, answer, f"expected a URL, got {data!r:.80}")
        return found

    async def _open_stream(
        self, url: str, chunk_size: int
    ) -> tuple[httpx.Response, AsyncIterator[bytes], bytes]:
        """Open a file stream and read its first chunk, retrying whatever fails before that."""
        where = _safe_url(url)

        async def attempt() -> tuple[httpx.Response, AsyncIterator[bytes], bytes] | Retry:
            outcome = await self._try_open(url, where, chunk_size)
            if not isinstance(outcome, Retry):
                return outcome
            if isinstance(outcome.error, KieAPIError) and not _is_transient(outcome.error):
                raise outcome.error
            return outcome

        return await self._retrying(attempt, "read", f"download of {where}")

    async def _try_open(
        self, url: str, where: str, chunk_size: int
    ) -> tuple[httpx.Response, AsyncIterator[bytes], bytes] | Retry:
        """One attempt at a file stream up to its first chunk; the open stream or why it failed."""
        failure: str | None = None
        try:
            response = await self._client.send(
                self._client.build_request(
                    "GET", url, timeout=STREAM_TIMEOUT, headers={"Accept": "image/*, */*;q=0.5"}
                ),
                stream=True,
                follow_redirects=True,
            )
        except httpx.TransportError as exc:
            failure = self._scrub(_describe(exc))
        if failure is not None:
            error = KieTransportError(f"Downloading {where} failed ({failure}).", endpoint=where)
            return Retry(error)
        if not response.is_success:
            await response.aread()
            await response.aclose()
            return Retry(
                self._file_error(response, where),
                parse_retry_after(response.headers.get("Retry-After"), self.clock.time()),
            )
        chunks = response.aiter_bytes(chunk_size)
        try:
            first = await chunks.__anext__()
        except StopAsyncIteration:
            first = b""
        except httpx.TransportError as exc:
            failure = self._scrub(_describe(exc))
        if failure is not None:
            await response.aclose()
            return Retry(_truncated(where, failure))
        return response, chunks, first

    async def _continue_stream(
        self, chunks: AsyncIterator[bytes], first: bytes, url: str
    ) -> AsyncGenerator[bytes, None]:
        if first:
            yield first
        failure: str | None = None
        try:
            async for chunk in chunks:
                yield chunk
        except httpx.TransportError as exc:
            failure = self._scrub(_describe(exc))
        if failure is not None:
            raise _truncated(_safe_url(url), failure)

    @staticmethod
    def _file_error(response: httpx.Response, where: str) -> KieAPIError:
        status = response.status_code
        text = response.content[:300].decode("utf-8", "replace")
        if status in (401, 403, 404, 410) and not is_bot_filter(status, text):
            return KieNotFoundError(
                f"The result file {where} is gone or its link expired (HTTP {status}).",
                code=status,
                endpoint=where,
                http_status=status,
                hint="Ask kie for a fresh link (fresh_download_url) and download again; "
                "kie keeps results for about 14 days.",
            )
        return api_error(
            status, endpoint=where, http_status=status, kie_message=None, http_level=True, text=text
        )

    # -- one exchange ----------------------------------------------------------------------------

    async def _exchange(self, method: str, url: str, endpoint: str, **kwargs: Any) -> _Answer | _NetFailure:
        """Send one request; the decoded answer, or what went wrong on the network."""
        request = self._client.build_request(method, url, **kwargs)
        started = self.clock.monotonic()
        failure: _NetFailure | None = None
        try:
            response = await self._client.send(request)
        except _UNSENT as exc:
            failure = _NetFailure(sent=False, what=self._scrub(_describe(exc)))
        except httpx.TransportError as exc:
            failure = _NetFailure(sent=True, what=self._scrub(_describe(exc)))
        if failure is not None:
            logger.debug("%s %s -> %s", method, endpoint, failure.what)
            return failure
        answer = self._decode(response)
        logger.debug(
            "%s %s -> HTTP %d code %s (%.0f ms)",
            method,
            endpoint,
            answer.http_status,
            answer.code,
            (self.clock.monotonic() - started) * 1000,
        )
        return answer

    def _decode(self, response: httpx.Response) -> _Answer:
        text = response.content.decode("utf-8", "replace")
        envelope: dict[str, Any] | None = None
        try:
            body = json.loads(text) if text.strip() else None
        except ValueError:
            body = None
        if isinstance(body, dict) and "code" in body:
            envelope = body
        code = _as_int(envelope.get("code")) if envelope is not None else None
        message = envelope.get("msg") if envelope is not None else None
        return _Answer(
            http_status=response.status_code,
            envelope=envelope,
            code=code,
            message=str(message) if message is not None else None,
            text=text[:300],
            retry_after=parse_retry_after(response.headers.get("Retry-After"), self.clock.time()),
        )

    def _problem(self, answer: _Answer, endpoint: str, task_id: str | None = None) -> KieAPIError | None:
        """The error an answer amounts to, or ``None`` for a success. kie's own code wins."""
        if answer.code is not None and answer.code != 200:
            code, http_level = answer.code, False
        elif not 200 <= answer.http_status < 300:
            code, http_level = answer.http_status, True
        elif answer.envelope is None or answer.code is None:
            return self._garbage(endpoint, answer, "the body is not kie's JSON envelope", task_id)
        else:
            return None
        return api_error(
            code,
            endpoint=endpoint,
            http_status=answer.http_status,
            kie_message=answer.message,
            http_level=http_level,
            task_id=task_id,
            retry_after=answer.retry_after,
            text=answer.text,
        )

    @staticmethod
    def _garbage(endpoint: str, answer: _Answer, what: str, task_id: str | None = None) -> KieAPIError:
        return KieAPIError(
            f"kie.ai answered {endpoint} with HTTP {answer.http_status}, but {what}: {answer.text[:120]!r}.",
            endpoint=endpoint,
            task_id=task_id,
            http_status=answer.http_status,
            hint="A proxy or an API change may be in the way; check KIE_BASE_URL and try again later.",
        )

    @staticmethod
    def _task_id(data: object) -> str | None:
        if not isinstance(data, Mapping):
            return None
        value = data.get("taskId", data.get("task_id"))
        if isinstance(value, bool) or value is None:
            return None
        text = str(value).strip()
        return text or None

    @staticmethod
    def _uncertain(endpoint: str, what: str) -> KieSubmitUncertainError:
        return KieSubmitUncertainError(
            f"POST {endpoint} was sent but {what}; kie may have created (and will charge) the task.",
            endpoint=endpoint,
        )

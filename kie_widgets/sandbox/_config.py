"""What a sandbox run is configured with: timings, limits, quirks and scripted faults."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kie_widgets.config import SANDBOX_API_KEY

if TYPE_CHECKING:
    import httpx

#: Route names a fault can target (besides "any" and literal paths that start with "/").
ROUTES = ("create", "status", "credit", "download-url", "upload", "file", "other")

#: Fault kinds and the route each one targets when none is given.
FAULT_KINDS: dict[str, str] = {
    "http": "any",  # a real HTTP status (429 with Retry-After, or a 5xx gateway page)
    "envelope": "any",  # HTTP 200 with an error code in kie's JSON envelope
    "reset": "any",  # the connection is reset after the request arrived; nothing is processed
    # the connection is refused; the request never arrives (in-process: httpx.ConnectError; over a
    # real socket the connection already exists, so the server can only reset it unanswered)
    "connect": "any",
    "timeout": "any",  # the request IS processed (a create creates the task), no answer ever comes
    "fail": "create",  # the created task runs and fails (code = failCode, default 501)
    "truncate": "file",  # a file download stops half way
    "notimage": "file",  # a file download is an HTML error page served as image/png
    "bomb": "file",  # a file download is a tiny PNG that declares 20000x20000 pixels
    "expired": "file",  # a file URL answers as an expired signed link (HTTP 403)
}

_FAULT_RE = re.compile(
    r"^(?P<kind>[a-z]+)(?::(?P<code>\d{3}))?(?:@(?P<route>[^*%+!]+))?"
    r"(?:\*(?P<times>\d+|inf))?(?:%(?P<pct>\d+(?:\.\d+)?))?(?:\+(?P<skip>\d+))?(?P<bang>!)?$"
)


@dataclass
class Fault:
    """One scripted fault: what goes wrong, on which route, and how often.

    ``times`` is how many matching requests it hits (``None``: unlimited); ``rate`` (0..1) makes
    each matching request a hit with that probability instead (unlimited unless ``times`` is set);
    ``skip`` lets the first N matching requests through. ``processed`` makes an ``http`` or
    ``envelope`` fault answer *after* the request was handled (a create then exists although the
    caller saw an error); ``timeout`` is always processed. ``delay`` is how long the real server
    holds a timed-out connection open before closing it.
    """

    kind: str
    code: int | None = None
    route: str | None = None
    times: int | None = 1
    rate: float | None = None
    skip: int = 0
    message: str | None = None
    retry_after: float | None = None
    processed: bool = False
    delay: float = 30.0
    seen: int = field(default=0, init=False, compare=False)
    hits: int = field(default=0, init=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (allowed: {', '.join(FAULT_KINDS)})")
        if self.kind in {"http", "envelope"} and self.code is None:
            raise ValueError(f"a {self.kind!r} fault needs a code, e.g. {self.kind}:429")
        if self.kind == "http" and self.code is not None and not 400 <= self.code <= 599:
            raise ValueError(f"an http fault needs a 4xx/5xx status, not {self.code}")
        if self.rate is not None and not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be within 0..1, not {self.rate}")
        if self.route is None:
            self.route = FAULT_KINDS[self.kind]
        if self.kind == "timeout":
            self.processed = True

    def matches(self, route: str, path: str) -> bool:
        """Whether a request on ``route`` (see ``ROUTES``) / ``path`` is one this fault targets."""
        targets = (self.route or "any").split("|")
        return any(t in {"any", route, path} for t in targets)

    @property
    def exhausted(self) -> bool:
        """True once the fault has hit as often as it was told to."""
        return self.times is not None and self.hits >= self.times


def parse_faults(spec: str) -> list[Fault]:
    """Parse the ``--faults`` syntax: comma-separated ``KIND[:CODE][@ROUTE][*TIMES][%PCT][+SKIP][!]``.

    Examples: ``http:429@create*2`` (the first two creates get HTTP 429), ``envelope:455@status%10``
    (10% of status reads), ``timeout@create+3`` (the 4th create is processed but never answered),
    ``http:502@create!`` (processed, then a 502), ``fail:501``, ``bomb``, ``truncate@file*inf``.
    ``*inf`` means unlimited; a ``%`` rate is unlimited unless ``*TIMES`` is given too.
    """
    faults: list[Fault] = []
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        m = _FAULT_RE.match(item)
        if not m:
            raise ValueError(
                f"cannot parse fault {item!r}; expected KIND[:CODE][@ROUTE][*TIMES][%PCT][+SKIP][!]"
            )
        times_text, pct = m["times"], m["pct"]
        times: int | None
        if times_text == "inf":
            times = None
        elif times_text is not None:
            times = int(times_text)
        else:
            times = None if pct is not None else 1
        faults.append(
            Fault(
                kind=m["kind"],
                code=int(m["code"]) if m["code"] else None,
                route=m["route"],
                times=times,
                rate=float(pct) / 100.0 if pct is not None else None,
                skip=int(m["skip"] or 0),
                processed=bool(m["bang"]),
            )
        )
    return faults


@dataclass
class SandboxConfig:
    """Everything one sandbox run can be told; the defaults suit fast tests under a ``FakeClock``.

    Durations are seconds of clock time: a Market task spends ``waiting``, then ``queuing``, then
    ``generating`` (4o and Flux report the whole span as generating). ``model_seconds`` overrides
    the total for given model ids. Right after a create the record answers ``invisible_code``
    ("recordInfo is null") for ``invisible_for`` seconds. Each ``Sandbox`` copies ``faults`` (fresh
    counters, so one config serves many runs); inspect ``sandbox.faults`` for their ``hits``.
    """

    #: kept out of the repr: a real key may be passed with --api-key
    api_key: str = field(default=SANDBOX_API_KEY, repr=False)
    credits: float = 1000.0
    waiting: float = 1.0
    queuing: float = 1.0
    generating: float = 6.0
    model_seconds: Mapping[str, float] = field(default_factory=dict)
    invisible_for: float = 0.5
    invisible_code: int = 422
    #: creates accepted per window (count, seconds); None disables the limiter
    rate_limit: tuple[int, float] | None = (20, 10.0)
    #: status reads per window; off by default (kie's documented ~10/s is not enforced by peers)
    read_rate_limit: tuple[int, float] | None = None
    #: answer 401/402/404/422/429/5xx-type codes with that real HTTP status instead of HTTP 200
    http_errors: bool = False
    #: answer validation problems about missing required fields as 500 "This field is required"
    required_as_500: bool = False
    #: also refuse library default User-Agents (python-httpx/..., Python-urllib/...) with 403 1010
    block_default_user_agents: bool = False
    #: wall-clock seconds added to every request (the in-process transport and the server)
    latency: float = 0.0
    faults: Sequence[Fault] = ()
    seed: int = 0
    result_url_ttl: float = 24 * 3600.0
    download_url_ttl: float = 20 * 60.0
    origin_url_ttl: float = 10 * 60.0
    upload_ttl: float = 24 * 3600.0
    record_ttl: float = 14 * 24 * 3600.0
    result_base: str = "https://tempfile.aiquickdraw.com"
    upload_file_base: str = "https://tempfile.redpandaai.co"
    signed_base: str = "https://kie-sandbox.r2.cloudflarestorage.com"
    #: the key 4o records put their URLs under: "resultUrls" (OpenAPI) or "result_urls" (quickstart)
    gpt4o_result_key: str = "resultUrls"
    #: 4o/Flux record times: "ms" (integers, the OpenAPI) or "text" (the docs examples: 4o
    #: "2024-01-15 10:35:00", Flux ISO "2024-03-20T10:30:00Z"); Market always uses ms
    timestamps: str = "ms"
    #: long side in pixels when a request names no resolution tier
    long_side: int = 1024
    #: pad every result file to at least this many bytes (for download benchmarks)
    image_bytes: int = 0
    #: input URLs the sandbox does not serve make the task fail with 451 (as kie does when it
    #: cannot fetch them); off by default so requests with made-up URLs still succeed
    strict_input_urls: bool = False
    max_upload_bytes: int = 100 * 1024 * 1024
    #: per model id: a flat price per request that overrides the catalog's
    prices: Mapping[str, float] = field(default_factory=dict)
    #: Market ids this kie knows beyond the catalog (accepted unchecked, priced by ``prices`` or 0),
    #: so raw requests for a model the catalog has not caught up with can be exercised
    extra_models: Sequence[str] = ()
    #: images a layer-decomposition task returns: the base image, then transparent layers
    layers: int = 3
    webhook_hmac_key: str | None = field(default=None, repr=False)
    callback_transport: httpx.AsyncBaseTransport | None = None
    callback_retries: int = 3
    callback_retry_delay: float = 0.0
    callback_timeout: float = 15.0
    callback_duplicates: bool = False

    def durations(self, model_id: str) -> tuple[float, float, float]:
        """(waiting, queuing, generating) seconds for a task of ``model_id``."""
        total = self.model_seconds.get(model_id)
        if total is None:
            return (self.waiting, self.queuing, self.generating)
        base = self.waiting + self.queuing + self.generating
        scale = total / base if base > 0 else 0.0
        return (self.waiting * scale, self.queuing * scale, self.generating * scale if base else total)


__all__ = ["FAULT_KINDS", "ROUTES", "Fault", "SandboxConfig", "parse_faults"]

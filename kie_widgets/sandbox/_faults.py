"""Scripted faults: the ``--faults`` mini-language, which request each fault hits, and what it sends.

A fault either replaces the answer before the request is handled (nothing happened at kie), or,
when ``processed``, after it (the create exists although the caller saw an error). Envelope faults
that fail a running task are applied by ``_core``, which owns the tasks' bookkeeping.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from kie_widgets.sandbox._records import Reply
from kie_widgets.sandbox._wire import ENVELOPE_MESSAGES, json_reply

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


#: kinds that can hit any request, and the ones a file download adds
REQUEST_FAULTS = frozenset({"http", "envelope", "reset", "connect", "timeout"})
FILE_FAULTS = REQUEST_FAULTS | {"truncate", "notimage", "bomb", "expired"}
#: kinds answered instead of handling the request (unless the fault is ``processed``)
UNHANDLED_FAULTS = frozenset({"http", "envelope", "reset", "connect"})

_GATEWAY_PAGES = {
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}


class FaultBook:
    """The faults one sandbox runs with (fresh copies of the configured ones) and the draw of each hit.

    The random source is the sandbox's own, so one seed fixes task ids and fault hits together.
    """

    def __init__(self, faults: Iterable[Fault], rng: random.Random) -> None:
        self.faults: list[Fault] = [replace(f) for f in faults]
        self._rng = rng

    def pick(self, route: str, path: str, kinds: frozenset[str]) -> Fault | None:
        """The first fault of ``kinds`` that hits this request (counting it), else ``None``."""
        for fault in self.faults:
            if fault.kind not in kinds or fault.exhausted or not fault.matches(route, path):
                continue
            fault.seen += 1
            if fault.seen <= fault.skip:
                continue
            if fault.rate is not None and self._rng.random() >= fault.rate:
                continue
            fault.hits += 1
            return fault
        return None


def network_reply(fault: Fault) -> Reply | None:
    """What a ``reset``, ``connect`` or ``http`` fault sends; ``None`` for an envelope fault."""
    if fault.kind in {"reset", "connect"}:
        return Reply(action=fault.kind)
    if fault.kind != "http":
        return None
    code = fault.code or 500
    headers: dict[str, str] = {}
    if fault.retry_after is not None or code == 429:
        headers["retry-after"] = f"{fault.retry_after if fault.retry_after is not None else 1:g}"
    if code == 429:
        body = {"code": 429, "msg": fault.message or ENVELOPE_MESSAGES[429], "data": None}
        return json_reply(429, body, headers)
    page = _GATEWAY_PAGES.get(code, f"{code} Error")
    html = (
        f"<html>\r\n<head><title>{page}</title></head>\r\n<body>\r\n"
        f"<center><h1>{page}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return Reply(code, {"content-type": "text/html", **headers}, html.encode())


__all__ = [
    "FAULT_KINDS",
    "FILE_FAULTS",
    "REQUEST_FAULTS",
    "ROUTES",
    "UNHANDLED_FAULTS",
    "Fault",
    "FaultBook",
    "network_reply",
    "parse_faults",
]

"""``python -m kie_widgets.sandbox --port N``: the sandbox as a real HTTP server on loopback.

Prints one line ``kie sandbox listening on http://HOST:PORT`` (then the two environment settings
that point a client at it) and serves until interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from kie_widgets.sandbox._config import SandboxConfig
from kie_widgets.sandbox._core import Sandbox
from kie_widgets.sandbox._faults import FAULT_KINDS, ROUTES, Fault, parse_faults
from kie_widgets.sandbox._server import SandboxServer


def _rate(text: str) -> tuple[int, float] | None:
    if text.strip().lower() in {"0", "off", "none"}:
        return None
    count, _, seconds = text.partition("/")
    try:
        return (int(count), float(seconds or 10.0))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected N/S (e.g. 20/10) or off, not {text!r}") from exc


def _faults(text: str) -> list[Fault]:
    try:
        return parse_faults(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _durations(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected W,Q,G seconds, not {text!r}") from exc
    if len(values) != 3:
        raise argparse.ArgumentTypeError("expected three values: waiting,queuing,generating seconds")
    return (values[0], values[1], values[2])


_EPILOG = f"""\
fault kinds: {", ".join(FAULT_KINDS)}
fault routes: {", ".join(ROUTES)}, any, a literal path (/api/v1/jobs/createTask); join with |
  *N  hit N matching requests (default 1; *inf = unlimited)   %P  hit P percent of them
  +K  let the first K matching requests through                !   answer after processing
examples:
  --faults 'http:429@create*2'        the first two creates get HTTP 429 (no task is created)
  --faults 'timeout@create+3'         the 4th create is processed, then never answered
  --faults 'envelope:455@status%10'   10% of status reads answer code 455
  --faults 'fail:501*inf,bomb@file'   every task fails with 501; the first download is a bomb
"""


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m kie_widgets.sandbox``."""
    p = argparse.ArgumentParser(
        prog="python -m kie_widgets.sandbox",
        description="Serve an offline kie.ai (API host, upload host and result files) on loopback.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", type=int, required=True, help="port to listen on (0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    p.add_argument(
        "--faults",
        type=_faults,
        default=[],
        help="comma-separated KIND[:CODE][@ROUTE][*TIMES][%%PCT][+SKIP][!], e.g. 'http:429@create*2,bomb'",
    )
    p.add_argument(
        "--rate-limit", type=_rate, default=(20, 10.0), help="creates per window, N/S (default 20/10)"
    )
    p.add_argument("--api-key", default=None, help="the key the sandbox accepts (default: sandbox-key)")
    p.add_argument("--credits", type=float, default=1000.0, help="starting balance (default 1000)")
    p.add_argument(
        "--durations",
        type=_durations,
        default=(0.3, 0.3, 1.4),
        help="waiting,queuing,generating seconds of every task (default 0.3,0.3,1.4)",
    )
    p.add_argument(
        "--invisible", type=float, default=0.3, help="seconds a new record answers 'recordInfo is null'"
    )
    p.add_argument("--http-errors", action="store_true", help="answer errors with real HTTP statuses")
    p.add_argument("--hmac-key", default=None, help="sign callbacks with this webhook HMAC key")
    p.add_argument("--image-bytes", type=int, default=0, help="pad result files to at least this many bytes")
    p.add_argument("--seed", type=int, default=None, help="seed for task ids and rate-based faults")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until interrupted; returns the exit status."""
    args = build_parser().parse_args(argv)
    waiting, queuing, generating = args.durations
    config = SandboxConfig(
        credits=args.credits,
        waiting=waiting,
        queuing=queuing,
        generating=generating,
        invisible_for=args.invisible,
        rate_limit=args.rate_limit,
        http_errors=args.http_errors,
        latency=args.latency,
        faults=args.faults,
        webhook_hmac_key=args.hmac_key,
        image_bytes=args.image_bytes,
        callback_retry_delay=1.0,
        **({"api_key": args.api_key} if args.api_key else {}),
        seed=args.seed if args.seed is not None else random.SystemRandom().getrandbits(32),
    )
    try:
        server = SandboxServer(Sandbox(config), host=args.host, port=args.port, verbose=args.verbose)
    except (ValueError, OSError) as exc:
        print(f"kie sandbox: {exc}", file=sys.stderr)
        return 2

    def _stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    print(f"kie sandbox listening on {server.url}", flush=True)
    print(f"KIE_BASE_URL={server.url} KIE_UPLOAD_URL={server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The real-socket way in: the sandbox on a loopback HTTP server.

Built on the standard library's ``ThreadingHTTPServer``: no extra dependency, one thread per
connection (so a "read timeout" fault or ``--latency`` holds only its own connection while others
are served), and it reuses the sandbox's synchronous, lock-protected core unchanged. Keep-alive
works because every reply carries a Content-Length (HTTP/1.1).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from kie_widgets.sandbox._core import Sandbox
from kie_widgets.sandbox._records import Incoming


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1 or localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kie-sandbox"
    sys_version = ""
    # Small JSON answers: without TCP_NODELAY each round trip waits ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"sandbox: {format % args}\n")

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        body = self._read_body()
        split = urlsplit(self.path)
        incoming = Incoming(
            method=self.command,
            host=(self.headers.get("Host") or "").split(":")[0],
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        sandbox = self.server.sandbox
        if sandbox.config.latency > 0 and self.server.stopping.wait(sandbox.config.latency):
            return
        reply = sandbox.handle(incoming)
        self.server.wake.set()  # callbacks may be due
        if reply.action in {"connect", "reset"}:
            self._abort()
            return
        if reply.action == "timeout":
            self.server.stopping.wait(reply.delay)
            self.close_connection = True
            return
        self.send_response(reply.status)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(reply.content_length))
        self.end_headers()
        if self.command == "HEAD":
            return
        sent = 0
        for chunk in reply.chunks():
            if reply.action == "truncate" and sent + len(chunk) >= reply.cut:
                self.wfile.write(chunk[: reply.cut - sent])
                self.wfile.flush()
                self._abort()
                return
            self.wfile.write(chunk)
            sent += len(chunk)

    def _abort(self) -> None:
        # SO_LINGER 0 makes close() send a RST: the client sees a reset, not a clean end.
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The stdlib default backlog of 5 drops connections when a client opens dozens at once.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: Sandbox, verbose: bool) -> None:
        self.sandbox = sandbox
        self.verbose = verbose
        self.stopping = threading.Event()
        self.wake = threading.Event()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)


class SandboxServer:
    """The sandbox on ``http://host:port`` (loopback only), serving API, upload host and files.

    ``start()`` runs it on background threads (also a context manager); ``serve_forever()`` blocks.
    Port 0 picks a free port; ``url`` tells which. A ticker thread books finished tasks and sends
    their callbacks even when nobody polls.
    """

    def __init__(
        self, sandbox: Sandbox | None = None, *, host: str = "127.0.0.1", port: int = 0, verbose: bool = False
    ) -> None:
        if not is_loopback(host):
            raise ValueError(f"the sandbox serves loopback only, not {host!r}")
        self.sandbox = sandbox or Sandbox()
        self._server = _Server((host, port), self.sandbox, verbose)
        bound = self._server.server_address
        host_text = bound[0].decode() if isinstance(bound[0], bytes) else str(bound[0])
        shown = f"[{host_text}]" if ":" in host_text else host_text
        self.url = f"http://{shown}:{bound[1]}"
        self.sandbox.set_public_base(self.url)
        self._threads: list[threading.Thread] = []

    def __repr__(self) -> str:
        return f"SandboxServer({self.url})"

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._server.server_address[1])

    def _tick(self) -> None:
        while not self._server.stopping.is_set():
            self._server.wake.wait(0.1)
            self._server.wake.clear()
            self.sandbox.settle()
            records = self.sandbox.take_callbacks()
            if records:
                asyncio.run(_deliver_all(self.sandbox, records))

    def start(self) -> SandboxServer:
        """Serve on background threads and return at once."""
        # A short poll interval keeps stop() quick; the cost is a few idle wake-ups per second.
        serve = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="kie-sandbox-serve",
            daemon=True,
        )
        tick = threading.Thread(target=self._tick, name="kie-sandbox-tick", daemon=True)
        for thread in (serve, tick):
            thread.start()
            self._threads.append(thread)
        return self

    def serve_forever(self) -> None:
        """Serve until ``stop()`` (from another thread) or KeyboardInterrupt."""
        ticker = threading.Thread(target=self._tick, name="kie-sandbox-tick", daemon=True)
        ticker.start()
        self._threads.append(ticker)
        try:
            self._server.serve_forever(poll_interval=0.1)
        finally:
            self._server.stopping.set()

    def stop(self) -> None:
        """Stop serving, release held connections and close the socket."""
        self._server.stopping.set()
        self._server.wake.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _deliver_all(sandbox: Sandbox, records: list[Any]) -> None:
    await asyncio.gather(*(sandbox.deliver(r) for r in records))


__all__ = ["SandboxServer", "is_loopback"]

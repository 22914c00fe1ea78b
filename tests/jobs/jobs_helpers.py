"""Helpers shared by the client tests (a module, so tests can import it by name)."""

from __future__ import annotations

from typing import Any

#: A key no real account has, distinctive enough to grep every file the tests wrote for it.
FAKE_KEY = "kie-test-key-7Qz9XwLm4Rt2Vb8N"

CREATE_PATHS = ("/api/v1/gpt4o-image/generate", "/api/v1/flux/kontext/generate", "/api/v1/jobs/createTask")


def field_of(request: Any, name: str) -> Any:
    """A field of one logged sandbox request, whether the log holds objects or dicts."""
    if isinstance(request, dict):
        return request.get(name)
    return getattr(request, name, None)


def creates(sandbox: Any) -> list[Any]:
    """Every create request the sandbox received (including ones it refused)."""
    return [r for r in sandbox.requests if field_of(r, "path") in CREATE_PATHS]


def extra(entry: dict[str, Any], key: str) -> Any:
    """A key of a manifest entry, top-level or inside its nested object of extra data."""
    if key in entry:
        return entry[key]
    for value in entry.values():
        if isinstance(value, dict) and key in value:
            return value[key]
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(*args: str, api_key: str = FAKE_KEY, timeout: float = 20.0) -> tuple[Any, str]:
    """Start ``python -m kie_widgets.sandbox`` on a free loopback port; (process, base URL)."""
    import socket
    import subprocess
    import sys
    import time

    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kie_widgets.sandbox",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--api-key",
            api_key,
            *args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"the sandbox server exited with {proc.returncode}: {err[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the sandbox server did not start listening")


def stop_server(proc: Any) -> None:
    """Stop a server started by start_server (this process's own child, by its pid)."""
    proc.terminate()
    try:
        proc.wait(5)
    except Exception:
        proc.kill()
        proc.wait(5)

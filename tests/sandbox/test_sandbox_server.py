"""The real HTTP server on 127.0.0.1: the CLI in a subprocess, and fault behaviour over sockets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest
from sandbox_helpers import BODIES, CREATE, HEADERS, image_of

from kie_widgets.clock import RealClock
from kie_widgets.sandbox import Fault, Sandbox, SandboxConfig, SandboxServer, shared_sandbox
from kie_widgets.sandbox.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def _wait_for(check, timeout: float = 5.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    """A sandbox server on a free loopback port, on background threads."""
    with SandboxServer(
        Sandbox(SandboxConfig(waiting=0.05, queuing=0.05, generating=0.1, invisible_for=0))
    ) as srv:
        yield srv


@pytest.fixture
def cli_server() -> Iterator[str]:
    """``python -m kie_widgets.sandbox --port 0`` in a subprocess; yields its URL; stops it with SIGTERM."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kie_widgets.sandbox",
            "--port",
            "0",
            "--durations",
            "0.05,0.05,0.1",
            "--invisible",
            "0",
            "--faults",
            "http:503@credit",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("kie sandbox listening on http://127.0.0.1:"), (
            line + proc.stderr.read() if proc.stderr else ""
        )
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def _poll_market(http: httpx.Client, task_id: str) -> dict:
    def done() -> dict | None:
        data = http.get("/api/v1/jobs/recordInfo", params={"taskId": task_id}).json()["data"]
        return data if data and data["state"] == "success" else None

    return dict(_wait_for(done))


@pytest.mark.slow
def test_cli_server_serves_api_uploads_and_files_over_real_sockets(cli_server: str) -> None:
    """Through the CLI server: a fault from --faults, a task end to end, a result file and an upload."""
    with httpx.Client(base_url=cli_server, headers=HEADERS, timeout=5) as http:
        assert http.get("/api/v1/chat/credit").status_code == 503  # --faults http:503@credit
        assert http.get("/api/v1/chat/credit").json()["data"] == 1000
        task_id = http.post(CREATE["market"], json=BODIES["market"]).json()["data"]["taskId"]
        data = _poll_market(http, task_id)
        url = json.loads(data["resultJson"])["resultUrls"][0]
        assert url.startswith(cli_server + "/")
        assert image_of(http.get(url).content).size == (576, 1024)
        up = http.post(
            "/api/file-stream-upload",
            files={"file": ("a.png", b"\x89PNG\r\n\x1a\nxx")},
            data={"uploadPath": "t"},
        ).json()
        assert up["data"]["downloadUrl"].startswith(cli_server)
        assert http.get(up["data"]["downloadUrl"]).content == b"\x89PNG\r\n\x1a\nxx"


def test_server_answers_without_user_agent_with_1010(server: SandboxServer) -> None:
    """Over sockets, a request with no User-Agent gets HTTP 403 "error code: 1010"."""
    with httpx.Client(base_url=server.url, headers={"Authorization": HEADERS["Authorization"]}) as http:
        http.headers.pop("User-Agent")
        r = http.get("/api/v1/chat/credit")
    assert (r.status_code, r.text) == (403, "error code: 1010")


def test_server_read_timeout_fault_creates_the_task(server: SandboxServer) -> None:
    """The timeout fault holds the socket: the client times out, yet the task exists."""
    server.sandbox.add_fault(Fault("timeout", route="create", delay=2.0))
    with (
        httpx.Client(base_url=server.url, headers=HEADERS, timeout=0.3) as http,
        pytest.raises(httpx.ReadTimeout),
    ):
        http.post(CREATE["gpt4o"], json=BODIES["gpt4o"])
    assert len(server.sandbox.tasks) == 1


def test_server_reset_fault_drops_the_connection(server: SandboxServer) -> None:
    """The reset fault closes the socket without an answer and creates nothing."""
    server.sandbox.add_fault(Fault("reset", route="create"))
    with (
        httpx.Client(base_url=server.url, headers=HEADERS, timeout=5) as http,
        pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)),
    ):
        http.post(CREATE["market"], json=BODIES["market"])
    assert server.sandbox.tasks == {}


def test_server_truncate_fault_ends_the_body_early(server: SandboxServer) -> None:
    """A truncated download over sockets raises the error of an incomplete body."""
    with httpx.Client(base_url=server.url, headers=HEADERS, timeout=5) as http:
        task_id = http.post(CREATE["market"], json=BODIES["market"]).json()["data"]["taskId"]
        url = json.loads(_poll_market(http, task_id)["resultJson"])["resultUrls"][0]
        server.sandbox.add_fault(Fault("truncate"))
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            http.get(url)
        assert http.get(url).status_code == 200


def test_server_sends_callbacks_without_polling(server: SandboxServer) -> None:
    """The server's ticker delivers a finished task's callback over a real socket."""
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    hook = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=hook.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        body = {**BODIES["gpt4o"], "callBackUrl": f"http://127.0.0.1:{hook.server_address[1]}/cb"}
        with httpx.Client(base_url=server.url, headers=HEADERS, timeout=5) as http:
            task_id = http.post(CREATE["gpt4o"], json=body).json()["data"]["taskId"]
        _wait_for(lambda: received)
    finally:
        hook.shutdown()
        hook.server_close()
    assert received[0]["data"]["taskId"] == task_id
    assert received[0]["data"]["info"]["result_urls"][0].startswith(server.url)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com"])
def test_server_refuses_non_loopback_hosts(host: str) -> None:
    """Binding anywhere but loopback is refused."""
    with pytest.raises(ValueError, match="loopback"):
        SandboxServer(Sandbox(), host=host, port=0)


def test_cli_rejects_non_loopback_host_and_bad_faults(capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI exits 2 for a non-loopback host, and argparse rejects a bad --faults spec."""
    assert main(["--port", "0", "--host", "0.0.0.0"]) == 2
    with pytest.raises(SystemExit):
        main(["--port", "0", "--faults", "nonsense"])
    assert "unknown fault kind" in capsys.readouterr().err


def test_shared_sandbox_is_one_fast_real_clock_instance() -> None:
    """shared_sandbox() is process-wide, on the real clock, with tasks of about two seconds."""
    sb = shared_sandbox()
    assert sb is shared_sandbox()
    assert isinstance(sb.clock, RealClock)
    assert sum(sb.config.durations("google/imagen4")) <= 3.0

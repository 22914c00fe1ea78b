"""A real kernel driven over jupyter_client as JupyterLab 4 drives it; the quickstart run headless."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def kernel(project: Path) -> Iterator[Any]:
    """A python3 kernel in the tmp project, offline (KIE_SANDBOX=1), named as JupyterLab would name it."""
    from jupyter_client.manager import start_new_kernel

    env = dict(os.environ)
    env.update(
        KIE_SANDBOX="1",
        KIE_PROJECT_ROOT=str(project),
        JPY_SESSION_NAME=str(project / "story.ipynb"),
    )
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(project), env=env)
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _execute(
    kc: Any, code: str, metadata: dict[str, Any] | None = None, timeout: float = 60
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Send an execute_request (with JupyterLab-style metadata) and collect its reply and iopub messages."""
    msg = kc.session.msg(
        "execute_request",
        {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False},
        metadata=metadata or {},
    )
    kc.shell_channel.send(msg)
    msg_id = msg["header"]["msg_id"]
    reply = kc.get_shell_msg(timeout=timeout)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=timeout)
    messages = []
    while True:
        io = kc.get_iopub_msg(timeout=timeout)
        if io["parent_header"].get("msg_id") != msg_id:
            messages.append(io)  # an update for an earlier cell (--no-wait) arrives under another parent
            continue
        messages.append(io)
        if io["msg_type"] == "status" and io["content"]["execution_state"] == "idle":
            return reply, messages


def _drain(kc: Any, until: Any, seen: list[dict[str, Any]], timeout: float = 30) -> list[dict[str, Any]]:
    import queue
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            seen.append(kc.get_iopub_msg(timeout=0.5))
        if until(seen):
            return seen
    raise AssertionError(f"timed out; got {[m['msg_type'] for m in seen]}")


def test_jupyterlab_execute_request_metadata_reaches_the_manifest(kernel: Any, project: Path) -> None:
    """cellId and the cell's metadata sent with the execute_request are recorded with the image."""
    reply, _ = _execute(kernel, "%load_ext kie_widgets")
    assert reply["content"]["status"] == "ok"
    lab_metadata = {
        "cellId": "3f1c2b9e-lab-cell",
        "deletedCells": [],
        "recordTiming": False,
        "tags": ["scene-4"],
        "kie": {"shot": "establishing"},
    }
    reply, messages = _execute(kernel, "%%kie_image imagen4 --out shot\na harbour at dawn", lab_metadata)
    assert reply["content"]["status"] == "ok", reply["content"]
    manifest = json.loads((project / "assets" / "manifest.json").read_text())
    [entry] = [a for a in manifest["assets"] if a.get("type") == "image"]
    assert entry["scene_id"] == 4
    extra = entry["kie"]
    assert extra["cell_id"] == "3f1c2b9e-lab-cell"
    assert extra["cell_metadata"] == {"tags": ["scene-4"], "kie": {"shot": "establishing"}}
    assert extra["scene_source"] == "cell-tag"
    assert extra["notebook"] == str(project / "story.ipynb")

    first = next(m for m in messages if m["msg_type"] == "display_data")
    status_id = first["content"]["transient"]["display_id"]
    updates = [
        m
        for m in messages
        if m["msg_type"] == "update_display_data" and m["content"]["transient"]["display_id"] == status_id
    ]
    assert updates, "the status line is updated in place"
    images = [m for m in messages if {"image/jpeg", "image/png"} & set(m["content"].get("data", {}))]
    assert images
    assert images[0]["content"]["metadata"]["kie_widgets"]["asset_ids"] == [entry["id"]]


def test_no_wait_fills_in_the_cell_that_asked(kernel: Any) -> None:
    """A --no-wait cell returns at once; its image arrives later as an update of a display it made."""
    _execute(kernel, "%load_ext kie_widgets")
    reply, messages = _execute(
        kernel, "%%kie_image imagen4 --no-wait --out later\na lantern", {"cellId": "a"}
    )
    assert reply["content"]["status"] == "ok"
    made = {
        m["content"]["transient"]["display_id"]
        for m in messages
        if m["msg_type"] == "display_data" and m["content"].get("transient")
    }
    _, meanwhile = _execute(kernel, "x = 1", {"cellId": "b"})  # the user moves on to another cell

    def has_image(seen: list[dict[str, Any]]) -> bool:
        return any(
            m["msg_type"] == "update_display_data" and {"image/jpeg", "image/png"} & set(m["content"]["data"])
            for m in seen
        )

    # "x = 1" displays nothing itself, so every display message from now on is the first cell's.
    displays = [m for m in meanwhile if m["msg_type"] in ("display_data", "update_display_data")]
    later = _drain(kernel, has_image, displays)
    filled = [m for m in later if m["msg_type"] == "update_display_data"]
    assert {m["content"]["transient"]["display_id"] for m in filled} <= made
    assert not [m for m in later if m["msg_type"] == "display_data"], "nothing new lands in another cell"


def _run_notebook(name: str, project: Path) -> Any:
    """Run ``notebooks/<name>`` headless in ``project``; no cell may fail, no inline image be large."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(project)}}
    ).execute()
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", output
            for mime in ("image/png", "image/jpeg"):
                assert len(output.get("data", {}).get(mime, "")) <= 150_000
    return nb


def test_studio_tour_runs_headless_and_leaves_plain_outputs(project: Path) -> None:
    """nbclient runs notebooks/studio.ipynb: the widgets build, their results are also plain outputs."""
    nb = _run_notebook("studio.ipynb", project)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) >= 3  # the Studio, the mask editor, the storyboard
    plain = [
        o["data"]["text/html"] for o in outputs if "data:image/" in o.get("data", {}).get("text/html", "")
    ]
    assert plain, "a notebook opened without a kernel still shows the Studio's results"
    state = json.dumps(nb.metadata["widgets"])
    assert len(state) < 1_500_000  # bounded: tiles and gallery pages are capped, replaced widgets closed
    manifest = json.loads((project / "assets" / "manifest.json").read_text())
    images = [a for a in manifest["assets"] if a.get("type") == "image"]
    assert any(a["kie"].get("kept") for a in images)
    assert {"generate", "upscale", "edit", "composite"} <= {a["kie"]["operation"] for a in images}
    assert {1, 2} <= {a.get("scene_id") for a in images}


def test_quickstart_runs_headless_without_a_key(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """nbclient runs notebooks/quickstart.ipynb top to bottom against the sandbox, and outputs stay small."""
    nb = _run_notebook("quickstart.ipynb", project)
    assert "OFFLINE SANDBOX" in json.dumps(nb)
    manifest = json.loads((project / "assets" / "manifest.json").read_text())
    images = [a for a in manifest["assets"] if a.get("type") == "image"]
    operations = {a["kie"]["operation"] for a in images}
    assert {"generate", "edit", "upscale", "remove-background"} <= operations
    assert any(a["version"] == 2 for a in images)
    assert all("cell_id" not in a["kie"] for a in images)  # plain nbclient sends no cell ids: still works


def test_demo_command_leaves_notebook_images_and_manifest_in_one_folder(tmp_path: Path) -> None:
    """python -m kie_widgets demo --out DIR executes the quickstart and says where everything is."""
    out = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIE_")}
    done = subprocess.run(
        [sys.executable, "-m", "kie_widgets", "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert str(out) in done.stdout
    assert "sandbox" in done.stdout
    executed = json.loads((out / "quickstart.ipynb").read_text())
    assert all(o["output_type"] != "error" for c in executed["cells"] for o in c.get("outputs", []))
    manifest = json.loads((out / "assets" / "manifest.json").read_text())
    images = [a for a in manifest["assets"] if a.get("type") == "image"]
    for entry in images:
        assert (out / entry["filename"]).is_file()
        assert entry["kie"]["notebook"] == str(out / "quickstart.ipynb")
    cell_ids = {c.get("id") for c in executed["cells"]}
    assert all(entry["kie"]["cell_id"] in cell_ids for entry in images)

"""Many processes writing one manifest at once lose nothing, and readers never see a partial file."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

WORKER = r"""
import sys, time
from pathlib import Path
from kie_widgets.assets import Manifest
path, worker, count, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
manifest = Manifest(path, lock_timeout=120)
while not go.exists():
    time.sleep(0.005)
for i in range(count):
    # every fourth entry repeats a prompt, so version chains are built under contention too
    prompt = f"shared prompt {i % 5}" if i % 4 == 0 else f"worker {worker} prompt {i}"
    params = {"size": "1:1", "endpoint": "/api/v1/jobs/createTask"}
    manifest.add_image(f"w{worker}-{i}.png", prompt, "Imagen 4", params, worker, task_id=f"{worker}-{i}")
"""


@pytest.mark.slow
def test_eight_processes_adding_200_each(project: Path) -> None:
    """8 processes x 200 entries: 1,600 entries, unique ids, sound chains, and every read parses."""
    path = project / "assets" / "manifest.json"
    go = project / "go"
    workers, count = 8, 200
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(path), str(n), str(count), str(go)])
        for n in range(workers)
    ]
    reads, failures, sizes = 0, [], set()
    done = threading.Event()

    def reader() -> None:
        nonlocal reads
        while not done.is_set():
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                continue
            try:
                sizes.add(len(json.loads(text)["assets"]))
            except ValueError as exc:
                failures.append(str(exc))
            reads += 1

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.5)  # let the interpreters start, so they begin together
    go.touch()
    try:
        for proc in procs:
            assert proc.wait(timeout=240) == 0
    finally:
        done.set()
        thread.join()
        for proc in procs:
            proc.kill()
    assets = json.loads(path.read_text())["assets"]
    ids = [a["id"] for a in assets]
    assert len(assets) == workers * count
    assert len(set(ids)) == len(ids)
    assert ids == [f"img-{n:03d}" for n in range(1, workers * count + 1)]
    assert {a["kie"]["task_id"] for a in assets} == {f"{w}-{i}" for w in range(workers) for i in range(count)}
    # each shared prompt forms one chain: exactly one head, every other entry superseded exactly once
    for k in range(5):
        chain = [a for a in assets if a["prompt"] == f"shared prompt {k}"]
        assert [a["version"] for a in chain] == list(range(1, len(chain) + 1))
        assert [a.get("superseded_by") for a in chain] == [a["id"] for a in chain[1:]] + [None]
    assert failures == []
    assert reads > 50
    assert len(sizes) > 10  # the reader really saw the file grow while it was being written

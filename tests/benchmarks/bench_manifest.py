"""Benchmark: time to add one manifest entry at 100, 1,000 and 10,000 entries, ours vs the Node snippet.

Run: ``.venv/bin/python tests/benchmarks/bench_manifest.py``. Both writers add entries to the *same*
file in turn. Figures (median milliseconds per added entry):

- ours, in process: ``Manifest.add_image`` from a live kernel (lock, re-read, write, fsync x2, backup);
  "after foreign write" is the same right after the Node snippet changed the file (full re-parse);
- ours, CLI: a fresh ``python -c`` adding one entry (interpreter start + import + add), the fair
  counterpart of the document's ``node -e`` command;
- node: the document's snippet run as ``node -e`` exactly as the document says (no lock, no fsync).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "assets"))
from kie_assets_helpers import NODE_SNIPPET

from kie_widgets.assets import Manifest

SIZES = (100, 1_000, 10_000)
REPEAT = 5
ENDPOINT = "/api/v1/jobs/createTask"
CLI = (
    "import sys; from kie_widgets.assets import Manifest; "
    "Manifest(sys.argv[1]).add_image('assets/images/cli.png', 'cli prompt', 'Imagen 4', "
    "{'size': '1:1', 'endpoint': '/api/v1/jobs/createTask'}, 1)"
)


def _seed(path: Path, n: int) -> None:
    """A manifest with n realistic entries (a third of them with our extras), written directly."""
    assets = []
    for i in range(n):
        entry = {
            "id": f"img-{i + 1:03d}",
            "type": "image",
            "filename": f"assets/images/scene-{i % 40:02d}-img-{i + 1:03d}-v1.png",
            "prompt": f"scene {i % 40}: a red fox crossing a snowy field at dawn, cinematic, shot {i}",
            "model": "Imagen 4",
            "parameters": {"size": "16:9", "endpoint": ENDPOINT},
            "created_at": "2026-11-25T01:02:03.456Z",
            "scene_id": i % 40,
            "version": 1,
        }
        if i % 3 == 0:
            entry["kie"] = {
                "task_id": f"task-{i:08d}",
                "model_id": "google/imagen4",
                "params": {"prompt": entry["prompt"], "aspect_ratio": "16:9", "seed": i},
                "sha256": f"{i:064x}",
                "recipe": f"r1-{i:064x}",
                "width": 1408,
                "height": 768,
            }
        assets.append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"assets": assets}, indent=2))


def _ms(fn: object, repeat: int = REPEAT) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(n: int, node: str | None) -> tuple[float, float, float, float]:
    """(ours in process, ours right after a Node write, ours as a fresh CLI, node -e) in ms at n entries."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "assets" / "manifest.json"
        _seed(path, n)
        manifest = Manifest(path)
        counter = iter(range(10**6))

        def ours() -> None:
            k = next(counter)
            manifest.add_image(
                f"assets/images/o{k}.png", f"ours {k}", "Imagen 4", {"size": "1:1", "endpoint": ENDPOINT}
            )

        def node_add() -> None:
            assert node is not None
            k = next(counter)
            script = NODE_SNIPPET % {
                "filename": json.dumps(f"assets/images/n{k}.png"),
                "prompt": json.dumps(f"node {k}"),
                "model": json.dumps("Imagen 4"),
                "size": json.dumps("1:1"),
                "endpoint": json.dumps(ENDPOINT),
                "scene": "1",
            }
            subprocess.run([node, "-e", script], cwd=root, check=True, capture_output=True)

        def cli() -> None:
            subprocess.run([sys.executable, "-c", CLI, str(path)], check=True, capture_output=True)

        ours()  # warm the serialiser's reuse, as a live kernel would have it
        t_ours = _ms(ours)
        after = []
        if node:
            for _ in range(REPEAT):
                node_add()
                after.append(_ms(ours, 1))
        t_after = statistics.median(after) if after else float("nan")
        t_cli = _ms(cli, 3)
        t_node = _ms(node_add, 3) if node else float("nan")
        return t_ours, t_after, t_cli, t_node


def main() -> None:
    """Print the table."""
    node = shutil.which("node")
    if node is None:
        print("node is not installed: only our figures are printed")
    print(
        f"{'entries':>8} {'ours ms':>9} {'ours after':>11} {'ours CLI':>9} {'node ms':>9} "
        f"{'ours/node':>10} {'CLI/node':>9}"
    )
    print(f"{'':>8} {'(process)':>9} {'foreign wr.':>11} {'(fresh)':>9} {'(node -e)':>9}")
    for n in SIZES:
        t_ours, t_after, t_cli, t_node = measure(n, node)
        print(
            f"{n:>8,} {t_ours:>9.1f} {t_after:>11.1f} {t_cli:>9.1f} {t_node:>9.1f} "
            f"{t_ours / t_node:>10.2f} {t_cli / t_node:>9.2f}"
        )
    if node:
        start = time.perf_counter()
        subprocess.run([node, "-e", ""], check=True)
        took = (time.perf_counter() - start) * 1000
        print(f"(node start-up alone: {took:.0f} ms; ours fsyncs the file and the folder, node does not)")


if __name__ == "__main__":
    main()

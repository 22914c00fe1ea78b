"""Notebook-layer figures, printed in one run (a benchmark, not a test: nothing is asserted).

1. Bytes one inline result adds to a saved notebook, for 1K, 2K and 4K sources, next to what
   ``IPython.display.Image(filename=...)`` adds for the same file.
2. Time of ``%load_ext kie_widgets`` next to ``import ipywidgets``, each in a fresh interpreter
   that already has IPython loaded (median of several runs), and which heavy modules the load pulled in.

Run: ``.venv/bin/python tests/benchmarks/bench_notebook.py``
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

RUNS = 7
SIDES = {"1K": 1024, "2K": 2048, "4K": 4096}


def make_source(path: Path, side: int) -> None:
    """A photo-like PNG (smooth gradients plus grain), which compresses about as badly as real output."""
    from PIL import Image, ImageChops

    ramp = Image.linear_gradient("L").resize((side, side))
    rgb = Image.merge("RGB", (ramp, ramp.rotate(90), ramp.rotate(180)))
    grain = Image.merge("RGB", [Image.effect_noise((side, side), 24 + 4 * i) for i in range(3)])
    ImageChops.blend(rgb, grain, 0.25).save(path, format="PNG")


def saved_bytes(data: dict[str, Any], metadata: dict[str, Any]) -> int:
    """Bytes the output occupies in a saved .ipynb (nbformat's JSON with its indent)."""
    import nbformat

    output = nbformat.v4.new_output("display_data", data=data, metadata=metadata)
    return len(json.dumps(output, indent=1).encode("utf-8"))


def inline_sizes(folder: Path) -> list[tuple[str, int, int, int]]:
    """(label, source bytes, kie_widgets output bytes, IPython Image output bytes) per source size."""
    from IPython.core.formatters import DisplayFormatter
    from IPython.display import Image

    from kie_widgets.notebook.render import Renderer

    formatter = DisplayFormatter()
    renderer = Renderer()
    rows = []
    for label, side in SIDES.items():
        src = folder / f"source-{label}.png"
        make_source(src, side)
        asset = SimpleNamespace(
            id="img-001",
            path=src,
            model="Imagen 4",
            version=1,
            parameters={"size": "1:1", "endpoint": "/api/v1/jobs/createTask"},
            task_id="task-123",
            scene_id=1,
            entry={"kie": {"credits": 4}},
            reused=False,
        )
        data, metadata = renderer.bundle(asset)
        ours = saved_bytes(data, metadata)
        ip_data, ip_meta = formatter.format(Image(filename=str(src)))
        theirs = saved_bytes(ip_data, ip_meta)
        rows.append((label, src.stat().st_size, ours, theirs))
    return rows


_LOAD_EXT = """
import sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
t = time.perf_counter()
shell.run_line_magic("load_ext", "kie_widgets")
dt = time.perf_counter() - t
names = ("httpx", "PIL", "ipywidgets", "kie_widgets.catalog", "kie_widgets.jobs")
heavy = [m for m in names if m in sys.modules]
print(dt, ",".join(heavy))
"""

_IMPORT_IPYWIDGETS = """
import time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
t = time.perf_counter()
import ipywidgets
print(time.perf_counter() - t, "")
"""


def timed(code: str) -> tuple[float, str]:
    """Median seconds over RUNS fresh interpreters, and the heavy modules reported by the last one."""
    times, heavy = [], ""
    for _ in range(RUNS):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        seconds, _, heavy = out.stdout.strip().partition(" ")
        times.append(float(seconds))
    return statistics.median(times), heavy


def main() -> None:
    """Print both tables."""
    with tempfile.TemporaryDirectory() as tmp:
        rows = inline_sizes(Path(tmp))
    print("Bytes one inline image adds to the saved notebook")
    print(f"{'source':<8}{'file bytes':>14}{'kie_widgets':>14}{'IPython Image':>16}{'ratio':>9}")
    for label, src, ours, theirs in rows:
        print(f"{label:<8}{src:>14,}{ours:>14,}{theirs:>16,}{theirs / ours:>8.0f}x")
    print()
    load, heavy = timed(_LOAD_EXT)
    widgets, _ = timed(_IMPORT_IPYWIDGETS)
    print(f"Time, median of {RUNS} fresh interpreters (IPython already imported)")
    print(f"  %load_ext kie_widgets   {load * 1000:8.1f} ms   heavy modules loaded: {heavy or 'none'}")
    print(f"  import ipywidgets       {widgets * 1000:8.1f} ms")


if __name__ == "__main__":
    main()

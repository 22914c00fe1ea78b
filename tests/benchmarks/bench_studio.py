"""Studio figures, printed in one run, each next to a baseline measured in the same run (nothing asserted).

1. First paint of the gallery (a page of thumbnails) over a 10,000-entry manifest, next to a plain
   ``json.load`` of that manifest.
2. A form change until the estimate is updated, next to one bare ``catalog.plan()`` call.
3. Bytes 50 Studio generations add to the saved notebook (plain outputs and widget state), next to
   the same 50 images made with the magic, both executed headless by nbclient against the sandbox.

Run: ``python tests/benchmarks/bench_studio.py`` (about two minutes; part 3 waits for 100 sandbox tasks).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RUNS = 5
ENTRIES = 10_000
IMAGES = 50


def _median(fn: Any, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _project() -> Path:
    root = Path(tempfile.mkdtemp(prefix="kie-bench-studio-"))
    (root / "assets" / "images").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
    os.environ["KIE_PROJECT_ROOT"] = str(root)
    os.environ["KIE_SANDBOX"] = "1"
    os.chdir(root)
    return root


def _big_manifest(root: Path) -> Path:
    """10,000 image entries like a notebook writes, over a few real files (the page needs pixels)."""
    from PIL import Image

    files = []
    for i in range(24):
        name = f"assets/images/bench-{i:02d}.png"
        Image.new("RGB", (1024, 576), (i * 9 % 255, 80, 160)).save(root / name)
        files.append(name)
    entries = []
    for i in range(ENTRIES):
        entries.append(
            {
                "id": f"img-{i + 1:03d}",
                "type": "image",
                "filename": files[i % len(files)],
                "prompt": f"A lighthouse on a rocky coast at dusk, take {i}, warm light, cinematic wide shot",
                "model": ("Imagen 4", "Seedream 4.5", "Flux Kontext Pro")[i % 3],
                "parameters": {"size": "16:9", "endpoint": "/api/v1/jobs/createTask"},
                "created_at": "2026-11-25T01:02:03.456Z",
                "scene_id": i % 40,
                "version": 1,
                "kie": {"task_id": f"{i:032x}", "model_id": "google/imagen4", "batch": f"b{i}", "seed": i},
            }
        )
    path = root / "assets" / "manifest.json"
    path.write_text(json.dumps({"assets": entries}, indent=2))
    return path


def gallery_first_paint(root: Path) -> None:
    from kie_widgets.session import Session
    from kie_widgets.widgets import Gallery

    path = _big_manifest(root)
    baseline = _median(lambda: json.load(path.open()))
    session = Session()

    def paint() -> None:
        Gallery(session).refresh()

    cold_start = time.perf_counter()
    paint()  # thumbnails made and cached, the manifest read for the first time
    cold = time.perf_counter() - cold_start
    warm = _median(paint)
    print(f"1. gallery first page over {ENTRIES:,} entries ({path.stat().st_size / 1e6:.1f} MB manifest)")
    print(f"   json.load of the manifest          {baseline * 1000:8.1f} ms   (baseline)")
    print(f"   first paint, cold (thumbnails made) {cold * 1000:8.1f} ms   ({cold / baseline:.1f}x)")
    print(f"   first paint, warm                   {warm * 1000:8.1f} ms   ({warm / baseline:.1f}x)")


def form_to_estimate() -> None:
    from kie_widgets.catalog import plan
    from kie_widgets.widgets import Studio

    studio = Studio(models=["Imagen 4", "Seedream 4.5"], prompt="a lighthouse")
    bare = _median(lambda: plan("Imagen 4", "a lighthouse at dusk", aspect_ratio="16:9"), runs=20)
    counter = iter(range(10**6))

    def change() -> None:
        studio.form.set(prompt=f"a lighthouse at dusk, take {next(counter)}", aspect_ratio="16:9")
        studio.refresh_estimate()

    changed = _median(change, runs=20)
    print("2. a form change until the estimate shows (two models; the typing debounce itself not counted)")
    print(f"   one bare plan() call                {bare * 1000:8.2f} ms   (baseline)")
    print(f"   form change -> updated estimate     {changed * 1000:8.2f} ms   ({changed / bare:.1f}x)")


def _executed_size(cells: list[str], root: Path, name: str) -> tuple[int, int]:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(root)}}
    ).execute()
    path = root / name
    nbformat.write(nb, path)
    state = len(json.dumps(nb.metadata.get("widgets", {})))
    return path.stat().st_size, state


def notebook_bytes() -> None:
    setup = "import os\nos.environ['KIE_SANDBOX'] = '1'\n%load_ext kie_widgets"
    studio_root, magic_root = _project(), _project()
    base, _ = _executed_size([setup], magic_root, "empty.ipynb")
    studio_cells = [
        setup,
        "import kie_widgets as kw\n"
        "studio = kw.Studio(models=['Imagen 4'], prompt='a red fox in snow')\nstudio",
        f"studio.sweep('seed', list(range(1, {IMAGES + 1}))).result()\nNone",
    ]
    magic_cells = [setup] + [
        f"%%kie_image Imagen 4 --seed {i}\na red fox in snow" for i in range(1, IMAGES + 1)
    ]
    studio_size, studio_state = _executed_size(studio_cells, studio_root, "studio.ipynb")
    magic_size, _ = _executed_size(magic_cells, magic_root, "magic.ipynb")
    print(f"3. bytes {IMAGES} generations add to the saved notebook (over an executed empty one)")
    print(f"   the magic, {IMAGES} cells                {magic_size - base:10,d} B   (baseline)")
    ratio = (studio_size - base) / (magic_size - base)
    print(f"   the Studio, one sweep               {studio_size - base:10,d} B   ({ratio:.2f}x)")
    print(f"     of which widget state             {studio_state:10,d} B")


def main() -> None:
    root = _project()
    gallery_first_paint(root)
    form_to_estimate()
    if "--quick" not in sys.argv:
        notebook_bytes()


if __name__ == "__main__":
    main()

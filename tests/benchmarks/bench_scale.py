"""Benchmark for a long-lived studio: the manifest at 1,000, 10,000 and 50,000 entries, 4K results, waits.

Run from the repo root::

    PYTHONPATH=. python3 tests/benchmarks/bench_scale.py                 # 1k, 10k, 50k (~3 minutes)
    PYTHONPATH=. python3 tests/benchmarks/bench_scale.py --sizes 1000    # one size

Every figure is printed next to a baseline measured in the same run; nothing is asserted. Entries
are what a notebook writes (every extra set, about 1.2 KB each in the file). Baselines:

- add: a plain ``json.load`` + ``json.dump(indent=2)`` rewrite (no lock, no fsync), and the skill
  document's Node snippet (``node -e``);
- first add in a fresh kernel: the same plain rewrite in a fresh interpreter (imports excluded);
- lookups, history, gallery page: re-reading and parsing the file and scanning every entry, which is
  what every lookup did before the index;
- loop stall: the longest heartbeat gap while the loop itself parses and scans the file once, which
  is what ``manifest.find(task_id=...)`` on the loop cost each finished task;
- verify: ``verify(hash_all=True)``, hashing every file as before (files here are 4 KB, so the
  baseline is far cheaper than with real images);
- memory: what ``json.load`` of the file holds;
- 4K PNG: validating (verify + full decode) then thumbnailing (a second full decode), and 16 at once
  with no bound on concurrent decodes;
- waiting: kie's documented polling bands (2-3 s, 5-10 s, 15-30 s), on the in-process sandbox with
  a fake clock.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "assets"))

from kie_assets_helpers import NODE_SNIPPET, Heartbeat, image_bytes, notebook_entry, seed_manifest  # noqa: E402

from kie_widgets.assets import Manifest, verify  # noqa: E402
from kie_widgets.jobs import PollSchedule  # noqa: E402
from kie_widgets.session._history import select_entries  # noqa: E402

NODE = shutil.which("node")
PARAMS = {"size": "16:9", "endpoint": "/api/v1/jobs/createTask"}
KIE_BANDS = PollSchedule(bands=((30.0, 2.0, 3.0), (120.0, 5.0, 10.0), (float("inf"), 15.0, 30.0)))
ROWS: list[tuple[str, str, str, str]] = []  # (size, figure, ours, baseline)


def row(size: str, figure: str, ours: str, baseline: str) -> None:
    """Print one figure and keep it for the summary table."""
    ROWS.append((size, figure, ours, baseline))
    print(f"  {figure:<44} {ours:>14}   baseline {baseline}", flush=True)


def median_s(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time of ``fn`` in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ms(seconds: float) -> str:
    """Seconds as a short millisecond figure."""
    return f"{seconds * 1000:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def scan_find(path: Path, key: str, value: Any) -> list[dict[str, Any]]:
    """A lookup as it was before the index: parse the whole file, compare every entry."""
    entries = json.loads(path.read_text(encoding="utf-8"))["assets"]
    return [e for e in entries if (e.get(key) if key in e else (e.get("kie") or {}).get(key)) == value]


def plain_add(path: Path, k: int) -> None:
    """The plain baseline writer: ``json.load`` + append + ``json.dump(indent=2)``."""
    with open(path, encoding="utf-8") as fh:
        document = json.load(fh)
    document["assets"].append(notebook_entry(10**6 + k))
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(document, fh, indent=2, ensure_ascii=False)


def node_add(root: Path, k: int) -> None:
    """The skill document's snippet, run as the document says."""
    assert NODE is not None
    script = NODE_SNIPPET % {
        "filename": json.dumps(f"assets/images/node-{k}.png"),
        "prompt": json.dumps(f"node {k}"),
        "model": json.dumps("Imagen 4"),
        "size": json.dumps("16:9"),
        "endpoint": json.dumps(PARAMS["endpoint"]),
        "scene": "1",
    }
    subprocess.run([NODE, "-e", script], cwd=root, check=True, capture_output=True)


FRESH_OURS = """
import sys, time
from kie_widgets.assets import Manifest
start = time.perf_counter()
Manifest(sys.argv[1]).add_image("assets/images/fresh.png", "fresh kernel", "Imagen 4",
                                 {"size": "1:1", "endpoint": "/e"}, 1)
print(time.perf_counter() - start)
"""
FRESH_PLAIN = """
import json, os, sys, time
start = time.perf_counter()
with open(sys.argv[1], encoding="utf-8") as fh:
    document = json.load(fh)
document["assets"].append({"id": "img-x", "type": "image", "filename": "fresh.png"})
with open(sys.argv[1], "w", encoding="utf-8") as fh:
    json.dump(document, fh, indent=2, ensure_ascii=False)
    fh.flush(); os.fsync(fh.fileno())
print(time.perf_counter() - start)
"""


def fresh_kernel(script: str, path: Path) -> float:
    """Seconds a fresh interpreter spends in ``script`` (imports excluded), median of 3."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", script, str(path)], check=True, capture_output=True, text=True, env=env
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


# -- the manifest at one size ----------------------------------------------------------------------


def bench_store(n: int, folder: Path) -> None:
    """Add, first add, lookups, history, memory at ``n`` entries."""
    label = f"{n:,}"
    path = folder / "assets" / "manifest.json"
    seed_manifest(path, n)
    size = path.stat().st_size
    print(f"\n{label} entries ({size / 1e6:.1f} MB file)", flush=True)

    manifest = Manifest(path)
    counter = iter(range(10**6))

    def ours_add() -> None:
        k = next(counter)
        manifest.add_image(f"assets/images/o{k}.png", f"ours {k}", "Imagen 4", PARAMS, 1, task_id=f"o{k}")

    ours_add()  # the index is built once per process, as in a live kernel
    t_ours = median_s(ours_add, 7)
    t_plain = median_s(lambda: plain_add(path, next(counter)), 3)
    t_node = median_s(lambda: node_add(folder, next(counter)), 3) if NODE else float("nan")
    row(label, "add one image (live kernel)", ms(t_ours), f"{ms(t_plain)} json rewrite, {ms(t_node)} node -e")
    t_first = fresh_kernel(FRESH_OURS, path)
    t_first_plain = fresh_kernel(FRESH_PLAIN, path)
    row(
        label, "first add in a fresh kernel (imports excl.)", ms(t_first), f"{ms(t_first_plain)} json rewrite"
    )

    entries = manifest.entries
    probe = entries[len(entries) // 2]
    lookups = {
        "task id": (
            "task_id",
            probe["kie"]["task_id"],
            lambda: manifest.find(task_id=probe["kie"]["task_id"]),
        ),
        "asset id": ("id", probe["id"], lambda: manifest.get(probe["id"])),
        "recipe": ("recipe", probe["kie"]["recipe"], lambda: manifest.find_recipe(probe["kie"]["recipe"])),
        "filename": ("filename", probe["filename"], lambda: manifest.find(filename=probe["filename"])),
    }
    del entries
    for what, (key, value, lookup) in lookups.items():
        lookup()
        t_lookup = median_s(lookup, 200)
        t_scan = median_s(lambda key=key, value=value: scan_find(path, key, value), 3)
        row(label, f"lookup by {what} (warm)", ms(t_lookup), f"{ms(t_scan)} parse + scan")

    def plain_history(**kw: Any) -> list[dict[str, Any]]:
        return select_entries(json.loads(path.read_text(encoding="utf-8"))["assets"], **kw)

    select_entries(manifest)
    t_history = median_s(lambda: select_entries(manifest), 20)
    t_history_plain = median_s(plain_history, 3)
    row(label, "history (50 newest, warm)", ms(t_history), f"{ms(t_history_plain)} parse + filter")
    page = {"model": "Imagen 4", "limit": 12}
    t_page = median_s(lambda: select_entries(manifest, **page), 20)  # type: ignore[arg-type]
    t_page_plain = median_s(lambda: plain_history(**page), 3)
    row(label, "gallery first page (12, one model, warm)", ms(t_page), f"{ms(t_page_plain)} parse + filter")

    tracemalloc.start()
    fresh = Manifest(path)
    len(fresh)
    held, _peak = tracemalloc.get_traced_memory()
    del fresh
    tracemalloc.stop()
    tracemalloc.start()
    document = json.loads(path.read_text(encoding="utf-8"))
    plain_held, _peak = tracemalloc.get_traced_memory()
    del document
    tracemalloc.stop()
    size = path.stat().st_size
    row(
        label,
        "memory held for the manifest",
        f"{held / 1e6:.0f} MB {held / size:.2f}x",
        f"{plain_held / 1e6:.0f} MB {plain_held / size:.2f}x json.load",
    )


def bench_verify(n: int, folder: Path) -> None:
    """``verify()`` with nothing changed, against hashing every file."""
    label = f"{n:,}"
    images = folder / "assets" / "images"
    images.mkdir(parents=True)
    assets = []
    for i in range(n):
        data = os.urandom(4096)
        name = f"img-{i + 1:05d}.png"
        (images / name).write_bytes(data)
        entry = notebook_entry(i)
        entry["filename"] = f"assets/images/{name}"
        entry["kie"].update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
        assets.append(entry)
    stamp = time.time() + 1  # entries are written after their files
    for entry in assets:
        entry["created_at"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(stamp))
    path = folder / "assets" / "manifest.json"
    path.write_text(json.dumps({"assets": assets}, indent=2, ensure_ascii=False), encoding="utf-8")
    manifest = Manifest(path)
    len(manifest)
    start = time.perf_counter()
    report = verify(manifest)
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    full = verify(manifest, hash_all=True)
    t_all = time.perf_counter() - start
    state = "ok" if report.ok and full.ok else "PROBLEMS"
    row(label, f"verify(), nothing changed ({state})", ms(t_ours), f"{ms(t_all)} hashing every file")


_SEEDS = iter(range(1, 10**6))


async def _generation(manifest: Manifest, images: int) -> tuple[float, float]:
    """(longest heartbeat gap, wall time) of one ``images``-image generation on the fake-clock sandbox."""
    from kie_widgets.clock import FakeClock
    from kie_widgets.jobs import KieClient
    from kie_widgets.sandbox import Sandbox, SandboxConfig

    clock = FakeClock()
    config = SandboxConfig(api_key="bench", model_seconds={"google/imagen4": 5.0}, seed=next(_SEEDS))
    sandbox = Sandbox(config, clock=clock)  # a new seed: task ids must not repeat across runs
    start = time.perf_counter()
    async with (
        Heartbeat() as beat,
        KieClient(api_key="bench", transport=sandbox.transport, clock=clock, manifest=manifest) as kie,
    ):
        await kie.generate("Imagen 4", f"a fox {time.time()}", n=images)
    took = time.perf_counter() - start
    return beat.longest, took


async def _loop_parse_stall(path: Path) -> float:
    """The longest heartbeat gap while the loop parses and scans the manifest once (the old ``find``)."""
    async with Heartbeat() as beat:
        await asyncio.sleep(0.01)
        scan_find(path, "task_id", "nobody")
        await asyncio.sleep(0.01)
    return beat.longest


def bench_loop(n: int, folder: Path) -> None:
    """Loop stalls and manifest writes of a 4-image generation at ``n`` entries."""
    label = f"{n:,}"
    path = folder / "assets" / "manifest.json"
    seed_manifest(path, n)
    manifest = Manifest(path)
    cold_gap, _ = asyncio.run(_generation(manifest, 4))
    before = manifest.writes
    warm_gap, took = asyncio.run(_generation(manifest, 4))
    writes = manifest.writes - before
    baseline_gap = asyncio.run(_loop_parse_stall(path))
    row(
        label,
        "longest loop stall, 4 images, first use",
        ms(cold_gap),
        f"{ms(baseline_gap)} per find on the loop",
    )
    row(label, "longest loop stall, 4 images, warm", ms(warm_gap), f"{ms(baseline_gap)} per find on the loop")
    empty = Manifest(folder / "empty" / "assets" / "manifest.json")
    asyncio.run(_generation(empty, 4))
    _gap, took_empty = asyncio.run(_generation(empty, 4))
    row(
        label,
        "4-image generation, wall time (fake clock)",
        ms(took),
        f"{ms(took_empty)} with an empty manifest",
    )
    row(label, "manifest writes for the 4 images", str(writes), "4 (one per image)")


GALLERY_CHILD = """
import json, os, statistics, sys, time
sys.path.insert(0, sys.argv[2])
os.environ["KIE_SANDBOX"] = "1"
os.chdir(sys.argv[1])
from kie_widgets.session import Session, _session
from kie_widgets.session._history import select_entries
from kie_widgets.widgets._gallery import Gallery

def timed(gallery):
    gallery.refresh()  # warm: the index (or the OS file cache) is in place
    times = []
    for _ in range(3):
        start = time.perf_counter()
        gallery.refresh()
        times.append(time.perf_counter() - start)
    return statistics.median(times)

session = Session()
ours = timed(Gallery(session))
def plain(self, offset=0, limit=12, kept_only=False, **kw):
    # The baseline: parse the whole file and filter every entry, then cut the page.
    entries = json.loads(self.manifest.path.read_text(encoding="utf-8"))["assets"]
    found = select_entries(entries, limit=None, **kw)[::-1]
    return found[offset : offset + limit], len(found)

_session.Session.history_page = plain
print(ours, timed(Gallery(session)))
"""


def bench_gallery(n: int, folder: Path) -> None:
    """The Studio gallery's refresh (its first page drawn), through the session."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
    seed_manifest(folder / "assets" / "manifest.json", n)
    out = subprocess.run(
        [sys.executable, "-c", GALLERY_CHILD, str(folder), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    ours, plain = (float(v) for v in out.stdout.split())
    row(f"{n:,}", "Studio gallery refresh, first page (warm)", ms(ours), f"{ms(plain)} parse + filter")


# -- independent of the manifest's size ------------------------------------------------------------


PNG_CHILD = """
import asyncio, sys, threading
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from kie_widgets.assets import images
from kie_widgets.assets.thumbs import _render
source = Path(sys.argv[1]).read_bytes()
folder = Path(sys.argv[4])

async def chunks():
    for start in range(0, len(source), 65536):
        yield source[start : start + 65536]

async def ours():
    return await images.save_image_stream(chunks(), folder=folder, max_bytes=1 << 30, preview_side=512)

async def before():
    # Validation (verify + full decode) with no bound, then the thumbnail's own full decode.
    saved = await images.save_image_stream(chunks(), folder=folder, max_bytes=1 << 30)
    await asyncio.to_thread(_render, saved.temp_path, 512, None)
    return saved

def status_kb(field):
    # VmHWM, not ru_maxrss: the latter keeps the peak of the parent that forked this process.
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])

async def main():
    if sys.argv[2] == "before":
        images.DECODE_SLOTS = threading.BoundedSemaphore(16)
        images._decode_pool = __import__("concurrent.futures").futures.ThreadPoolExecutor(16)
    start = status_kb("VmRSS")  # now, not the peak so far: importing may peak higher than what follows
    work = ours if sys.argv[2] == "ours" else before
    await asyncio.gather(*(work() for _ in range(16)))
    print((status_kb("VmHWM") - start) / 1024)

asyncio.run(main())
"""


def bench_images(folder: Path) -> None:
    """A 4K PNG validated and thumbnailed; peak memory of 16 at once."""
    from kie_widgets.assets.images import validate_image_file, validate_with_preview
    from kie_widgets.assets.thumbs import _render

    print("\n4K results", flush=True)
    path = folder / "4k.png"
    path.write_bytes(image_bytes("PNG", (3840, 2160), noise=True, compress_level=6))
    t_ours = median_s(lambda: validate_with_preview(path, preview_side=512), 3)
    t_before = median_s(lambda: (validate_image_file(path), _render(path, 512, None)), 3)
    row("4K", "PNG validated + thumbnailed", ms(t_ours), f"{ms(t_before)} two decodes")
    peaks = {}
    for variant in ("ours", "before"):
        out = subprocess.run(
            [sys.executable, "-c", PNG_CHILD, str(path), variant, str(ROOT), str(folder / variant)],
            check=True,
            capture_output=True,
            text=True,
        )
        peaks[variant] = float(out.stdout.strip())
    row(
        "4K",
        "peak memory, 16 results at once",
        f"{peaks['ours']:.0f} MB",
        f"{peaks['before']:.0f} MB unbounded",
    )


async def _wait_lag(seconds: float, schedule: PollSchedule, learn: bool, folder: Path) -> tuple[float, int]:
    """(lag between kie finishing and the client noticing, status reads) for one ``seconds`` task."""
    from kie_widgets.clock import FakeClock
    from kie_widgets.jobs import KieClient
    from kie_widgets.sandbox import Sandbox, SandboxConfig

    clock = FakeClock()
    sandbox = Sandbox(SandboxConfig(api_key="bench", model_seconds={"google/imagen4": seconds}), clock=clock)
    manifest = Manifest(folder / f"wait-{seconds:g}-{learn}-{id(schedule)}" / "assets" / "manifest.json")
    async with KieClient(
        api_key="bench", transport=sandbox.transport, clock=clock, manifest=manifest, schedule=schedule
    ) as kie:
        if learn:
            await kie.generate("Imagen 4", "an earlier task", timeout=seconds + 600)
        reads: list[float] = []
        created: list[float] = []
        status, create = kie.api.status, kie.api.create

        async def spy_create(*args: Any, **kwargs: Any) -> str:
            task_id = await create(*args, **kwargs)
            created.append(clock.monotonic())
            return task_id

        async def spy_status(family: str, task_id: str) -> Any:
            reads.append(clock.monotonic())
            return await status(family, task_id)

        kie.api.create, kie.api.status = spy_create, spy_status  # type: ignore[method-assign]
        await kie.generate("Imagen 4", "the measured task", timeout=seconds + 600)
    return reads[-1] - (created[0] + seconds), len(reads)


def bench_waiting(folder: Path) -> None:
    """Noticing a finished task: lag and reads, ours (first and learned) against kie's bands."""
    print("\nwaiting (in-process sandbox, fake clock)", flush=True)
    for seconds in (5.0, 15.0, 30.0, 60.0, 120.0):
        limit = max(0.5, 0.1 * seconds)
        lag_first, reads_first = asyncio.run(_wait_lag(seconds, PollSchedule(), False, folder))
        lag_learned, reads_learned = asyncio.run(_wait_lag(seconds, PollSchedule(), True, folder))
        lag_bands, reads_bands = asyncio.run(_wait_lag(seconds, KIE_BANDS, False, folder))
        row(
            f"{seconds:g} s",
            f"lag, reads (goal <= {limit:.1f} s)",
            f"{lag_first:.2f}/{lag_learned:.2f} s {reads_first}/{reads_learned}",
            f"{lag_bands:.2f} s {reads_bands} reads (kie bands)",
        )
    _fewest, hi = PollSchedule().reads_within(1.0)
    print(f"  (a task is read at most {hi} times per second; kie allows about 10 per second per key)")


def bench_journal(folder: Path, tasks: int = 200) -> None:
    """Journal records left after ``tasks`` collected tasks."""
    manifest = Manifest(folder / "journal" / "assets" / "manifest.json")
    job = {"family": "market", "model_id": "google/imagen4", "model": "Imagen 4", "endpoint": "/e"}
    for k in range(tasks):
        manifest.journal_submit(f"t{k}", body={}, **job)
        entry = manifest.add_image(f"{k}.png", f"p{k}", "Imagen 4", PARAMS, task_id=f"t{k}")
        manifest.journal_complete(f"t{k}", [entry["id"]], seconds=5.0)
    row(
        "journal",
        f"records after {tasks} collected tasks",
        str(len(manifest.journal())),
        f"{tasks} (kept forever)",
    )


def main() -> None:
    """Run every measurement and print the summary table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for n in sizes:
            bench_store(n, base / f"store-{n}")
            bench_loop(n, base / f"loop-{n}")
            bench_gallery(n, base / f"gallery-{n}")
            bench_verify(n, base / f"verify-{n}")
            shutil.rmtree(base / f"verify-{n}")
        bench_images(base)
        bench_waiting(base)
        bench_journal(base)
    print("\n| size | figure | ours | baseline (same run) |\n|---|---|---|---|")
    for size, figure, ours, baseline in ROWS:
        print(f"| {size} | {figure} | {ours} | {baseline} |")


if __name__ == "__main__":
    main()

"""Benchmark of the async client against the sandbox as a real server; prints figures, asserts nothing.

Run from the repo root::

    .venv/bin/python tests/benchmarks/bench_client.py            # all four measurements (~2 minutes)
    .venv/bin/python tests/benchmarks/bench_client.py --quick    # smaller counts

It starts ``python -m kie_widgets.sandbox`` on a free loopback port for each measurement and reports:

1. the client's overhead per task over the sandbox's own task duration (target: under 2% of the
   task or 50 ms, whichever is larger). Overhead is the wall time of one ``generate`` minus the
   task's own duration on the server minus the polling lag (the time between the task finishing
   and the status read that saw it, which the polling schedule decides, not the client's code);
   the polling lag is printed on its own line;
2. the achieved create rate for 100 tasks against kie's 20-per-10-s limit (target: at least 95% of
   the limit, and no 429 reaching the caller);
3. status reads per task against the documented schedule (``PollSchedule.reads_within``), for the
   tasks above and for 30-s, 2-min and 10-min tasks run on the in-process sandbox with a fake clock;
4. peak memory (RSS of a fresh child process) for 200 concurrent tasks downloading 8 MB images
   (target: under 300 MB; downloads stream to disk).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kie_widgets.assets import Manifest  # noqa: E402
from kie_widgets.errors import KieBatchError  # noqa: E402
from kie_widgets.jobs import KieClient, PollSchedule  # noqa: E402

# One key per measurement: kie's create limit is per key, and creates of an earlier measurement
# still inside the 10-s window would (rightly) hold back the next one's first burst.
KEYS = {"overhead": "bench-key-overhead", "rate": "bench-key-rate", "memory": "bench-key-memory"}
MODEL = "Imagen 4"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``python -m kie_widgets.sandbox`` as a child process on a free loopback port."""

    def __init__(self, key: str, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "kie_widgets.sandbox", "--port", str(self.port), "--api-key", key, *args]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sandbox server exited: {self.proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sandbox server did not start")

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class Probe:
    """Spies on one client's wire calls: create times, status reads per task, completion times."""

    def __init__(self, kie: KieClient) -> None:
        self.created: dict[str, float] = {}
        self.reads: dict[str, int] = defaultdict(int)
        self.success_seen: dict[str, float] = {}
        self.completed_on_server: dict[str, tuple[float, float]] = {}
        self.collected: dict[str, float] = {}
        self.rate_limited = 0
        #: seconds from asking for a result file to its first byte (the server renders it then)
        self.first_byte: list[float] = []
        self.create_rtt: list[float] = []
        api = kie.api
        create, status, collect, stream = api.create, api.status, kie._collect, api.stream

        async def spy_create(*args: Any, **kwargs: Any) -> str:
            t0 = time.time()
            task_id = await create(*args, **kwargs)
            self.created[task_id] = time.time()
            self.create_rtt.append(self.created[task_id] - t0)
            return task_id

        @contextlib.asynccontextmanager
        async def spy_stream(url: str, **kwargs: Any) -> AsyncIterator[Any]:
            t0 = time.time()
            async with stream(url, **kwargs) as chunks:
                self.first_byte.append(time.time() - t0)
                yield chunks

        async def spy_status(family: str, task_id: str) -> Any:
            result = await status(family, task_id)
            self.reads[task_id] += 1
            if result.state == "success" and task_id not in self.success_seen:
                self.success_seen[task_id] = time.time()
                if result.created_at and result.completed_at:
                    self.completed_on_server[task_id] = (result.created_at, result.completed_at)
            return result

        async def spy_collect(job: Any, status_: Any, *rest: Any) -> Any:
            out = await collect(job, status_, *rest)
            self.collected[job.task_id] = time.time()
            return out

        async def count_429(response: Any) -> None:
            if response.request.url.path.endswith(("/createTask", "/generate")):
                await response.aread()
                try:
                    code = json.loads(response.content).get("code")
                except ValueError:
                    code = None
                if response.status_code == 429 or code == 429:
                    self.rate_limited += 1

        api.create, api.status, kie._collect = spy_create, spy_status, spy_collect  # type: ignore[method-assign, assignment]
        api.stream = spy_stream  # type: ignore[method-assign]
        api._client.event_hooks["response"].append(count_429)


def client(url: str, key: str, folder: Path, **kwargs: Any) -> KieClient:
    """A client for the server at ``url`` recording into ``folder``."""
    return KieClient(
        api_key=key,
        base_url=url,
        upload_url=url,
        manifest=Manifest(folder / "assets" / "manifest.json"),
        **kwargs,
    )


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def bench_overhead(tasks: int, folder: Path) -> dict[str, Any]:
    """Sequential tasks of about 5 s each: wall time minus server duration minus polling lag."""
    with Server(KEYS["overhead"], "--durations", "0.5,0.5,4.0", "--invisible", "0.3") as server:
        async with client(server.url, KEYS["overhead"], folder / "overhead") as kie:
            # The first task of a process pays for imports (Pillow, the catalog): not per-task overhead.
            await kie.generate(MODEL, "warm-up", timeout=120)
            probe = Probe(kie)
            rows = []
            for i in range(tasks):
                probe.first_byte.clear()
                start = time.time()
                assets = await kie.generate(MODEL, f"overhead probe {i}", timeout=120)
                end = time.time()
                task_id = str(assets[0].task_id)
                created, completed = probe.completed_on_server[task_id]
                duration = completed - created
                lag = probe.success_seen[task_id] - completed
                # The server draws and encodes the placeholder when the file is first asked for:
                # its time to first byte is the server's work, not the client's.
                render = sum(probe.first_byte)
                overhead = (end - start) - duration - lag - render
                life = probe.success_seen[task_id] - created
                rows.append(
                    (duration, lag, overhead, probe.reads[task_id], life, render, probe.create_rtt[-1])
                )
    return {"rows": rows}


async def bench_create_rate(tasks: int, folder: Path) -> dict[str, Any]:
    """``tasks`` creates at once against a 20-per-10-s server limit."""
    with Server(
        KEYS["rate"],
        "--durations",
        "0.2,0.2,1.0",
        "--invisible",
        "0.2",
        "--rate-limit",
        "20/10",
        "--credits",
        "1e6",
    ) as server:
        async with client(server.url, KEYS["rate"], folder / "rate") as kie:
            probe = Probe(kie)
            t0 = time.time()
            error: BaseException | None = None
            try:
                assets = await kie.generate(MODEL, "rate probe", n=tasks, timeout=600)
            except Exception as exc:  # reported below: a 429 reaching the caller is a finding
                assets, error = getattr(exc, "assets", []), exc
            elapsed = time.time() - t0
    times = sorted(probe.created.values())
    return {
        "assets": len(assets),
        "error": error,
        "times": times,
        "elapsed": elapsed,
        "rate_limited": probe.rate_limited,
        "reads": [probe.reads[t] for t in probe.created],
        "lifetimes": [
            probe.success_seen[t] - probe.created[t] for t in probe.created if t in probe.success_seen
        ],
    }


async def memory_child(url: str, folder: str, tasks: int) -> None:
    """In a fresh process: ``tasks`` concurrent generations of 8 MB images; prints peak RSS as JSON."""
    from kie_widgets.client import KieAPI, RateLimiter
    from kie_widgets.config import load_settings

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    settings = load_settings(api_key=KEYS["memory"], base_url=url, upload_url=url, project_root=folder)
    # The server runs without a create limit here; the limiter still keeps 8 creates on the wire at most.
    limiter = RateLimiter(creates=10_000, create_period=1.0, reads=10_000, read_period=1.0)
    api = KieAPI(settings, limiter=limiter)
    fast = PollSchedule(bands=((float("inf"), 0.5, 1.0),))
    kie = KieClient(
        settings=settings,
        api=api,
        manifest=Manifest(Path(folder) / "assets" / "manifest.json"),
        schedule=fast,
    )
    async with kie:
        t0 = time.time()
        errors: list[str] = []
        try:
            assets = await kie.generate(MODEL, "memory probe", n=tasks, timeout=900)
        except KieBatchError as exc:  # reported: the successes are what the memory figure is about
            assets, errors = exc.assets, [f"{type(e).__name__}: {e}" for e in exc.errors]
        elapsed = time.time() - t0
    sizes = [a.path.stat().st_size for a in assets]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "baseline_kb": base,
                "peak_kb": peak,
                "assets": len(assets),
                "bytes": sum(sizes),
                "elapsed": elapsed,
                "errors": errors,
            }
        )
    )


def bench_memory(tasks: int, image_bytes: int, folder: Path) -> dict[str, Any]:
    """Run ``memory_child`` in a fresh interpreter against a server serving ``image_bytes`` files."""
    target = folder / "memory"
    target.mkdir()
    with Server(
        KEYS["memory"],
        "--credits",
        "1e6",
        "--durations",
        "0.2,0.2,1.0",
        "--invisible",
        "0.2",
        "--rate-limit",
        "off",
        "--image-bytes",
        str(image_bytes),
    ) as server:
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", server.url, str(target), str(tasks)],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
    if out.returncode != 0:
        raise RuntimeError(f"memory child failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    shutil.rmtree(target, ignore_errors=True)
    return result


def report_overhead(over: dict[str, Any]) -> None:
    print(f"1. overhead per task ({len(over['rows'])} sequential ~5 s tasks on the server, after a warm-up)")
    print("   overhead = wall time - task duration on the server - polling lag - file first byte")
    for duration, lag, overhead, reads, _, render, rtt in over["rows"]:
        target = max(0.02 * duration, 0.05)
        verdict = "ok" if overhead <= target else "OVER"
        print(
            f"   task {duration:5.2f} s  polling lag {fmt_ms(lag):>10}  first byte {fmt_ms(render):>9}"
            f"  create {fmt_ms(rtt):>8}  client overhead {fmt_ms(overhead):>9}"
            f"  ({overhead / duration:5.2%}; target {fmt_ms(target)}) {verdict}  reads {reads}"
        )
    overheads = [r[2] for r in over["rows"]]
    print(
        f"   mean overhead {fmt_ms(statistics.mean(overheads))}, max {fmt_ms(max(overheads))}; "
        f"mean polling lag {fmt_ms(statistics.mean(r[1] for r in over['rows']))}\n"
    )


def report_rate(rate: dict[str, Any], n_rate: int) -> None:
    times = rate["times"]
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    limit_rate = 20 / 10.0
    achieved = (len(times) - 20) / span if span > 0 else float("nan")
    print(f"2. create rate ({n_rate} tasks at once, server limit 20 per 10 s)")
    print(
        f"   {len(times)} created in {span:.2f} s after the first burst of 20: "
        f"{achieved:.3f} creates/s = {achieved / limit_rate:.1%} of the limit (target >= 95%)"
    )
    windows = [times[i : i + 20] for i in range(0, len(times), 20)]
    spans = ", ".join(f"{w[0] - times[0]:.2f}–{w[-1] - times[0]:.2f}" for w in windows)
    print(f"   each window's creates answered at (s): {spans} (ideal 0, 10, 20, ...)")
    error = rate["error"]
    errors = getattr(error, "errors", [error] if error else [])
    kinds = ", ".join(f"{k} x{v}" for k, v in Counter(type(e).__name__ for e in errors).items()) or "none"
    print(
        f"   429 answers from the server: {rate['rate_limited']}; errors reaching the caller: {kinds};"
        f" images recorded: {rate['assets']}"
    )
    if errors:
        print(f"   first error: {errors[0]}")
    print()


async def reads_for_long_tasks(durations: list[float], folder: Path) -> list[tuple[float, int]]:
    """Status reads of tasks lasting ``durations`` s, on a fake clock (the in-process sandbox)."""
    from kie_widgets.clock import FakeClock
    from kie_widgets.sandbox import Sandbox, SandboxConfig

    out = []
    for seconds in durations:
        clock = FakeClock()
        sandbox = Sandbox(
            SandboxConfig(api_key="bench", model_seconds={"google/imagen4": seconds}), clock=clock
        )
        manifest = Manifest(folder / f"long-{seconds:g}" / "assets" / "manifest.json")
        async with KieClient(
            api_key="bench", transport=sandbox.transport, clock=clock, manifest=manifest
        ) as kie:
            await kie.generate(MODEL, "a long task", timeout=seconds + 600)
        out.append((seconds, sum(1 for r in sandbox.requests if r.path.endswith("/recordInfo"))))
    return out


def report_reads(runs: list[tuple[str, list[int], list[float]]], long: list[tuple[float, int]]) -> None:
    schedule = PollSchedule()
    print("3. status reads per task against the documented schedule")
    for label, reads, lifetimes in runs:
        fewest_most = [schedule.reads_within(life) for life in lifetimes]
        within = sum(1 for n, (lo, hi) in zip(reads, fewest_most, strict=True) if lo <= n <= hi + 1)
        print(
            f"   {label}: reads per task min {min(reads)}, mean {statistics.mean(reads):.2f},"
            f" max {max(reads)};"
            f" task lifetimes {min(lifetimes):.1f}–{max(lifetimes):.1f} s;"
            f" {within}/{len(reads)} within the schedule's range (+1 for the read that sees success)"
        )
    for seconds, count in long:
        lo, hi = schedule.reads_within(seconds)
        verdict = "within" if lo <= count <= hi + 1 else "OUTSIDE"
        print(
            f"   a {seconds:g}-s task (fake clock): {count} reads; schedule allows {lo}–{hi + 1}: {verdict}"
        )
    print(
        f"   schedule: {schedule.reads_within(30)} reads in 30 s, {schedule.reads_within(120)} in 2 min, "
        f"{schedule.reads_within(600)} in 10 min (fewest, most)\n"
    )


def report(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="kie-bench-") as tmp:
        folder = Path(tmp)
        print(f"kie_widgets client benchmark (python {sys.version.split()[0]}, {os.cpu_count()} cores)\n")
        runs: list[tuple[str, list[int], list[float]]] = []
        if "1" in args.only or "3" in args.only:
            over = asyncio.run(bench_overhead(3 if args.quick else 6, folder))
            report_overhead(over)
            runs.append(("overhead run", [r[3] for r in over["rows"]], [r[4] for r in over["rows"]]))
        if "2" in args.only or "3" in args.only:
            n_rate = 40 if args.quick else 100
            rate = asyncio.run(bench_create_rate(n_rate, folder))
            report_rate(rate, n_rate)
            runs.append(("rate run", rate["reads"], rate["lifetimes"]))
        if "3" in args.only:
            long = asyncio.run(reads_for_long_tasks([30.0, 120.0, 600.0], folder))
            report_reads(runs, long)
        if "4" in args.only:
            n_mem = 50 if args.quick else 200
            mem = bench_memory(n_mem, 8 * 1024 * 1024, folder)
            peak_mb = mem["peak_kb"] / 1024
            print(f"4. memory: {n_mem} concurrent tasks downloading 8 MB images")
            print(
                f"   {mem['assets']} images, {mem['bytes'] / 2**20:.0f} MB written"
                f" in {mem['elapsed']:.1f} s; "
                f"peak RSS {peak_mb:.0f} MB (baseline {mem['baseline_kb'] / 1024:.0f} MB; target < 300 MB) "
                f"{'ok' if peak_mb < 300 else 'OVER'}"
            )
            if mem["errors"]:
                kinds = Counter(e.split(":")[0] for e in mem["errors"])
                print(
                    f"   {len(mem['errors'])} request(s) failed: {dict(kinds)};"
                    f" first: {mem['errors'][0][:300]}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts, for a smoke run")
    parser.add_argument(
        "--only", default="1234", help="which measurements to run, e.g. --only 14 (default: all four)"
    )
    parser.add_argument("--memory-child", nargs=3, metavar=("URL", "FOLDER", "TASKS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        url, folder, tasks = args.memory_child
        asyncio.run(memory_child(url, folder, int(tasks)))
        return
    report(args)


if __name__ == "__main__":
    main()

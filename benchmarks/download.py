"""Our downloader against curl, on the same file from the simulator over loopback, in the same run.

Prints the median throughput of each, their ratio (target ≥ 0.5), the peak memory of a 50 MB and a 200 MB
download (must not grow with the file size) and the worst event-loop stall during our download (< 16 ms).

    python benchmarks/download.py [--size-mb 200] [--repeats 5]

The simulator runs in its own process (``kling-studio simulate``), so the server never competes with the
client for the GIL. Our timing includes the fsync and the atomic rename the app does; curl's does not fsync,
so the script also prints the fsync-free ratio for reference.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from kling_studio.services.downloads import download

MB = 1_000_000


@contextmanager
def simulator_process(work_dir: Path) -> Iterator[str]:
    """``kling-studio simulate`` in a child process; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kling_studio", "simulate", "--port", "0", "--work-dir", str(work_dir)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if " on http" not in line:
            raise RuntimeError(f"the simulator did not start: {line!r}")
        yield line.split(" on ", 1)[1].split()[0]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def rss_bytes() -> int:
    """Resident set size of this process now (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


async def our_download(url: str, dest: Path, size: int) -> dict[str, float]:
    """One download with a 1 ms ticker measuring event-loop lateness and sampling RSS.

    ``stall`` is the wall-clock lateness, which on a busy machine includes time the OS gave the CPU to
    other processes; ``held`` counts only the loop thread's own CPU time in the late interval, i.e. how
    long code running on the loop kept the ticker waiting.
    """
    stall = held = 0.0
    rss_peak = rss_before = rss_bytes()
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal stall, held, rss_peak
        period = 0.001
        while not done.is_set():
            before, cpu_before = time.perf_counter(), time.thread_time()
            await asyncio.sleep(period)
            late = time.perf_counter() - before - period
            stall = max(stall, late)
            held = max(held, min(late, time.thread_time() - cpu_before))
            rss_peak = max(rss_peak, rss_bytes())

    async with httpx.AsyncClient(timeout=60) as http:
        tick = asyncio.create_task(ticker())
        start = time.perf_counter()
        await download(http, url, dest, expected_size=size)
        seconds = time.perf_counter() - start
        done.set()
        await tick
    return {"seconds": seconds, "stall": stall, "held": held, "rss_delta": rss_peak - rss_before}


async def idle_stall(seconds: float) -> float:
    """The worst lateness of the same ticker with no download running: the machine's own noise."""
    stall = 0.0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        before = time.perf_counter()
        await asyncio.sleep(0.001)
        stall = max(stall, time.perf_counter() - before - 0.001)
    return stall


def curl_download(url: str, dest: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["curl", "-s", "-o", str(dest), url], check=True)
    return time.perf_counter() - start


def fsync_file(path: Path) -> float:
    start = time.perf_counter()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - start


def peak_traced(url: str, dest: Path, size: int) -> int:
    """Peak Python allocations (tracemalloc) during one download."""
    tracemalloc.start()
    try:
        asyncio.run(download_quiet(url, dest, size))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def download_quiet(url: str, dest: Path, size: int) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        await download(http, url, dest, expected_size=size)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--small-mb", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("curl") is None:
        print("curl is not installed; it is the baseline.", file=sys.stderr)
        return 2
    size, small = args.size_mb * MB, args.small_mb * MB
    work = Path(tempfile.mkdtemp(prefix="kling-bench-"))
    out = work / "out"
    out.mkdir()
    try:
        with simulator_process(work / "sim") as base:
            url, small_url = f"{base}/files/_blob/{size}", f"{base}/files/_blob/{small}"
            for warm in (url, small_url):  # the simulator writes each blob on first request
                curl_download(warm, out / "warm")
            # The first request of a process imports httpx's asyncio backend (~50 ms on the loop, once);
            # in the app that happens at the first fal call, long before any download.
            asyncio.run(download_quiet(f"{base}/files/_blob/{MB}", out / "warm", MB))
            curl_s, ours_s, stalls, helds, idle = [], [], [], [], []
            for i in range(args.repeats):
                target = out / f"curl-{i}.bin"
                curl_s.append(curl_download(url, target))
                target.unlink()
                dest = out / f"ours-{i}.bin"
                run = asyncio.run(our_download(url, dest, size))
                assert dest.stat().st_size == size, "our download has the wrong size"
                dest.unlink()
                ours_s.append(run["seconds"])
                stalls.append(run["stall"])
                helds.append(run["held"])
                idle.append(asyncio.run(idle_stall(run["seconds"])))
            # fsync-free reference: curl's time plus an fsync of what it wrote is the like-for-like baseline.
            synced = []
            for i in range(args.repeats):
                target = out / f"curl-sync-{i}.bin"
                synced.append(curl_download(url, target) + fsync_file(target))
                target.unlink()
            mem = {}
            for label, mb, u in (("small", small, small_url), ("large", size, url)):
                dest = out / f"mem-{label}.bin"
                rss = asyncio.run(our_download(u, dest, mb))["rss_delta"]
                dest.unlink()
                traced = peak_traced(u, dest, mb)
                dest.unlink()
                mem[label] = (mb, traced, rss)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def mbps(seconds: list[float], pick: Callable[[list[float]], float] = statistics.median) -> float:
        return size / pick(seconds) / MB

    curl_rate, ours_rate, synced_rate = mbps(curl_s), mbps(ours_s), mbps(synced)
    print(f"file: {args.size_mb} MB over loopback, {args.repeats} repeats; load average {os.getloadavg()[0]:.1f}")
    print("                       median     best")
    for label, runs in (("curl -s -o", curl_s), ("curl + fsync", synced), ("ours (fsync, rename)", ours_s)):
        print(f"{label:20s} {mbps(runs):7.0f} {mbps(runs, min):8.0f} MB/s")
    print(
        f"ratio ours/curl      {ours_rate / curl_rate:7.2f} {mbps(ours_s, min) / mbps(curl_s, min):8.2f}"
        "   (target >= 0.5)"
    )
    print(f"ratio ours/curl+sync {ours_rate / synced_rate:7.2f} {mbps(ours_s, min) / mbps(synced, min):8.2f}")
    print(
        f"worst event-loop stall during our download: {max(stalls) * 1000:.1f} ms (target < 16 ms); "
        f"median over runs {statistics.median(stalls) * 1000:.1f} ms; an idle loop on this machine, same "
        f"duration: worst {max(idle) * 1000:.1f} ms"
    )
    print(f"longest the loop was held by code running on it (CPU time): {max(helds) * 1000:.1f} ms")
    for label in ("small", "large"):
        mb, traced, rss = mem[label]
        print(f"peak memory, {mb // MB:4d} MB file: tracemalloc {traced / MB:6.2f} MB, RSS growth {rss / MB:6.2f} MB")
    ok = ours_rate / curl_rate >= 0.5 and max(helds) < 0.016
    print("PASS" if ok else "BELOW TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""The whole benchmark suite: every benchmark in its own process, one table of results with same-run baselines.

    python benchmarks/run.py            # the full suite (< 10 min on 2 cores)
    python benchmarks/run.py --quick    # every benchmark once, small sizes (CI smoke, < 2 min)
    python benchmarks/run.py --only startup,cost_meter --output table.md

Each benchmark runs as a child process (a fresh interpreter, its own QApplication, its peak RSS measured).
The suite's own scripts (``event_loop``, ``cost_meter``, ``status_traffic``) print their rows with
``--json``; the other scripts (``startup``, ``download``, ``playback``, ``queue_panel``) are run as their
authors wrote them and their printed figures are read by the adapters below — if one changes its wording,
its row says ERROR rather than making a number up.

Exit status: 0 when every target passes, 1 when one fails or a benchmark breaks.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Result, Target, format_table, load_average, parse_results

HERE = Path(__file__).resolve().parent

# Runs a benchmark script as ``__main__`` and, however it ends, prints the process's peak RSS.
_WRAP = r"""
import resource, runpy, sys
script = sys.argv[1]
sys.argv = sys.argv[1:]
try:
    runpy.run_path(script, run_name="__main__")
finally:
    print("PEAK_RSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)
"""


class AdapterError(Exception):
    """A benchmark's output did not contain a figure its adapter needs."""


def _find(pattern: str, text: str, what: str) -> re.Match[str]:
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        raise AdapterError(f"no {what} in its output")
    return match


def _floats(match: re.Match[str], *groups: str) -> list[float]:
    return [float(match.group(g)) for g in groups]


def startup_rows(out: str, _rss_mb: float) -> list[Result]:
    """benchmarks/startup.py: medians with min/max per variant."""
    pattern = r"^{name}\s+median\s+(?P<med>[\d.]+) ms \(min (?P<lo>[\d.]+), max (?P<hi>[\d.]+), n=(?P<n>\d+)\)"

    def variant(name: str) -> tuple[float, tuple[float, float], int]:
        m = _find(pattern.format(name=re.escape(name)), out, f"'{name}' line")
        med, lo, hi = _floats(m, "med", "lo", "hi")
        return med, (lo, hi), int(m.group("n"))

    bare, bare_spread, _ = variant("bare PySide6 window")
    rows = []
    for name, label, target in (
        ("studio, first paint", "startup: first painted window", Target("ratio_max", 1.5)),
        ("kling-studio command", "startup: `kling-studio` command, first paint", Target("info")),
        ("studio, fully built", "startup: fully built window", Target("info")),
    ):
        med, spread, n = variant(name)
        note = f"bare window spread {bare_spread[0]:.0f}–{bare_spread[1]:.0f} ms" if "first painted" in label else ""
        rows.append(Result(label, med, "ms", target, (), bare, "(bare PySide6 window)", note, spread=spread, n=n))
    return rows


def download_rows(out: str, rss_mb: float) -> list[Result]:
    """benchmarks/download.py: median and best MB/s of ours and curl; peak memory per file size."""
    rate = r"^{name}\s+(?P<med>[\d.]+)\s+(?P<best>[\d.]+) MB/s"
    head = _find(r"^file: (?P<mb>\d+) MB over loopback, (?P<n>\d+) repeats", out, "header")
    ours = _find(rate.format(name=re.escape("ours (fsync, rename)")), out, "our rate")
    curl = _find(rate.format(name=re.escape("curl -s -o")), out, "curl's rate")
    synced = _find(rate.format(name=re.escape("curl + fsync")), out, "curl + fsync rate")
    held = _find(r"^longest the loop was held by code running on it \(CPU time\): (?P<ms>[\d.]+) ms", out, "hold")
    memory = re.findall(
        r"^peak memory,\s+(\d+) MB file: tracemalloc\s+([\d.]+) MB, RSS growth\s+([\d.-]+) MB", out, re.MULTILINE
    )
    if len(memory) != 2:
        raise AdapterError("no peak memory lines in its output")
    (small_mb, small_traced, small_rss), (large_mb, large_traced, large_rss) = memory
    n = int(head.group("n"))
    return [
        Result(
            f"download: {head.group('mb')} MB from the simulator, ours vs curl",
            float(ours.group("med")),
            "MB/s",
            Target("ratio_min", 0.5),
            (),
            float(curl.group("med")),
            "(curl)",
            f"best of {n}: ours {ours.group('best')}, curl {curl.group('best')} MB/s; ours fsyncs and renames, "
            f"curl + fsync {synced.group('med')} MB/s; loop held ≤ {held.group('ms')} ms by our download",
            n=n,
        ),
        Result(
            f"download: peak Python memory, {large_mb} MB file",
            float(large_traced),
            "MB",
            Target("ratio_max", 1.5),
            (),
            float(small_traced),
            f"({small_mb} MB file)",
            f"flat in file size; RSS growth {small_rss} MB ({small_mb} MB) vs {large_rss} MB ({large_mb} MB)",
        ),
    ]


def playback_rows(out: str, _rss_mb: float) -> list[Result]:
    """benchmarks/playback.py: per-repeat player and PyAV frames/s; frame-step percentiles.

    At ``playbackRate`` 4 the clock asks for 4 × the clip's frame rate; when PyAV decodes faster than that,
    no player could deliver PyAV's rate, so the baseline is what is deliverable: the lower of the two.
    """
    runs = re.findall(r"^\s+player\s+([\d.]+) fps .*· PyAV\s+([\d.]+) fps", out, re.MULTILINE)
    if not runs:
        raise AdapterError("no per-run player/PyAV lines in its output")
    asked = float(_find(r"asks for (?P<fps>[\d.]+) frames/s", out, "frames asked for").group("fps"))
    ceiling = _find(
        r"^player at rate (?P<rate>[\d.]+): (?P<fps>[\d.]+) frames/s \(decoding-bound\)", out, "decoding-bound rate"
    )
    step = _find(
        r"^frame step \((?P<n>\d+) steps at 4K\): p50 (?P<p50>[\d.]+) ms, p90 (?P<p90>[\d.]+) ms, max (?P<max>[\d.]+)",
        out,
        "frame step line",
    )
    ours = [float(a) for a, _ in runs]
    pyav = [float(b) for _, b in runs]
    pyav_median = statistics.median(pyav)
    return [
        Result(
            "playback: 4K frames/s at playbackRate 4",
            statistics.median(ours),
            "fps",
            Target("ratio_min", 0.9),
            tuple(ours),
            min(pyav_median, asked),
            "(deliverable: min(PyAV, asked))",
            f"PyAV decodes {pyav_median:.1f} fps, rate 4 asks for {asked:.0f} fps (ours ÷ PyAV "
            f"{statistics.median(ours) / pyav_median:.2f}×)",
        ),
        Result(
            f"playback: 4K frames/s at playbackRate {ceiling.group('rate')} (decoding-bound)",
            float(ceiling.group("fps")),
            "fps",
            Target("info"),
            (),
            pyav_median,
            "(PyAV decode, 2 threads)",
            n=len(runs),
        ),
        Result(
            "playback: 4K frame step, p90",
            float(step.group("p90")),
            "ms",
            Target("max", 100),
            (),
            note=f"{step.group('n')} steps: p50 {step.group('p50')} ms, max {step.group('max')} ms",
            n=int(step.group("n")),
        ),
    ]


def queue_panel_rows(out: str, rss_mb: float) -> list[Result]:
    """benchmarks/queue_panel.py: per-repeat open time and worst scroll stall; the process's peak RSS."""
    runs = re.findall(r"^\s+open\s+([\d.]+) ms · worst stall\s+([\d.]+) ms · (\d+) rows", out, re.MULTILINE)
    if not runs:
        raise AdapterError("no per-run open/stall lines in its output")
    jobs = _find(r"^(?P<jobs>\d+) jobs: open", out, "summary line").group("jobs")
    opens = [float(o) for o, _, _ in runs]
    stalls = [float(s) for _, s, _ in runs]
    return [
        Result(f"queue panel: open with {jobs} jobs", sorted(opens)[len(opens) // 2], "ms", Target("max", 200),
               tuple(opens)),
        Result("queue panel: worst stall scrolling to the end (worst run)", max(stalls), "ms", Target("max", 50),
               tuple(stalls), note=f"every row loaded on the way ({runs[-1][2]} rows)"),
        Result(f"queue panel: peak RSS with {jobs} jobs", rss_mb, "MB", Target("max", 300),
               note="whole benchmark process: Qt, the store, the model and the view"),
    ]


@dataclass(frozen=True)
class Benchmark:
    """One script of the suite and how to read it.

    Attributes:
        name: The script's name (``benchmarks/{name}.py``).
        full: Its arguments for the full suite.
        quick: Its arguments for ``--quick``.
        rows: Reads the rows from its output (and its peak RSS in MB); None: it prints ``--json`` rows.
        timeout: Seconds before it is stopped (full suite; quick gets a third).
    """

    name: str
    full: tuple[str, ...] = ()
    quick: tuple[str, ...] = ("--quick",)
    rows: Callable[[str, float], list[Result]] | None = None
    timeout: float = 240


SUITE = (
    Benchmark("startup", ("--repeats", "7"), ("--repeats", "1"), startup_rows),
    Benchmark("download", (), ("--size-mb", "50", "--small-mb", "10", "--repeats", "1"), download_rows),
    Benchmark("playback", ("--repeats", "3"), ("--repeats", "1"), playback_rows, timeout=300),
    Benchmark("queue_panel", ("--repeats", "3"), ("--repeats", "1"), queue_panel_rows),
    Benchmark("event_loop"),
    Benchmark("cost_meter"),
    Benchmark("status_traffic"),
)


def run_one(bench: Benchmark, quick: bool, log: Path | None) -> tuple[list[Result], float]:
    """Run one benchmark in a child process; its rows (an ERROR row if it broke) and its wall seconds."""
    args = list(bench.quick if quick else bench.full)
    if bench.rows is None:
        args.append("--json")
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"), PYTHONUNBUFFERED="1")
    env.pop("FAL_KEY", None)
    started = time.perf_counter()
    timeout = bench.timeout / 3 if quick else bench.timeout
    try:
        done = subprocess.run(
            [sys.executable, "-c", _WRAP, str(HERE / f"{bench.name}.py"), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=HERE.parent,
        )
        out, err, code = done.stdout, done.stderr, done.returncode
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        code = None
    seconds = time.perf_counter() - started
    if log is not None:
        log.write_text(f"$ {bench.name} {' '.join(args)}\n--- stdout\n{out}\n--- stderr\n{err}\n")
    rss = re.search(r"^PEAK_RSS_KB (\d+)", out, re.MULTILINE)
    rss_mb = int(rss.group(1)) / 1024 if rss else float("nan")
    if code is None:
        return [Result.failed(bench.name, f"timed out after {timeout:.0f} s")], seconds
    try:
        rows = parse_results(out) if bench.rows is None else bench.rows(out, rss_mb)
    except AdapterError as exc:
        rows = []
        reason = str(exc)
    else:
        reason = "printed no results"
    if not rows:
        last = (err.strip().splitlines() or ["no output"])[-1][:160]
        return [Result.failed(bench.name, f"exit {code}, {reason}: {last}")], seconds
    return rows, seconds


def machine() -> str:
    """The machine the numbers come from."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            names = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    try:
        import PySide6

        qt = f"PySide6 {PySide6.__version__}"
    except ImportError:
        qt = "no PySide6"
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, {qt}"
    )


def main() -> int:
    """Run the suite and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every benchmark once, small sizes (CI smoke)")
    parser.add_argument("--only", default="", help="comma-separated benchmark names (default: all)")
    parser.add_argument("--output", type=Path, help="also write the report (Markdown) to this file")
    parser.add_argument("--logs", type=Path, help="keep each benchmark's stdout/stderr in this folder")
    args = parser.parse_args()
    chosen = [b for b in SUITE if not args.only or b.name in args.only.split(",")]
    unknown = set(filter(None, args.only.split(","))) - {b.name for b in SUITE}
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}; known: {', '.join(b.name for b in SUITE)}")
    logs = args.logs or Path(tempfile.mkdtemp(prefix="kling-bench-logs-"))
    logs.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load_before = load_average()
    rows: list[Result] = []
    timings = []
    for bench in chosen:
        print(f"running {bench.name}… (load {load_average()})", file=sys.stderr, flush=True)
        got, seconds = run_one(bench, args.quick, logs / f"{bench.name}.log")
        rows += got
        timings.append(f"{bench.name} {seconds:.0f} s")
    total = time.perf_counter() - started
    failed = [r for r in rows if r.passed is False]
    report = "\n".join(
        [
            f"Kling Studio benchmarks{' (--quick)' if args.quick else ''}: {time.strftime('%Y-%m-%d %H:%M %Z')}",
            f"machine: {machine()}",
            f"load average (1/5/15 min): {load_before} before, {load_average()} after; "
            f"took {total:.0f} s ({', '.join(timings)})",
            "",
            format_table(rows),
            "",
            f"{len(rows) - len(failed)} of {len(rows)} rows pass or are information; "
            + (f"below target: {', '.join(r.name for r in failed)}" if failed else "every target is met")
            + f". Logs: {logs}",
        ]
    )
    print(report)
    if args.output:
        args.output.write_text(report + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

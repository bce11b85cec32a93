"""Shared pieces of the benchmark suite: the result row, targets, statistics, the event-loop ticker, the table.

Every benchmark reports :class:`Result` rows: a measured value (the median over repeats, with the spread),
a baseline measured in the same run on the same machine (a bare window, curl, PyAV, an idle loop…), the
ratio between them, and a :class:`Target` that decides pass or fail. ``benchmarks/run.py`` collects the rows
of every benchmark (each in its own process) and prints one table.

A benchmark script of this suite prints its rows as JSON lines prefixed with ``RESULT`` when run with
``--json`` (see :func:`emit`), so ``run.py`` never has to parse prose.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

RESULT_PREFIX = "RESULT "

Rule = Literal["max", "min", "ratio_max", "ratio_min", "info"]


@dataclass(frozen=True)
class Target:
    """What a measurement must meet.

    Attributes:
        rule: ``max``/``min`` bound the value itself; ``ratio_max``/``ratio_min`` bound value ÷ baseline;
            ``info`` has no bound (shown for context).
        limit: The bound, in the value's unit (or as a ratio).
    """

    rule: Rule
    limit: float = 0.0

    def describe(self, unit: str) -> str:
        """``≤ 1.5×``, ``≥ 0.9×``, ``≤ 16 ms`` or ``—``."""
        if self.rule == "info":
            return "—"
        sign = "≤" if self.rule.endswith("max") else "≥"
        if self.rule.startswith("ratio"):
            return f"{sign} {self.limit:g}×"
        return f"{sign} {self.limit:g} {unit}"


@dataclass(frozen=True)
class Result:
    """One row of the table.

    Attributes:
        name: What was measured (``startup: first paint``).
        value: The median of ``samples`` (or the single figure when not repeated).
        unit: ``ms``, ``MB/s``, ``fps``, ``MB``, ``req/job-min``…
        target: The bound it must meet.
        samples: Every repeat's value (spread and n come from these).
        baseline: The same-run baseline, in the same unit, or None when the target is absolute.
        baseline_name: What the baseline is (``bare PySide6 window``).
        note: Anything a reader needs to trust the number (CPU time, the idle loop's own noise…).
        error: Why the benchmark produced no number (the row then fails).
        spread: (min, max) when only those are known rather than every sample.
        n: How many repeats, when ``samples`` does not hold them all.
    """

    name: str
    value: float
    unit: str
    target: Target
    samples: tuple[float, ...] = ()
    baseline: float | None = None
    baseline_name: str = ""
    note: str = ""
    error: str = ""
    spread: tuple[float, float] | None = None
    n: int = 0

    @property
    def ratio(self) -> float | None:
        """value ÷ baseline, when there is a baseline."""
        if self.baseline is None or self.baseline == 0 or math.isnan(self.value):
            return None
        return self.value / self.baseline

    @property
    def passed(self) -> bool | None:
        """True/False against the target; None for information rows."""
        if self.error:
            return False
        rule, limit = self.target.rule, self.target.limit
        if rule == "info":
            return None
        measured = self.ratio if rule.startswith("ratio") else self.value
        if measured is None or math.isnan(measured):
            return False
        return measured <= limit if rule.endswith("max") else measured >= limit

    def to_json(self) -> str:
        """One JSON line (see :func:`Result.from_json`)."""
        data = asdict(self)
        data["samples"] = list(self.samples)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Result:
        """The row :meth:`to_json` wrote."""
        data = json.loads(text)
        data["target"] = Target(**data["target"])
        data["samples"] = tuple(data.get("samples", ()))
        if data.get("spread") is not None:
            data["spread"] = tuple(data["spread"])
        return cls(**data)

    @classmethod
    def failed(cls, name: str, error: str, target: Target | None = None) -> Result:
        """A row for a benchmark that could not produce its number."""
        return cls(name, math.nan, "", target or Target("info"), error=error)


def measured(
    name: str,
    samples: Sequence[float],
    unit: str,
    target: Target,
    *,
    baseline: Sequence[float] | float | None = None,
    baseline_name: str = "",
    note: str = "",
) -> Result:
    """A :class:`Result` whose value is the median of ``samples`` (and baseline the median of its own)."""
    single = baseline is None or isinstance(baseline, int | float)
    base = baseline if single else statistics.median(baseline)
    return Result(
        name,
        statistics.median(samples),
        unit,
        target,
        tuple(samples),
        base,
        baseline_name,
        note,
    )


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (nearest rank) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def load_average() -> str:
    """``1.23 / 0.98 / 0.75`` (1, 5, 15 minutes), or ``n/a``."""
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def emit(results: Iterable[Result], as_json: bool) -> None:
    """Print the rows: JSON lines for ``run.py`` with ``as_json``, else the table."""
    rows = list(results)
    if as_json:
        for row in rows:
            print(RESULT_PREFIX + row.to_json(), flush=True)
    else:
        print(format_table(rows))


def parse_results(output: str) -> list[Result]:
    """The rows in a benchmark's ``--json`` output (other lines are ignored)."""
    lines = output.splitlines()
    return [Result.from_json(line[len(RESULT_PREFIX) :]) for line in lines if line.startswith(RESULT_PREFIX)]


def _fmt(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "—"
    if value == int(value) and abs(value) < 1e6:
        return f"{value:.0f}"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _spread(row: Result) -> str:
    if row.spread is not None:
        low, high = row.spread
    elif len(row.samples) > 1:
        low, high = min(row.samples), max(row.samples)
    else:
        return f"(n={row.n or len(row.samples)})" if (row.n or row.samples) else ""
    return f"{_fmt(low)}–{_fmt(high)} (n={row.n or len(row.samples)})"


def format_table(rows: Sequence[Result]) -> str:
    """The suite's table (Markdown): benchmark, measured (the median unless the name says otherwise) with its
    spread and n, the same-run baseline, the ratio, the target and pass/fail; then each row's note."""
    header = ("benchmark", "measured", "spread min–max (n)", "baseline (same run)", "ratio", "target", "result")
    lines = []
    for row in rows:
        target = row.target.describe(row.unit)
        if row.error:
            lines.append((row.name, "—", "", "", "", target, f"ERROR: {row.error}"))
            continue
        base = f"{_fmt(row.baseline)} {row.unit} {row.baseline_name}".strip() if row.baseline is not None else "—"
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "—"
        verdict = {True: "PASS", False: "**FAIL**", None: "info"}[row.passed]
        lines.append((row.name, f"{_fmt(row.value)} {row.unit}", _spread(row), base, ratio, target, verdict))
    widths = [max(len(str(cells[i])) for cells in [header, *lines]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(cells) for cells in lines)]
    notes = [f"- {row.name}: {row.note}" for row in rows if row.note]
    if notes:
        out += ["", *notes]
    return "\n".join(out)


@dataclass
class LoopTicker:
    """Measures how late an event loop runs a short sleep: what a user feels as a stutter.

    Each tick sleeps ``period`` and records the lateness (wall clock) and, next to it, the CPU time this
    thread spent in the late interval (``held``): on a machine shared with other work, wall-clock lateness
    includes time the OS gave the CPU to other processes, while ``held`` is only the loop's own work.

    Run :meth:`run` as a task on the loop under test and cancel it (or set :attr:`stop`) afterwards.
    """

    period: float = 0.001
    lateness: list[float] = field(default_factory=list)
    held: list[float] = field(default_factory=list)
    stop: bool = False

    async def run(self) -> None:
        """Tick until cancelled or :attr:`stop` is set."""
        while not self.stop:
            before, cpu_before = time.perf_counter(), time.thread_time()
            await asyncio.sleep(self.period)
            late = max(0.0, time.perf_counter() - before - self.period)
            self.lateness.append(late)
            self.held.append(min(late, time.thread_time() - cpu_before))

    def worst(self) -> float:
        """The largest lateness, seconds."""
        return max(self.lateness, default=math.nan)

    def p99(self) -> float:
        """The 99th percentile lateness, seconds."""
        return percentile(self.lateness, 0.99)

    def held_worst(self) -> float:
        """The longest the loop's own CPU work kept a tick waiting, seconds."""
        return max(self.held, default=math.nan)

    def held_p99(self) -> float:
        """The 99th percentile of that CPU hold, seconds."""
        return percentile(self.held, 0.99)


# The simulator runs in its own interpreter, like fal: what a benchmark measures is the app's share of the
# machine, not a server competing for the same GIL. Commands arrive on stdin, answers leave on stdout.
_SERVE_SIMULATOR = r"""
import dataclasses, json, sys
from pathlib import Path
from kling_studio.services.simulator import FaultPlan, SimulatorConfig, SimulatorServer
config = json.loads(sys.argv[1])
config["faults"] = FaultPlan.parse(config.get("faults", ""))
if config.get("work_dir"):
    config["work_dir"] = Path(config["work_dir"])
sim = SimulatorServer(SimulatorConfig(**config)).start()
print(sim.url, flush=True)
for line in sys.stdin:
    if line.strip() == "log":
        print(json.dumps([dataclasses.asdict(r) for r in sim.request_log()]), flush=True)
    elif line.strip() == "stop":
        break
sim.stop()
"""


class SimulatorProcess:
    """The fal simulator in a child process, with its request log readable from here.

    Args:
        **config: :class:`~kling_studio.services.simulator.SimulatorConfig` fields; ``faults`` is a spec
            string and ``work_dir`` a path (reuse one to keep renders cached between runs).
    """

    def __init__(self, **config: object) -> None:
        import subprocess
        import sys

        config = {k: (str(v) if k == "work_dir" and v is not None else v) for k, v in config.items()}
        self._process = subprocess.Popen(
            [sys.executable, "-c", _SERVE_SIMULATOR, json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert self._process.stdout is not None
        self.url = self._process.stdout.readline().strip()
        if not self.url.startswith("http"):
            self.stop()
            raise RuntimeError(f"the simulator did not start (it printed {self.url!r})")

    def request_log(self) -> list[dict]:
        """Every request the simulator answered so far (``RequestRecord`` fields), oldest first."""
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write("log\n")
        self._process.stdin.flush()
        return json.loads(self._process.stdout.readline())

    def stop(self) -> None:
        """Stop the simulator and wait for its process."""
        import subprocess

        if self._process.poll() is None:
            try:
                assert self._process.stdin is not None
                self._process.stdin.write("stop\n")
                self._process.stdin.close()
                self._process.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> SimulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

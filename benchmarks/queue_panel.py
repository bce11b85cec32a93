"""Queue panel with 10,000 jobs: time to open it, and the worst event-loop stall while scrolling to the end.

The jobs are made once through the job store's own API (in a cached database under ``--cache``) and reused.
A 2 ms heartbeat timer runs throughout; a *stall* is a gap between two heartbeats beyond their interval —
what a user feels as a frozen window. Scrolling jumps 40 rows every 16 ms to the last row, so every page
of rows is fetched on the way (``fetchMore``). Target: worst stall ≤ 50 ms.

    QT_QPA_PLATFORM=offscreen python benchmarks/queue_panel.py [--jobs 10000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import itertools

from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import JobState, NewJob
from kling_studio.services.ledger import BudgetPolicy
from kling_studio.ui.queue_model import QueueModel
from kling_studio.ui.queue_panel import QueuePanel

HEARTBEAT_MS = 2
SCROLL_ROWS = 40
SCROLL_MS = 16


def filled_store(path: Path, jobs: int) -> JobStore:
    """A store holding ``jobs`` jobs in mixed states (made once, then reused)."""
    store = JobStore(path)
    have = store.count()
    if have >= jobs:
        return store
    # Bulk set-up only: skip the per-commit fsync for this thread's connection while filling.
    store._connection().execute("PRAGMA synchronous = OFF")
    started = time.perf_counter()
    states = (JobState.QUEUED, JobState.RUNNING, JobState.FAILED, JobState.COMPLETED)
    for n in range(have, jobs):
        spec = NewJob(
            f"Project {n % 37}",
            "fal-ai/kling-video/v3/4k/text-to-video",
            "4k",
            {"prompt": f"Shot {n}: a matte black espresso machine, slow dolly-in", "duration": "5"},
            Decimal("2.10"),
            simulated=True,
        )
        job = store.create_submitting(spec, budget=BudgetPolicy())
        state = states[n % len(states)]
        job = store.mark_submitted(job.id, {"request_id": f"req-{n}", "queue_position": n % 9})
        if state is JobState.RUNNING:
            store.update_progress(job.id, state=JobState.RUNNING, logs=[{"message": "working"}])
        elif state is JobState.FAILED:
            store.mark_failed(job.id, "server", "fal had an internal error.", charged=False)
        elif state is JobState.COMPLETED:
            store.mark_completed(job.id, file_size=10_000_000)
    store._connection().execute("PRAGMA synchronous = FULL")
    print(f"made {jobs - have} jobs in {time.perf_counter() - started:.1f} s")
    return store


def spin(seconds: float) -> None:
    """Run the event loop for ``seconds``."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)


def run_once(store: JobStore) -> tuple[float, float, int]:
    """Open the panel and scroll to the end: (open seconds, worst stall seconds, rows loaded)."""
    started = time.perf_counter()
    model = QueueModel(store)
    panel = QueuePanel(model)
    panel.resize(1000, 700)
    panel.show()
    QCoreApplication.processEvents()
    panel.view.viewport().repaint()
    opened = time.perf_counter() - started

    beats: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(HEARTBEAT_MS)
    heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
    heartbeat.start()
    bar = panel.view.verticalScrollBar()
    row_height = panel.view.verticalHeader().defaultSectionSize()

    def scroll() -> None:
        bar.setValue(bar.value() + SCROLL_ROWS * row_height)

    scroller = QTimer()
    scroller.setInterval(SCROLL_MS)
    scroller.timeout.connect(scroll)
    scroller.start()
    deadline = time.perf_counter() + 120
    while (model.canFetchMore() or bar.value() < bar.maximum()) and time.perf_counter() < deadline:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
    scroller.stop()
    spin(0.1)
    heartbeat.stop()
    gaps = [b - a for a, b in itertools.pairwise(beats)]
    worst = max(gaps, default=0.0) - HEARTBEAT_MS / 1000
    rows = model.rowCount()
    model.close()
    panel.close()
    panel.deleteLater()
    spin(0.05)
    return opened, max(0.0, worst), rows


def main() -> None:
    """Run the benchmark and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "kling-studio-bench-queue")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    store = filled_store(args.cache / f"jobs-{args.jobs}.sqlite3", args.jobs)
    opens, stalls = [], []
    for _ in range(args.repeats):
        opened, worst, rows = run_once(store)
        opens.append(opened)
        stalls.append(worst)
        print(f"  open {opened * 1000:6.1f} ms · worst stall {worst * 1000:5.1f} ms · {rows} rows scrolled")
    store.close()
    QTimer.singleShot(0, app.quit)
    app.exec()
    print(f"{args.jobs} jobs: open {statistics.median(opens) * 1000:.1f} ms (median), "
          f"worst stall while scrolling {max(stalls) * 1000:.1f} ms (target <= 50 ms)")


if __name__ == "__main__":
    main()

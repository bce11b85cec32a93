"""Cost meter update after an edit on a 6-shot storyboard: in core, and end to end through the real window.

* Core: one edit (a shot's duration 2 s ↔ 3 s) then what the meter needs — ``validate`` and ``estimate`` at
  every tier (``estimate_tiers``) — timed per edit over many edits. Target ≤ 1 ms (median). Baseline (same
  run): the same on a 1-shot storyboard, so the ratio says what five more shots cost.
* End to end: the studio's ``MainWindow`` (offscreen, 1280×800) with the project open; the edit goes through
  the window's ``ProjectEditor`` (undo stack, every listener: timeline, shot list, inspector, problems, cost
  meter), and the clock stops when the cost meter's price label has been painted with the new price.
  Target ≤ one frame (16.7 ms). Baseline: ``setText`` on a bare ``QLabel`` in a plain window until painted —
  the cheapest visible update Qt can make. CPU time of the main thread is reported next to wall time.

    python benchmarks/cost_meter.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from common import Result, Target, emit, load_average, measured, percentile

from kling_studio.core.limits import Mode, Tier
from kling_studio.core.pricing import PriceCatalog, estimate_tiers
from kling_studio.core.project import Project
from kling_studio.core.storyboard import Shot, Storyboard
from kling_studio.core.validation import validate

FRAME_MS = 1000 / 60


def shot_seconds(shots: int) -> int:
    """Each shot's length: 2 s (a clip is 3–15 s long, so a single shot gets 3 s)."""
    return 2 if shots > 1 else 3


def storyboard(shots: int) -> Project:
    """A multi-shot project at 4K with ``shots`` short shots, one prompt each."""
    prompt = "a matte black espresso machine, slow dolly-in, warm light"
    seconds = shot_seconds(shots)
    board = Storyboard(mode=Mode.MULTI, shots=[Shot(f"shot {i + 1}: {prompt}", seconds) for i in range(shots)])
    project = Project(name="Espresso spot", storyboard=board)
    project.settings.set("tier", Tier.K4)
    return project


def core_update_ms(shots: int, edits: int) -> tuple[float, float, float]:
    """Per edit: median and p99 wall milliseconds, and mean CPU milliseconds, of edit + validate + estimate."""
    project = storyboard(shots)
    catalog = PriceCatalog.bundled()
    board = project.storyboard
    seconds = shot_seconds(shots)
    times = []
    cpu_start = time.thread_time()
    for n in range(edits):
        started = time.perf_counter()
        board.resize_shot(0, seconds + 1 if n % 2 == 0 else seconds)
        problems = validate(project)
        prices = estimate_tiers(project, catalog=catalog)
        times.append(time.perf_counter() - started)
        assert prices[Tier.K4].total > 0 and not [p for p in problems if p.severity == "error"], problems
    cpu = (time.thread_time() - cpu_start) / edits
    return statistics.median(times) * 1000, percentile(times, 0.99) * 1000, cpu * 1000


def _paint_watch(widget) -> Callable[[], float | None]:
    """Start noting paint events of ``widget``; returns a function giving the last paint's time (or None)."""
    from PySide6.QtCore import QEvent, QObject

    class Watch(QObject):
        painted: float | None = None

        def eventFilter(self, obj, event):
            if obj is widget and event.type() == QEvent.Type.Paint:
                self.painted = time.perf_counter()
            return False

    watch = Watch(widget)
    widget.installEventFilter(watch)

    def last() -> float | None:
        painted, watch.painted = watch.painted, None
        return painted

    return last


def _until_painted(app, painted: Callable[[], float | None], started: float) -> float:
    """Run the event loop until the watched widget paints; seconds from ``started``."""
    deadline = started + 5
    while time.perf_counter() < deadline:
        app.processEvents()
        at = painted()
        if at is not None:
            return at - started
    raise RuntimeError("the widget was not repainted within 5 s of the edit")


def e2e_update_ms(edits: int, work: Path) -> tuple[list[float], list[float], list[float]]:
    """Wall ms per edit to the repainted price, main-thread CPU ms per edit, and the bare-label baseline."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    from kling_studio.core.project_file import save_project
    from kling_studio.ui.document import ProjectDocument, RecentFiles
    from kling_studio.ui.main_window import MainWindow
    from kling_studio.ui.theme import Scheme, Theme

    app = QApplication.instance() or QApplication([])
    path = work / "Espresso spot.klingproj"
    save_project(storyboard(6), path)
    document = ProjectDocument(work / "recovery", RecentFiles(work / "recent.json"))
    settings = QSettings(str(work / "window.ini"), QSettings.Format.IniFormat)
    window = MainWindow(document, Theme(app, Scheme.DARK), PriceCatalog.bundled(), settings)
    document.open(path)
    window.resize(1280, 800)
    window.show()
    for _ in range(20):
        app.processEvents()
    meter = window.cost_meter
    painted = _paint_watch(meter.total_label)
    first_shot = document.project.storyboard.shots[0].id
    walls, cpus = [], []
    for n in range(edits):
        before = meter.total_text()
        cpu_before = time.thread_time()
        started = time.perf_counter()
        window.editor.resize_shot(first_shot, 3 if n % 2 == 0 else 2)
        walls.append(_until_painted(app, painted, started) * 1000)
        cpus.append((time.thread_time() - cpu_before) * 1000)
        assert meter.total_text() != before, "the price did not change"
        for _ in range(3):  # let the rest of the window settle before the next edit
            app.processEvents()
    window.close_without_asking()

    bare = QMainWindow()
    label = QLabel("—", bare)
    bare.setCentralWidget(label)
    bare.resize(1280, 800)
    bare.show()
    for _ in range(20):
        app.processEvents()
    painted = _paint_watch(label)
    baseline = []
    for n in range(edits):
        started = time.perf_counter()
        label.setText(f"${n}.{n % 100:02d}")
        baseline.append(_until_painted(app, painted, started) * 1000)
        app.processEvents()
    bare.close()
    return walls, cpus, baseline


def run(quick: bool, *, repeats: int | None = None) -> list[Result]:
    """Measure and return the table rows."""
    repeats = repeats or (1 if quick else 5)
    edits = 200 if quick else 1000
    core6, core1, core_p99, core_cpu = [], [], [], []
    for _ in range(repeats):
        median6, p99, cpu = core_update_ms(6, edits)
        core6.append(median6)
        core_p99.append(p99)
        core_cpu.append(cpu)
        core1.append(core_update_ms(1, edits)[0])
    with tempfile.TemporaryDirectory(prefix="kling-bench-meter-") as sandbox:
        os.environ["KLING_STUDIO_DATA_DIR"] = os.path.join(sandbox, "data")
        os.environ["KLING_STUDIO_CONFIG_DIR"] = os.path.join(sandbox, "config")
        walls, cpus, bare = e2e_update_ms(30 if quick else 100, Path(sandbox))
    return [
        measured(
            "cost meter: core update (6 shots)",
            core6,
            "ms",
            Target("max", 1.0),
            baseline=core1,
            baseline_name="(1 shot)",
            note=f"edit + validate + estimate at 3 tiers, {edits} edits per repeat; p99 "
            f"{statistics.median(core_p99):.3f} ms, CPU {statistics.median(core_cpu):.3f} ms per edit",
        ),
        measured(
            "cost meter: edit → repainted price",
            walls,
            "ms",
            Target("max", round(FRAME_MS, 1)),
            baseline=bare,
            baseline_name="(bare QLabel)",
            note=f"MainWindow offscreen, {len(walls)} edits; p90 {percentile(walls, 0.9):.1f} ms, worst "
            f"{max(walls):.1f} ms; main-thread CPU median {statistics.median(cpus):.1f} ms; load {load_average()}",
        ),
    ]


def main() -> int:
    """Command line: run and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one short run (CI smoke)")
    parser.add_argument("--json", action="store_true", help="print RESULT lines for run.py")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    emit(run(args.quick, repeats=args.repeats), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

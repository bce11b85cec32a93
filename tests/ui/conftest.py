"""Shared UI fixtures: a project with a three-shot storyboard, its undo stack, editor and selection."""

from __future__ import annotations

import contextlib
import gc
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QUndoStack

from kling_studio.core.limits import Mode
from kling_studio.core.project import Project
from kling_studio.core.storyboard import Shot, Storyboard
from kling_studio.ui.edits import ProjectEditor
from kling_studio.ui.gc_guard import MainThreadGarbageCollector
from kling_studio.ui.selection import ShotSelection


def three_shot_project() -> Project:
    """A multi-shot project: 4 s + 3 s + 3 s = 10 s, every shot with a prompt."""
    shots = (
        Shot("A lighthouse at dawn, waves below", 4, id="shot-a"),
        Shot("Close-up of the keeper lighting the lamp", 3, id="shot-b"),
        Shot("Wide aerial pull-back over the sea", 3, id="shot-c"),
    )
    return Project(name="Lighthouse", storyboard=Storyboard(mode=Mode.MULTI, shots=shots))


@pytest.fixture(autouse=True)
def collect_garbage_on_the_ui_thread(qapp):
    """As the app does (kling_studio.ui.gc_guard): Qt objects freed by Python's collector die on their thread."""
    collector = MainThreadGarbageCollector()
    collector.start()
    yield
    collector.stop()
    gc.collect()  # with the test's widgets still deleted on this thread
    _let_media_threads_finish()


def _media_threads() -> int:
    """Qt Multimedia's FFmpeg threads alive in this process (Linux names them ``QFFmpeg::…``)."""
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        return 0
    count = 0
    for task in tasks.iterdir():
        with contextlib.suppress(OSError):
            count += (task / "comm").read_text().startswith("QFFmpeg")
    return count


def _let_media_threads_finish(seconds: float = 5.0) -> None:
    """Let a closed player's FFmpeg threads finish tearing down before the next test, without holding the GIL.

    Their teardown needs the GIL (shiboken's override check on our QAudioOutput) while holding a Qt connection
    mutex; the next test's setup holding the GIL in a Qt connect or disconnect then waits for that mutex: a
    deadlock seen once in CI (in Theme -> QApplication.setStyle right after the close-while-playing test).
    """
    deadline = time.monotonic() + seconds
    while _media_threads() and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.01)


@pytest.fixture
def project() -> Project:
    """A fresh three-shot project (ids ``shot-a``, ``shot-b``, ``shot-c``)."""
    return three_shot_project()


@pytest.fixture
def undo_stack(qtbot) -> QUndoStack:
    """An empty undo stack (the document's, in the app)."""
    return QUndoStack()


@pytest.fixture
def editor(project, undo_stack) -> ProjectEditor:
    """The editor of ``project`` pushing onto ``undo_stack``."""
    return ProjectEditor(project, undo_stack)


@pytest.fixture
def selection(project, qtbot) -> ShotSelection:
    """The current shot of ``project`` (starts at the first shot)."""
    return ShotSelection(project)


@pytest.fixture
def catalog():
    """The bundled price list."""
    from kling_studio.core.pricing import PriceCatalog

    return PriceCatalog.bundled()


@pytest.fixture
def cost_for(project, catalog):
    """Price text of a shot (or, for "", the single-prompt clip) at the project's tier, from core pricing."""
    from kling_studio.core.pricing import estimate, format_usd

    def price(shot_id: str) -> str:
        current = estimate(project, catalog=catalog)
        if not shot_id:
            return format_usd(current.total)
        return format_usd(current.lines[project.storyboard.index_of(shot_id)].cost)

    return price


@pytest.fixture
def timeline(project, editor, selection, cost_for, qtbot):
    """A shown TimelineWidget over ``project``, 1280 px wide (about 75 px per second)."""
    from kling_studio.ui.timeline import TimelineWidget

    widget = TimelineWidget(project, editor, selection, cost_for)
    qtbot.addWidget(widget)
    widget.resize(1280, 200)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.detach()

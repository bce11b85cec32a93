"""Generate end to end: the window submits through the real job runner to the built-in simulator.

Real parts: StudioServices opens a real job database in the test's data folder and starts the simulator on a
free 127.0.0.1 port (no key: nothing can be charged); asyncio runs on Qt's loop through qasync, as in the app.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from qt_async import run_on_qt_loop, wait_for
from studio_window import open_services, open_window, paper_boat

from kling_studio.core.limits import Mode, Tier
from kling_studio.core.project import Project
from kling_studio.core.storyboard import Storyboard
from kling_studio.services.jobs import JobState


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("KLING_STUDIO_SIM_SPEED", "20")
    win = open_window(qtbot, tmp_path, paper_boat(Tier.K4))
    yield win
    win.close_without_asking()


def queued(window) -> int:
    """Rows in the window's queue."""
    return window.outputs.queue_model.rowCount()


def top_job(window):
    """The newest job as the queue shows it."""
    return window.outputs.queue_model.job_at(0)


def test_generate_submits_to_the_simulator_and_the_job_shows_up_in_the_queue(qtbot, window):
    button = window.cost_meter.generate_button
    assert button.text() == "Generate 4k — $1.68"  # 4 s × $0.42
    window.set_threshold(None)

    async def scenario():
        services = await open_services()
        try:
            window.set_services(services)
            assert window.simulated and window.banner.isVisible()
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
            await wait_for(lambda: queued(window) == 1, 20, "the job in the queue dock")
            downloaded = lambda: top_job(window).state is JobState.DOWNLOADED  # noqa: E731
            await wait_for(downloaded, 120, "the simulated clip to download")
            model = window.outputs.queue_model
            return top_job(window), [model.index(0, column).data() for column in range(model.columnCount())]
        finally:
            window.detach_services()
            await services.close()

    job, row = run_on_qt_loop(scenario)
    assert job.simulated
    assert job.tier == "4k" and str(job.estimated_cost) == "1.68"
    assert job.input["multi_prompt"][1] == {"prompt": "rain starts, rings spread", "duration": "2"}
    assert job.output_path is not None and job.output_path.stat().st_size > 0
    assert row[0] == f"Paper boat\n{job.id} · simulated"
    assert row[1:4] == ["4k", "$1.68", "downloaded"]


def test_above_the_threshold_generate_asks_first_and_sends_only_when_confirmed(qtbot, window):
    window.set_threshold(Decimal("1.00"))
    opened = []
    window.generate_action.confirmation_opened.connect(opened.append)

    async def scenario():
        services = await open_services()
        try:
            window.set_services(services)
            qtbot.mouseClick(window.cost_meter.generate_button, Qt.MouseButton.LeftButton)
            assert len(opened) == 1
            dialog = opened[0]
            assert dialog.isVisible()
            assert dialog.text() == "Generate 4k for $1.68?"
            assert "nothing is charged" in dialog.informativeText()
            await asyncio.sleep(0.3)
            assert queued(window) == 0, "nothing is sent before the user confirms"
            qtbot.mouseClick(dialog.go_button, Qt.MouseButton.LeftButton)
            await wait_for(lambda: queued(window) == 1, 20, "the confirmed job")
            return top_job(window)
        finally:
            window.detach_services()
            await services.close()

    job = run_on_qt_loop(scenario)
    assert job.estimated_cost == Decimal("1.68")


def test_generate_is_refused_with_the_reason_while_the_project_has_errors(qtbot, window):
    window.editor.set_shot_prompt(window.document.project.storyboard.shots[1].id, "")
    button = window.cost_meter.generate_button
    assert not button.isEnabled()
    assert "Shot 2" in window.cost_meter.reason_label.text()
    assert not window.action_generate.isEnabled()  # the menu and Ctrl+Return are off too
    failures: list[str] = []
    window.generate_action.failed.connect(failures.append)
    window.generate_action.request(window.document.project, window.live.report, None)
    assert failures and "Shot 2" in failures[0]


def test_keyboard_only_three_shots_typed_resized_reordered_and_generated(qtbot, window):
    """No mouse: Insert adds shots, F2 types, + resizes, Ctrl+Left reorders, Ctrl+G generates."""
    window.document.new_project(Project(name="Doors", storyboard=Storyboard(mode=Mode.MULTI)))
    window.set_threshold(None)
    window.windowHandle().requestActivate()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    view = window.timeline.view
    view.setFocus()

    async def scenario():
        services = await open_services()
        try:
            window.set_services(services)
            for text in ("a red door opens", "a cat walks in", "the door slams"):
                qtbot.keyClick(view, Qt.Key.Key_Insert)
                qtbot.keyClick(view, Qt.Key.Key_F2)
                qtbot.keyClicks(view.inline_editor, text)
                qtbot.keyClick(view.inline_editor, Qt.Key.Key_Return)
            qtbot.keyClick(view, Qt.Key.Key_Left)
            qtbot.keyClick(view, Qt.Key.Key_Plus)
            qtbot.keyClick(view, Qt.Key.Key_Left, Qt.KeyboardModifier.ControlModifier)
            board = window.document.project.storyboard
            assert [(s.prompt, s.duration) for s in board.shots] == [
                ("a cat walks in", 4),
                ("a red door opens", 3),
                ("the door slams", 3),
            ]
            assert window.cost_meter.generate_button.text() == "Generate pro — $1.68"  # 10 s × $0.168
            qtbot.keyClick(view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
            await wait_for(lambda: queued(window) == 1, 20, "the job sent from the keyboard")
            return top_job(window)
        finally:
            window.detach_services()
            await services.close()

    job = run_on_qt_loop(scenario)
    assert [s["prompt"] for s in job.input["multi_prompt"]] == ["a cat walks in", "a red door opens", "the door slams"]

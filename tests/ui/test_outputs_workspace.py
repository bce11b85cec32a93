"""The window's queue, library, player and review, with the real services and the built-in simulator.

As in the app: StudioServices opens a job database in the test's data folder and starts the simulator on a free
127.0.0.1 port (no key: nothing is charged); asyncio runs on Qt's loop through qasync; the window is the
one ``kling-studio`` shows.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from library_takes import quick_take
from player_clips import clip
from PySide6.QtCore import Qt, QUrl
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtWidgets import QApplication
from qt_async import run_on_qt_loop, wait_for
from queue_jobs import make_job, spec
from studio_window import open_services, open_window, paper_boat

from kling_studio.core.limits import Tier
from kling_studio.services import paths
from kling_studio.services.jobs import JobState
from kling_studio.ui.library.library_model import TakeRole
from kling_studio.ui.outputs_workspace import OutputsWorkspace
from kling_studio.ui.queue_model import STATE, TAKE


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("KLING_STUDIO_SIM_SPEED", "20")
    win = open_window(qtbot, tmp_path, paper_boat(Tier.STANDARD))
    yield win
    win.close_without_asking()


def state_shown(outputs: OutputsWorkspace, job_id: str) -> str:
    """The queue's State cell for ``job_id`` ("" while it is not listed)."""
    model = outputs.queue_model
    row = model.row_of(job_id) if model is not None else None
    return "" if row is None else model.index(row, STATE).data()


def takes_listed(outputs: OutputsWorkspace) -> list[str]:
    """The library's take rows as (project, title first line)."""
    model = outputs.library_model
    found = []
    for p_row in range(model.rowCount()):
        project = model.index(p_row, 0)
        found += [model.index(t_row, 0, project).data(TakeRole).job_id for t_row in range(model.rowCount(project))]
    return found


def loaded_take(outputs: OutputsWorkspace):
    """What the player has loaded (None before the first take is opened)."""
    return outputs.player.playback.take if outputs.player is not None else None


def test_a_generated_take_goes_from_the_queue_to_the_library_and_plays_from_the_queue(qtbot, window):
    outputs = window.outputs

    async def scenario():
        services = await open_services()
        try:
            window.set_services(services)
            assert outputs.queue_dock.isAncestorOf(outputs.queue_panel)
            qtbot.mouseClick(window.cost_meter.generate_button, Qt.MouseButton.LeftButton)
            await wait_for(lambda: outputs.queue_model.rowCount() == 1, 20, "the job in the queue")
            job = outputs.queue_model.job_at(0)
            selected = outputs.queue_panel.selected_job
            await wait_for(lambda: selected() is not None, 20, "the job selected once fal took it")
            assert selected().id == job.id
            assert outputs.queue_dock.isVisible()
            await wait_for(lambda: state_shown(outputs, job.id) == "downloaded", 120, "the take downloaded")
            await wait_for(lambda: takes_listed(outputs) == [job.id], 20, "the take in the library")
            job = outputs.queue_model.job_at(outputs.queue_model.row_of(job.id))
            title = outputs.library_model.index(0, 0).data()

            panel = outputs.queue_panel
            assert panel.open_button.isEnabled() and panel.reveal_button.isEnabled()
            qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
            await wait_for(lambda: loaded_take(outputs) is not None, 30, "the take in the player")
            return job, title, loaded_take(outputs)
        finally:
            window.detach_services()
            await services.close()

    job, library_title, loaded = run_on_qt_loop(scenario)
    assert library_title == "Paper boat  —  1 take · 0 accepted"
    assert loaded.path == job.output_path
    assert loaded.timeline.duration > 0 and loaded.timeline.frame_count > 0
    assert loaded.shot_starts == (2.0,), "the cut between the two shots is marked"
    assert outputs.player_dock.isVisible() and outputs.player_tabs.currentWidget() is outputs.player
    assert outputs.player.info_label.text().startswith(f"{job.output_path.name} · ")
    assert outputs.review.title.text() == f"Paper boat · {job.id}"
    assert outputs.review.accept_button.isEnabled()


def test_show_in_folder_opens_the_take_folder_in_the_file_manager(qtbot, window, monkeypatch):
    opened: list[QUrl] = []
    # The workspace was built with QDesktopServices.openUrl; point the panel it makes at a recorder.
    monkeypatch.setattr(window.outputs, "_url_opener", lambda url: opened.append(url) or True)

    async def scenario():
        services = await open_services()
        try:
            take = quick_take(services.store, paths.data_dir() / "outputs", spec("Espresso spot"), video=clip())
            window.set_services(services)
            panel = window.outputs.queue_panel
            assert panel.model.rowCount() == 1
            panel.view.setCurrentIndex(panel.model.index(0, TAKE))
            qtbot.mouseClick(panel.reveal_button, Qt.MouseButton.LeftButton)
            return take
        finally:
            window.detach_services()
            await services.close()

    take = run_on_qt_loop(scenario)
    assert [Path(url.toLocalFile()) for url in opened] == [take.parent]


def test_retry_asks_for_the_price_then_sends_a_new_job(qtbot, window):
    outputs = window.outputs
    opened = []
    window.generate_action.confirmation_opened.connect(opened.append)

    async def scenario():
        services = await open_services()
        try:
            failed = make_job(services.store, JobState.FAILED, project="Paper boat", cost="1.68")
            window.set_services(services)
            panel = outputs.queue_panel
            assert panel.select_job(failed.id)
            assert panel.retry_button.isEnabled() and not panel.open_button.isEnabled()
            qtbot.mouseClick(panel.retry_button, Qt.MouseButton.LeftButton)
            assert len(opened) == 1
            dialog = opened[0]
            assert dialog.isVisible() and dialog.text() == "Retry 4k for $1.68?"
            assert "charges it again" in dialog.informativeText()
            await asyncio.sleep(0.3)
            assert outputs.queue_model.rowCount() == 1, "nothing is sent before the user confirms"
            qtbot.mouseClick(dialog.go_button, Qt.MouseButton.LeftButton)
            await wait_for(lambda: outputs.queue_model.rowCount() == 2, 20, "the retry in the queue")
            retry = outputs.queue_model.job_at(0)
            await wait_for(lambda: state_shown(outputs, retry.id) == "downloaded", 120, "the retry downloaded")
            return failed, retry, outputs.queue_model.index(0, TAKE).data()
        finally:
            window.detach_services()
            await services.close()

    failed, retry, title = run_on_qt_loop(scenario)
    assert retry.id != failed.id and retry.input == failed.input
    assert title.endswith("· simulated · attempt 2")


def test_cancelling_a_job_that_may_have_reached_fal_says_so(qtbot, window):
    outputs = window.outputs

    async def scenario():
        services = await open_services()
        try:
            maybe = make_job(services.store, JobState.MAYBE_SUBMITTED, project="Paper boat")
            window.set_services(services)
            panel = outputs.queue_panel
            assert panel.select_job(maybe.id)
            assert panel.maybe_box.isVisible() and panel.cancel_button.isEnabled()
            qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
            await wait_for(lambda: state_shown(outputs, maybe.id) == "cancelled", 10, "the job cancelled")
            await wait_for(lambda: outputs.pending_tasks == 0, 5, "the cancel task to end")
            return window.statusBar().currentMessage()
        finally:
            window.detach_services()
            await services.close()

    message = run_on_qt_loop(scenario)
    assert "cancel it on fal.ai/dashboard too" in message


def test_two_takes_selected_in_the_library_open_side_by_side_in_compare(qtbot, window):
    outputs = window.outputs

    async def scenario():
        services = await open_services()
        try:
            root = paths.data_dir() / "outputs"
            first = quick_take(services.store, root, spec("Espresso spot"), video=clip())
            second = quick_take(services.store, root, spec("Espresso spot", cost="1.05"), video=clip())
            window.set_services(services)
            model = outputs.library_model
            await wait_for(lambda: len(takes_listed(outputs)) == 2, 20, "both takes in the library")
            library = outputs.library_panel
            assert outputs.compare is None, "the players are made when first needed"
            assert library.select_take(first)
            selection = library.tree.selectionModel()
            index = library.proxy.mapFromSource(model.take_index(second))
            selection.select(index, selection.SelectionFlag.Select | selection.SelectionFlag.Rows)
            assert library.compare_button.isEnabled()
            qtbot.mouseClick(library.compare_button, Qt.MouseButton.LeftButton)
            compare = outputs.compare
            await wait_for(
                lambda: compare.playback_a.take is not None and compare.playback_b.take is not None,
                30,
                "both takes in compare",
            )
            return first, second, {compare.playback_a.take.path, compare.playback_b.take.path}
        finally:
            window.detach_services()
            await services.close()

    first, second, loaded = run_on_qt_loop(scenario)
    assert loaded == {first, second}
    assert outputs.player_tabs.currentWidget() is outputs.compare and outputs.player_dock.isVisible()


def test_closing_the_window_stops_the_players_and_leaves_no_task_running(qtbot, window):
    outputs = window.outputs
    app = QApplication.instance()
    app.setQuitOnLastWindowClosed(False)  # as run_app does: the session, not the last window, ends the loop

    async def scenario():
        services = await open_services()
        take = quick_take(services.store, paths.data_dir() / "outputs", spec("Paper boat"), video=clip())
        window.set_services(services)
        await wait_for(lambda: len(takes_listed(outputs)) == 1, 20, "the take in the library")
        outputs.queue_panel.select_job(outputs.queue_model.job_at(0).id)
        qtbot.mouseClick(outputs.queue_panel.open_button, Qt.MouseButton.LeftButton)
        await wait_for(lambda: loaded_take(outputs) is not None, 30, "the take in the player")
        player = outputs.player
        player.playback.play()
        await wait_for(lambda: player.playback.is_playing, 10, "the take playing")
        qtbot.mouseClick(window.cost_meter.generate_button, Qt.MouseButton.LeftButton)
        await wait_for(lambda: services.runner.active_jobs(), 20, "a job being followed")

        window.close_without_asking()  # what the session then does: detach, close the services
        assert not outputs.attached and outputs.queue_model is None
        window.detach_services()
        await services.close()
        await asyncio.sleep(0.1)
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return take, others, services.runner.active_jobs()

    try:
        take, tasks_left, jobs_followed = run_on_qt_loop(scenario)
    finally:
        app.setQuitOnLastWindowClosed(True)
    assert tasks_left == [] and jobs_followed == []
    assert outputs.pending_tasks == 0
    for playback in (outputs.player.playback, outputs.compare.playback_a, outputs.compare.playback_b):
        assert playback.player.playbackState() == QMediaPlayer.PlaybackState.StoppedState
        assert playback.frame_cache is None
    assert take.exists(), "closing keeps the takes"

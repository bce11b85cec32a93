"""The queue panel as a user works it: actions per state, the maybe-submitted warning, logs, notifications."""

from __future__ import annotations

import shutil

import pytest
from player_clips import clip
from PySide6.QtCore import Qt, QUrl
from queue_jobs import make_job

from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import JobState
from kling_studio.ui.queue_model import QueueModel
from kling_studio.ui.queue_panel import FAL_DASHBOARD_URL, JobNotifier, QueuePanel


@pytest.fixture
def store(tmp_path):
    with JobStore(tmp_path / "jobs.sqlite3") as store:
        yield store


@pytest.fixture
def jobs(store, tmp_path):
    video = tmp_path / "outputs" / "espresso-spot" / "take.mp4"
    video.parent.mkdir(parents=True)
    shutil.copy(clip(), video)
    return {state: make_job(store, state, output=video if state is JobState.DOWNLOADED else None)
            for state in JobState}


@pytest.fixture
def panel(qtbot, store, jobs):
    opened: list[QUrl] = []
    model = QueueModel(store)
    panel = QueuePanel(model, url_opener=lambda url: opened.append(url) or True)
    panel.opened = opened
    panel.resize(900, 600)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: model.rowCount() == len(JobState))  # the view fetched the first page
    yield panel
    model.close()


def test_a_queued_job_can_be_cancelled_but_not_retried_or_opened(qtbot, panel, jobs):
    assert panel.select_job(jobs[JobState.QUEUED].id)
    assert panel.cancel_button.isEnabled()
    assert not panel.retry_button.isEnabled() and not panel.open_button.isEnabled()
    with qtbot.waitSignal(panel.cancel_requested) as signal:
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert signal.args == [jobs[JobState.QUEUED].id]


def test_a_failed_job_is_retried_through_the_window_which_confirms_the_price(qtbot, panel, jobs):
    panel.select_job(jobs[JobState.FAILED].id)
    assert panel.retry_button.isEnabled() and not panel.cancel_button.isEnabled()
    with qtbot.waitSignal(panel.retry_requested) as signal:
        qtbot.mouseClick(panel.retry_button, Qt.MouseButton.LeftButton)
    assert signal.args[0].id == jobs[JobState.FAILED].id


def test_a_downloaded_take_opens_and_shows_its_folder(qtbot, panel, jobs):
    job = jobs[JobState.DOWNLOADED]
    panel.select_job(job.id)
    with qtbot.waitSignal(panel.open_take_requested) as signal:
        qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
    assert signal.args[0].output_path == job.output_path
    qtbot.mouseClick(panel.reveal_button, Qt.MouseButton.LeftButton)
    assert panel.opened == [QUrl.fromLocalFile(str(job.output_path.parent))]


def test_maybe_submitted_explains_links_to_fal_and_submits_again_only_when_asked(qtbot, panel, jobs):
    panel.select_job(jobs[JobState.QUEUED].id)
    assert not panel.maybe_box.isVisible()
    panel.select_job(jobs[JobState.MAYBE_SUBMITTED].id)
    assert panel.maybe_box.isVisible()
    assert "pay twice" in panel.maybe_text.text()
    panel.maybe_text.linkActivated.emit(FAL_DASHBOARD_URL)
    assert panel.opened == [QUrl(FAL_DASHBOARD_URL)]
    with qtbot.waitSignal(panel.resubmit_requested) as signal:
        qtbot.mouseClick(panel.resubmit_button, Qt.MouseButton.LeftButton)
    assert signal.args[0].id == jobs[JobState.MAYBE_SUBMITTED].id


def test_logs_show_on_demand_and_follow_the_job(qtbot, panel, store, jobs):
    running = jobs[JobState.RUNNING]
    panel.select_job(running.id)
    assert not panel.logs.isVisible()
    qtbot.mouseClick(panel.logs_button, Qt.MouseButton.LeftButton)
    assert panel.logs.isVisible()
    assert "Generating shot 1 of 2" in panel.logs.toPlainText()
    more = [
        {"message": "Generating shot 1 of 2", "timestamp": "2026-11-22T08:00:01"},
        {"message": "Generating shot 2 of 2", "timestamp": "2026-11-22T08:00:09"},
    ]
    panel.model.on_job_event(store.update_progress(running.id, logs=more))
    qtbot.waitUntil(lambda: "shot 2 of 2" in panel.logs.toPlainText())


def test_the_download_bar_is_drawn(qtbot, panel, jobs):
    panel.select_job(jobs[JobState.DOWNLOADING].id)
    image = panel.view.viewport().grab().toImage()
    assert not image.isNull()
    assert "1 jobs" not in panel.count_label.text() and str(len(JobState)) in panel.count_label.text()


def test_notifications_once_per_finished_or_failed_job(qtbot, jobs):
    notifier = JobNotifier(tray=None)
    told: list[tuple[str, str]] = []
    notifier.notified.connect(lambda title, message: told.append((title, message)))
    for job in jobs.values():
        notifier.on_job_event(job)
    notifier.on_job_event(jobs[JobState.DOWNLOADED])  # the same event again: not told twice
    assert sorted(title for title, _ in told) == [
        "Job expired — Espresso spot", "Job failed — Espresso spot", "Take ready — Espresso spot"
    ]
    assert any("content checker" in message for _, message in told)

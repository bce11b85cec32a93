"""The queue model over a real job store: Qt's model rules, paging, batched updates from runner events, posters."""

from __future__ import annotations

import shutil

import pytest
from player_clips import clip
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from queue_jobs import make_job

from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import JobState
from kling_studio.ui.queue_model import (
    ELAPSED,
    PRICE,
    STATE,
    TAKE,
    JobRole,
    ProgressRole,
    QueueModel,
    retry_spec,
)


@pytest.fixture
def store(tmp_path):
    with JobStore(tmp_path / "jobs.sqlite3") as store:
        yield store


@pytest.fixture
def make_model(qtbot, store):
    """Opens the panel's model on the store as it is now (like the app at start)."""
    made = []

    def factory():
        made.append(QueueModel(store, page_size=10))
        return made[-1]

    yield factory
    for model in made:
        model.close()


def every_state(store, tmp_path):
    video = tmp_path / "outputs" / "espresso-spot" / "take.mp4"
    video.parent.mkdir(parents=True)
    shutil.copy(clip(), video)
    jobs = {}
    for state in JobState:
        jobs[state] = make_job(store, state, output=video if state is JobState.DOWNLOADED else None)
    return jobs


def test_the_model_follows_qts_rules_with_every_state_and_paging(qtbot, qtmodeltester, store, tmp_path):
    every_state(store, tmp_path)
    for _ in range(15):
        make_job(store, JobState.QUEUED, project="Backlog")
    model = QueueModel(store, page_size=10)
    qtmodeltester.check(model, force_py=True)
    model.close()


def test_rows_are_fetched_a_page_at_a_time_newest_first(qtbot, store, make_model):
    for _ in range(25):
        make_job(store, JobState.QUEUED)
    model = make_model()
    assert model.rowCount() == 0 and model.canFetchMore()
    model.fetchMore()
    assert model.rowCount() == 10
    model.fetchMore()
    model.fetchMore()
    assert model.rowCount() == 25 and not model.canFetchMore()
    newest_first = [job.id for job in store.list()]
    assert [model.job_at(row).id for row in range(25)] == newest_first


def test_what_each_cell_says(qtbot, store, make_model, tmp_path):
    jobs = every_state(store, tmp_path)
    model = make_model()
    while model.canFetchMore():
        model.fetchMore()

    def cell(state, column, role=Qt.ItemDataRole.DisplayRole):
        return model.index(model.row_of(jobs[state].id), column).data(role)

    assert cell(JobState.QUEUED, STATE) == "queued · #3 in line"
    assert cell(JobState.DOWNLOADING, STATE) == "downloading 42 %"
    assert cell(JobState.DOWNLOADING, STATE, ProgressRole) == pytest.approx(0.42)
    assert cell(JobState.QUEUED, STATE, ProgressRole) is None
    assert "content checker" in cell(JobState.FAILED, STATE)
    assert cell(JobState.MAYBE_SUBMITTED, STATE) == "may have been submitted"
    assert cell(JobState.QUEUED, PRICE) == "$2.10"
    assert cell(JobState.QUEUED, TAKE).startswith("Espresso spot\n")
    assert "simulated" in cell(JobState.QUEUED, TAKE)
    assert cell(JobState.DOWNLOADED, ELAPSED).endswith(" s")
    assert cell(JobState.DOWNLOADED, TAKE, JobRole).output_path.name == "take.mp4"


def test_a_burst_of_runner_events_becomes_one_update(qtbot, store, make_model):
    jobs = [make_job(store, JobState.QUEUED) for _ in range(5)]
    model = make_model()
    model.fetchMore()
    changes = []
    model.dataChanged.connect(lambda top, bottom, roles: changes.append((top.row(), bottom.row())))
    for position in range(20):  # 100 events inside one frame
        for job in jobs:
            model.on_job_event(store.update_progress(job.id, queue_position=position))
    qtbot.waitUntil(lambda: model.flushes == 1)
    assert len(changes) == 1
    assert changes[0] == (0, 4)
    assert all(model.index(row, STATE).data() == "queued · #20 in line" for row in range(5))


def test_a_new_job_appears_at_the_top_and_a_finished_one_changes_in_place(qtbot, store, make_model):
    old = make_job(store, JobState.RUNNING)
    model = make_model()
    model.fetchMore()
    new = make_job(store, JobState.SUBMITTING, project="Fresh")
    with qtbot.waitSignal(model.rowsInserted, timeout=2000):
        model.on_job_event(new)
    assert model.job_at(0).id == new.id and model.rowCount() == 2
    assert model.total_jobs() == 2

    failed = store.mark_failed(old.id, "server", "fal had an internal error.", charged=False)
    model.on_job_event(failed)
    qtbot.waitUntil(lambda: model.job_at(1).state is JobState.FAILED)
    assert model.rowCount() == 2


def test_a_downloaded_take_gets_a_poster_made_off_the_ui_thread(qtbot, store, make_model, tmp_path):
    jobs = every_state(store, tmp_path)
    model = make_model()
    while model.canFetchMore():
        model.fetchMore()
    index = model.index(model.row_of(jobs[JobState.DOWNLOADED].id), TAKE)
    with qtbot.waitSignal(model.poster_ready, timeout=10_000):
        assert index.data(Qt.ItemDataRole.DecorationRole) is None  # asked for: being made
    poster = index.data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(poster, QImage) and poster.width() == 96 and not poster.isNull()


def test_retry_asks_for_the_same_thing_again_and_remembers_the_origin(store):
    failed = make_job(store, JobState.FAILED)
    again = retry_spec(failed)
    assert again.origin_job_id == failed.id
    assert again.input == failed.input and again.estimated_cost == failed.estimated_cost
    assert store.create_submitting(again).attempt == 2

"""The output library: a finished 4K job shows up and plays at full size; search; reviews survive a restart and
drive the project's cost per accepted second."""

from __future__ import annotations

from decimal import Decimal

import pytest
from library_takes import generate_with_simulator, quick_take, spec
from player_clips import FrameSizes
from PySide6.QtCore import QItemSelectionModel, Qt

from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import JobState
from kling_studio.services.takes import CheckItem, Verdict, load_take
from kling_studio.ui.library.library_model import COST, LibraryModel, TakeRole
from kling_studio.ui.library.library_panel import LibraryPanel
from kling_studio.ui.player.player_widget import PlayerWidget


@pytest.fixture
def store(tmp_path):
    with JobStore(tmp_path / "jobs.sqlite3") as store:
        yield store


@pytest.fixture
def outputs(tmp_path):
    return tmp_path / "outputs"


@pytest.fixture
def open_library(qtbot, store, outputs):
    """Opens the library on the outputs folder as it is now (each call is like a fresh start of the app)."""
    opened = []

    def factory() -> LibraryPanel:
        model = LibraryModel(outputs, store.ledger)
        panel = LibraryPanel(model)
        panel.resize(1200, 700)
        qtbot.addWidget(panel)
        panel.show()
        with qtbot.waitSignal(model.reloaded, timeout=10_000):
            model.reload()
        opened.append(model)
        return panel

    yield factory
    for model in opened:
        model.close()


def test_a_finished_4k_job_appears_in_the_library_and_plays_at_full_size(qtbot, store, outputs, tmp_path,
                                                                         open_library):
    job = generate_with_simulator(
        store, outputs, tmp_path / "locks", spec("Espresso spot", shots=(("Espresso pours", 2), ("Crema", 3))),
        resolution="full",
    )
    assert job.state is JobState.DOWNLOADED

    panel = open_library()
    assert panel.select_take(job.output_path)
    take = panel.current_take()
    assert take.job_id == job.id and take.shot_seconds == (2, 3)
    assert panel.details.fields["request"].text() == job.request_id

    player = PlayerWidget()
    qtbot.addWidget(player)
    player.resize(960, 640)
    player.show()
    recorder = FrameSizes(player)  # a test-side QVideoSink listener, for the player's whole life
    sizes = recorder.sizes
    player.view.video_item.videoSink().videoFrameChanged.connect(recorder.on_frame)
    with qtbot.waitSignal(panel.play_requested) as request:
        qtbot.mouseClick(panel.play_button, Qt.MouseButton.LeftButton)
    played = request.args[0]
    with qtbot.waitSignal(player.playback.loaded, timeout=20_000):
        player.load(played.video_path, shot_starts=[2.0])
    assert "3840×2160" in player.info_label.text()
    player.playback.play()
    qtbot.waitUntil(lambda: sizes.count((3840, 2160)) >= 12, timeout=20_000)
    player.playback.pause()
    player.close_media()


def test_takes_are_grouped_by_project_and_found_by_prompt(qtbot, store, outputs, open_library):
    quick_take(store, outputs, spec("Espresso spot", shots=(("A matte black espresso machine", 5),)))
    label = quick_take(store, outputs, spec("Espresso spot", shots=(("Close-up of the brass label", 5),)))
    quick_take(store, outputs, spec("Night drive", shots=(("Neon city at night", 5),)))
    panel = open_library()
    assert [p.name for p in panel.model.projects()] == ["Night drive", "Espresso spot"]
    assert [len(p.takes) for p in panel.model.projects()] == [1, 2]

    qtbot.keyClicks(panel.search, "brass LABEL")
    visible = []
    for p_row in range(panel.proxy.rowCount()):
        project = panel.proxy.index(p_row, 0)
        for t_row in range(panel.proxy.rowCount(project)):
            visible.append(panel.proxy.index(t_row, 0, project).data(TakeRole).video_path)
    assert visible == [label]
    panel.search.clear()
    assert panel.proxy.rowCount() == 2


def test_a_review_survives_a_restart_and_sets_the_cost_per_accepted_second(qtbot, store, outputs, open_library):
    five = quick_take(store, outputs, spec("Espresso spot", cost="2.10", shots=(("Pour", 2), ("Crema", 3))))
    quick_take(store, outputs, spec("Espresso spot", cost="1.05", shots=(("Steam", 5),)))
    panel = open_library()
    assert panel.model.index(0, COST).data() == "none accepted yet"

    panel.select_take(five)
    review = panel.review
    qtbot.mouseClick(review.accept_button, Qt.MouseButton.LeftButton)
    review.checks[CheckItem.DELIVERY_FORMAT].setChecked(True)
    review.checks[CheckItem.AI_DISCLOSURE].setChecked(True)
    qtbot.keyClicks(review.note, "Approved by the client on the call.")
    with qtbot.waitSignal(review.review_saved, timeout=10_000):
        qtbot.mouseClick(review.save_button, Qt.MouseButton.LeftButton)

    def costed() -> None:  # (2.10 + 1.05) / 5 accepted seconds = 0.63
        assert panel.model.index(0, COST).data() == "$0.630 / accepted s · sim"

    qtbot.waitUntil(costed, timeout=10_000)
    assert panel.model.projects()[0].cost.per_second == Decimal("0.63")
    assert panel.export_button.isEnabled()

    restarted = open_library()  # a new model reading the sidecars from disk
    assert restarted.select_take(five)
    assert restarted.review.accept_button.isChecked()
    assert restarted.review.checks[CheckItem.AI_DISCLOSURE].isChecked()
    assert not restarted.review.checks[CheckItem.RIGHTS_CLEAR].isChecked()
    assert restarted.review.note.toPlainText() == "Approved by the client on the call."
    assert load_take(five).review.verdict is Verdict.ACCEPTED


def test_two_selected_takes_can_be_compared(qtbot, store, outputs, open_library):
    first = quick_take(store, outputs, spec("Espresso spot"))
    second = quick_take(store, outputs, spec("Espresso spot"))
    panel = open_library()
    panel.select_take(first)
    assert not panel.compare_button.isEnabled()
    index = panel.proxy.mapFromSource(panel.model.take_index(second))
    panel.tree.selectionModel().select(
        index, QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    )
    assert panel.compare_button.isEnabled()
    with qtbot.waitSignal(panel.compare_requested) as request:
        qtbot.mouseClick(panel.compare_button, Qt.MouseButton.LeftButton)
    assert {t.video_path for t in request.args} == {first, second}


def test_the_library_model_follows_qts_rules(qtbot, qtmodeltester, store, outputs):
    quick_take(store, outputs, spec("Espresso spot"))
    quick_take(store, outputs, spec("Espresso spot"))
    quick_take(store, outputs, spec("Night drive"))
    model = LibraryModel(outputs, store.ledger)
    with qtbot.waitSignal(model.reloaded, timeout=10_000):
        model.reload()
    qtmodeltester.check(model, force_py=True)
    model.close()


def test_an_empty_library_says_where_takes_come_from(qtbot, open_library):
    panel = open_library()
    assert panel.empty.isVisible() and "No takes yet" in panel.empty.text()

"""The review panel on its own: one verdict at a time, the checklist, and a save that fails says why."""

from __future__ import annotations

from library_takes import quick_take, spec
from PySide6.QtCore import Qt

from kling_studio.services.job_store import JobStore
from kling_studio.services.takes import CheckItem, Review, Verdict, load_take
from kling_studio.ui.review.review_panel import ReviewPanel


def test_accept_and_reject_exclude_each_other_and_neither_means_unreviewed(qtbot, tmp_path):
    with JobStore(tmp_path / "jobs.sqlite3") as store:
        video = quick_take(store, tmp_path / "outputs", spec())
    panel = ReviewPanel()
    qtbot.addWidget(panel)
    panel.set_take(load_take(video))
    assert panel.status.text() == "Not reviewed yet"
    assert panel.checks[CheckItem.DELIVERY_FORMAT].text().startswith("Delivery format")
    assert len(panel.checks) == 6

    qtbot.mouseClick(panel.accept_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.reject_button, Qt.MouseButton.LeftButton)
    assert panel.reject_button.isChecked() and not panel.accept_button.isChecked()
    qtbot.mouseClick(panel.reject_button, Qt.MouseButton.LeftButton)
    assert panel.review() == Review(Verdict.UNREVIEWED, frozenset(), "")

    panel.checks[CheckItem.NO_MISLEADING_CLAIMS].setChecked(True)
    qtbot.mouseClick(panel.reject_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(panel.review_saved, timeout=10_000) as saved:
        qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    take = saved.args[0]
    assert take.review.verdict is Verdict.REJECTED
    assert take.review.checks == frozenset({CheckItem.NO_MISLEADING_CLAIMS})
    assert panel.status.text().startswith("Saved ")


def test_a_save_that_cannot_happen_says_why(qtbot, tmp_path):
    with JobStore(tmp_path / "jobs.sqlite3") as store:
        video = quick_take(store, tmp_path / "outputs", spec())
    panel = ReviewPanel()
    qtbot.addWidget(panel)
    panel.set_take(load_take(video))
    video.with_suffix(".json").unlink()  # the sidecar went missing meanwhile
    with qtbot.waitSignal(panel.save_failed, timeout=10_000) as failed:
        qtbot.mouseClick(panel.save_button, Qt.MouseButton.LeftButton)
    assert "has no sidecar" in failed.args[0]
    assert "has no sidecar" in panel.status.text() and panel.save_button.isEnabled()


def test_nothing_to_review_disables_the_form(qtbot):
    panel = ReviewPanel()
    qtbot.addWidget(panel)
    assert not panel.save_button.isEnabled() and not panel.accept_button.isEnabled()

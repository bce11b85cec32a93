"""The accessible shot list: a valid Qt model over the storyboard, in step with the timeline's selection."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt

from kling_studio.core.limits import Mode
from kling_studio.ui.shot_list import (
    ProblemRole,
    ShotIdRole,
    ShotListModel,
    ShotListView,
    excerpt,
    row_change,
)

CTRL = Qt.KeyboardModifier.ControlModifier


def rows(model: ShotListModel) -> list[str]:
    return [model.index(r, 0).data() for r in range(model.rowCount())]


def test_model_passes_qtmodeltester_through_edits(qtmodeltester, project, editor):
    model = ShotListModel(project)
    qtmodeltester.check(model, force_py=True)
    editor.resize_shot("shot-b", 2)
    editor.move_shot("shot-c", 0)
    editor.set_shot_prompt("shot-a", "")
    editor.duplicate_shot("shot-b")
    editor.remove_shot("shot-a")
    editor.set_mode(Mode.SINGLE)
    editor.undo_stack.undo()
    qtmodeltester.check(model, force_py=True)


def test_rows_read_number_length_and_prompt(project, editor, cost_for):
    model = ShotListModel(project, cost_for)
    assert rows(model) == [
        "1. 4 s — A lighthouse at dawn, waves below",
        "2. 3 s — Close-up of the keeper lighting the lamp",
        "3. 3 s — Wide aerial pull-back over the sea",
    ]
    spoken = model.index(1, 0).data(Qt.ItemDataRole.AccessibleTextRole)
    assert spoken == f"Shot 2 of 3, 3 seconds, {cost_for('shot-b')}, Close-up of the keeper lighting the lamp"
    assert model.index(2, 0).data(ShotIdRole) == "shot-c"
    editor.resize_shot("shot-b", 1)
    editor.set_shot_prompt("shot-b", "")
    assert rows(model)[1] == "2. 1 s — (no prompt yet)"
    assert model.index(1, 0).data(ProblemRole) == "Shot 2 has no prompt."
    assert "problem: Shot 2 has no prompt." in model.index(1, 0).data(Qt.ItemDataRole.AccessibleTextRole)


def test_single_prompt_is_one_row(project, editor):
    model = ShotListModel(project)
    editor.set_mode(Mode.SINGLE, keep="shots")
    assert model.rowCount() == 1
    assert rows(model)[0].startswith("Single prompt · 10 s — A lighthouse at dawn")
    assert model.rowCount(model.index(0, 0)) == 0
    assert model.data(QModelIndex()) is None


def test_long_prompts_are_cut_at_a_word():
    text = "A slow dolly-in across a sunlit marble kitchen at golden hour while steam rises from the cup"
    cut = excerpt(text)
    assert cut.endswith("…") and len(cut) <= 61 and text.startswith(cut[:-1])


def test_view_follows_the_shared_selection_both_ways(qtbot, project, selection, editor):
    model = ShotListModel(project)
    view = ShotListView(model, selection, editor)
    qtbot.addWidget(view)
    view.show()
    assert view.currentIndex().row() == 0
    selection.select("shot-c")
    assert view.currentIndex().row() == 2
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert selection.current_id == "shot-b"
    qtbot.keyClick(view, Qt.Key.Key_Up, CTRL)
    assert [s.id for s in project.storyboard.shots] == ["shot-b", "shot-a", "shot-c"]
    assert view.currentIndex().row() == 0 and selection.current_id == "shot-b"
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert [s.id for s in project.storyboard.shots] == ["shot-a", "shot-c"]
    assert selection.current_id == "shot-a" and view.currentIndex().row() == 0
    with qtbot.waitSignal(view.edit_requested) as blocker:
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert blocker.args == ["shot-a"]


def test_list_and_timeline_share_one_selection(qtbot, timeline, project, selection):
    model = ShotListModel(project)
    view = ShotListView(model, selection)
    qtbot.addWidget(view)
    view.show()
    qtbot.keyClick(timeline.view, Qt.Key.Key_End)
    assert view.currentIndex().row() == 2
    view.setCurrentIndex(model.index(1, 0))
    assert timeline.scene.block("shot-b").current


def test_one_step_changes_are_told_as_such():
    assert row_change(["a", "b", "c"], ["a", "x", "b", "c"]) == ("insert", 1, 1)
    assert row_change(["a", "b", "c"], ["a", "c"]) == ("remove", 1, 1)
    assert row_change(["a", "b", "c"], ["c", "a", "b"]) == ("move", 2, 0)
    assert row_change(["a", "b", "c"], ["b", "c", "a"]) == ("move", 0, 2)
    assert row_change(["a", "b", "c"], ["b", "a", "c"]) in {("move", 0, 1), ("move", 1, 0)}
    assert row_change(["a", "b", "c"], ["c", "b", "a"]) is None
    assert row_change(["a", "b"], [""]) is None


def test_a_move_keeps_the_view_in_place_instead_of_resetting(qtbot, project, editor, selection):
    model = ShotListModel(project)
    view = ShotListView(model, selection, editor)
    qtbot.addWidget(view)
    resets, moves = [], []
    model.modelReset.connect(lambda: resets.append(1))
    model.rowsMoved.connect(lambda *args: moves.append(args[1:2] + args[4:5]))
    selection.select("shot-c")
    editor.move_shot("shot-c", 0)
    assert moves == [(2, 0)] and not resets
    assert rows(model)[0].startswith("1. 3 s — Wide aerial")
    assert view.currentIndex().row() == 0, "the current shot stays current at its new row"
    editor.set_mode(Mode.SINGLE)
    assert resets == [1]

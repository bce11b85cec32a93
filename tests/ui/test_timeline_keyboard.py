"""The timeline from the keyboard alone, its context menu, and what each block says."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack

from kling_studio.core.limits import Mode, ShotType
from kling_studio.core.project import Project
from kling_studio.core.storyboard import Shot, Storyboard
from kling_studio.ui.edits import ProjectEditor
from kling_studio.ui.selection import ShotSelection
from kling_studio.ui.timeline import TimelineWidget

CTRL = Qt.KeyboardModifier.ControlModifier


def make_timeline(qtbot, project: Project):
    stack = QUndoStack()
    editor = ProjectEditor(project, stack)
    selection = ShotSelection(project)
    widget = TimelineWidget(project, editor, selection, lambda shot_id: "$0.00")
    qtbot.addWidget(widget)
    widget.resize(1280, 200)
    widget.show()
    qtbot.waitExposed(widget)
    return widget, stack, selection


def type_prompt(qtbot, view, text: str) -> None:
    """F2 opens the inline editor on the current shot; type, then Enter."""
    qtbot.keyClick(view, Qt.Key.Key_F2)
    inline = view.inline_editor
    assert inline is not None and inline.isVisible()
    qtbot.keyClicks(inline, text)
    qtbot.keyClick(inline, Qt.Key.Key_Return)
    assert view.inline_editor is None


def prompts(project):
    return [s.prompt for s in project.storyboard.shots]


def test_keyboard_only_create_type_resize_reorder(qtbot):
    project = Project(storyboard=Storyboard(mode=Mode.MULTI))
    timeline, stack, selection = make_timeline(qtbot, project)
    view = timeline.view
    view.setFocus()
    assert timeline.scene.free_space.text == "15 s free — press Insert to add a shot"

    for text in ("A red door opens", "A cat walks in", "The door slams"):
        qtbot.keyClick(view, Qt.Key.Key_Insert)
        type_prompt(qtbot, view, text)
    assert prompts(project) == ["A red door opens", "A cat walks in", "The door slams"]
    assert [s.duration for s in project.storyboard.shots] == [3, 3, 3]
    assert selection.current_index == 2

    qtbot.keyClick(view, Qt.Key.Key_Left)  # shot 2
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    qtbot.keyClick(view, Qt.Key.Key_Minus)
    assert [s.duration for s in project.storyboard.shots] == [3, 4, 3]

    qtbot.keyClick(view, Qt.Key.Key_Left, CTRL)  # move the cat to the front
    assert prompts(project) == ["A cat walks in", "A red door opens", "The door slams"]
    assert selection.current_index == 0, "the moved shot stays current"
    assert [b.label.title for b in timeline.scene.blocks()] == [
        "Shot 1 · 4 s",
        "Shot 2 · 3 s",
        "Shot 3 · 3 s",
    ]

    # Each typed prompt is one command (merged keystrokes), each insert, resize and move one more.
    assert stack.count() == 3 + 3 + 3 + 1
    while stack.canUndo():
        stack.undo()
    assert project.storyboard.shots == ()


def test_insert_on_a_single_prompt_makes_it_shot_one(qtbot):
    project = Project()
    project.storyboard.set_prompt("A quiet street at night")
    timeline, _stack, selection = make_timeline(qtbot, project)
    assert [b.label.title for b in timeline.scene.blocks()] == ["Single prompt · 5 s"]
    qtbot.keyClick(timeline.view, Qt.Key.Key_N, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert project.storyboard.mode is Mode.MULTI
    assert prompts(project) == ["A quiet street at night", ""]
    assert selection.current_index == 1
    assert [b.label.title for b in timeline.scene.blocks()] == ["Shot 1 · 5 s", "Shot 2 · 3 s"]


def test_delete_and_duplicate_keys(qtbot, timeline, project, selection):
    view = timeline.view
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert selection.current_id == "shot-b"
    qtbot.keyClick(view, Qt.Key.Key_D, CTRL)
    copy = selection.current_id
    assert [s.id for s in project.storyboard.shots] == ["shot-a", "shot-b", copy, "shot-c"]
    assert project.storyboard.shots[2].prompt == project.storyboard.shots[1].prompt
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert [s.id for s in project.storyboard.shots] == ["shot-a", "shot-b", "shot-c"]
    assert selection.current_id == "shot-c", "the neighbour becomes current"
    assert [b.shot_id for b in timeline.scene.blocks()] == ["shot-a", "shot-b", "shot-c"]


def test_enter_asks_to_edit_the_current_shot(qtbot, timeline, selection):
    selection.select("shot-c")
    with qtbot.waitSignal(timeline.edit_requested) as blocker:
        qtbot.keyClick(timeline.view, Qt.Key.Key_Return)
    assert blocker.args == ["shot-c"]


def test_escape_in_the_inline_editor_puts_the_prompt_back(qtbot, timeline, project, undo_stack):
    original = project.storyboard.shots[0].prompt
    qtbot.keyClick(timeline.view, Qt.Key.Key_F2)
    qtbot.keyClicks(timeline.view.inline_editor, "Something else")
    assert project.storyboard.shots[0].prompt == "Something else", "typing edits the model live"
    qtbot.keyClick(timeline.view.inline_editor, Qt.Key.Key_Escape)
    assert project.storyboard.shots[0].prompt == original
    assert undo_stack.count() == 0


def test_growing_past_fifteen_seconds_is_refused_with_the_reason_shown(qtbot, timeline, project, undo_stack):
    project.storyboard.resize_shot(0, 9)  # 9 + 3 + 3 = 15 s
    with qtbot.waitSignal(timeline.edit_refused) as blocker:
        qtbot.keyClick(timeline.view, Qt.Key.Key_Plus)
    assert "15 s" in blocker.args[0]
    assert timeline.message_label.text() == blocker.args[0]
    assert [s.duration for s in project.storyboard.shots] == [9, 3, 3]
    assert undo_stack.count() == 0
    assert not timeline.add_button.isEnabled(), "no room for another shot"
    assert timeline.scene.free_space.text == "15 s — full"


def test_a_shot_cannot_shrink_below_one_second(qtbot, timeline, project, selection):
    project.storyboard.resize_shot(1, 1)
    selection.select("shot-b")
    qtbot.keyClick(timeline.view, Qt.Key.Key_Minus)
    assert project.storyboard.shots[1].duration == 1


def test_context_menu_offers_split_merge_duplicate_delete_and_says_why_not(qtbot, timeline, project):
    menu = timeline.view.context_menu_for("shot-c")
    actions = {a.objectName(): a for a in menu.actions() if a.objectName()}
    assert not actions["Merge with next"].isEnabled()
    assert "last shot" in actions["Merge with next"].toolTip()
    actions["Split in the middle"].trigger()
    assert [s.duration for s in project.storyboard.shots] == [4, 3, 1, 2]

    menu = timeline.view.context_menu_for("shot-a")
    actions = {a.objectName(): a for a in menu.actions() if a.objectName()}
    actions["Merge with next"].trigger()
    assert [s.duration for s in project.storyboard.shots] == [7, 1, 2]
    assert project.storyboard.shots[0].prompt.count("\n") == 1

    menu = timeline.view.context_menu_for("shot-a")
    {a.objectName(): a for a in menu.actions()}["Delete"].trigger()
    assert project.storyboard.shots[0].id != "shot-a"


def test_empty_and_out_of_bounds_shots_are_outlined_red(qtbot, timeline, project, editor):
    assert not any(b.label.invalid for b in timeline.scene.blocks())
    editor.set_shot_prompt("shot-b", "   ")
    block = timeline.scene.block("shot-b")
    assert block.label.invalid
    assert "Shot 2" in block.toolTip()
    assert not timeline.scene.block("shot-a").label.invalid
    editor.set_shot_prompt("shot-b", "The keeper waves")
    assert not block.label.invalid


def test_a_loaded_sixteen_second_storyboard_shows_the_overrun(qtbot):
    shots = (Shot("a", 8, id="x"), Shot("b", 8, id="y"))
    project = Project(storyboard=Storyboard(mode=Mode.MULTI, shots=shots))
    timeline, _stack, _selection = make_timeline(qtbot, project)
    assert timeline.scene.free_space.text == "1 s over the 15 s limit"
    assert any(b.label.invalid for b in timeline.scene.blocks())


@pytest.mark.parametrize(
    ("shot_type", "title"),
    [
        (ShotType.CUSTOMIZE, "Single prompt · 5 s"),
        (ShotType.INTELLIGENT, "Intelligent — Kling plans the cuts · 5 s"),
    ],
)
def test_single_prompt_shows_one_block_labelled_by_shot_type(qtbot, shot_type, title):
    project = Project()
    project.settings.set("shot_type", shot_type)
    project.storyboard.set_prompt("A glass of water on a table")
    timeline, _stack, _selection = make_timeline(qtbot, project)
    [block] = timeline.scene.blocks()
    assert block.label.title == title
    assert block.shot_id == ""
    qtbot.keyClick(timeline.view, Qt.Key.Key_Plus)
    assert project.storyboard.duration == 6
    assert timeline.scene.blocks()[0].label.title == title.replace("5 s", "6 s")


def test_switching_mode_rebuilds_the_blocks(qtbot, timeline, project, editor):
    editor.set_shot_type(ShotType.INTELLIGENT, keep="shots")
    [block] = timeline.scene.blocks()
    assert block.label.title == "Intelligent — Kling plans the cuts · 10 s"
    assert timeline.length_label.text() == "Intelligent · 10 of 15 s"
    editor.undo_stack.undo()
    assert [b.shot_id for b in timeline.scene.blocks()] == ["shot-a", "shot-b", "shot-c"]


def test_screen_readers_hear_the_timeline_and_the_current_shot(qtbot, timeline, selection, cost_for):
    description = timeline.view.accessibleDescription()
    assert description.startswith("3 shots, 10 of 15 s used. Current: Shot 1 · 4 s, ")
    selection.select("shot-c")
    expected = f"Current: Shot 3 · 3 s, {cost_for('shot-c')}, Wide aerial pull-back over the sea"
    assert timeline.view.accessibleDescription() == f"3 shots, 10 of 15 s used. {expected}"


def test_the_timeline_keeps_its_keys_when_the_window_has_shortcuts_on_them(qtbot, project, editor, selection):
    from PySide6.QtGui import QAction, QKeySequence
    from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

    window = QWidget()
    qtbot.addWidget(window)
    timeline = TimelineWidget(project, editor, selection, lambda shot_id: "")
    QVBoxLayout(window).addWidget(timeline)
    fired = []
    for keys in ("Delete", "Ctrl+D", "Return"):
        action = QAction(keys, window)
        action.setShortcut(QKeySequence(keys))
        action.triggered.connect(lambda _=False, k=keys: fired.append(k))
        window.addAction(action)
    window.show()
    window.windowHandle().requestActivate()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)  # shortcuts need an active window
    timeline.view.setFocus()
    qtbot.keyClick(timeline.view, Qt.Key.Key_D, CTRL)
    qtbot.keyClick(timeline.view, Qt.Key.Key_Delete)
    assert len(project.storyboard.shots) == 3  # one duplicated, then deleted by the timeline
    assert fired == []
    timeline.detach()

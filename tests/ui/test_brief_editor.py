"""The brief editor: six sections with placeholders, the assembled prompt, presets, following the brief."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack

from kling_studio.core.brief import SECTIONS
from kling_studio.core.presets import list_presets
from kling_studio.core.project import Project
from kling_studio.ui.brief_editor import DETACHED_TEXT, FOLLOWS_TEXT, BriefEditor
from kling_studio.ui.edits import ProjectEditor


@pytest.fixture
def setup(qtbot):
    project = Project()
    stack = QUndoStack()
    editor = ProjectEditor(project, stack)
    widget = BriefEditor(project, editor)
    qtbot.addWidget(widget)
    widget.show()
    return project, stack, editor, widget


def test_six_sections_with_the_cores_placeholders(setup):
    _project, _stack, _editor, widget = setup
    assert [widget.fields[s.key].placeholderText() for s in SECTIONS] == [s.placeholder for s in SECTIONS]
    assert [widget.fields[s.key].accessibleName() for s in SECTIONS] == [
        "Scene",
        "Subject",
        "Important details",
        "Audio",
        "Use case",
        "Constraints",
    ]


def test_typing_assembles_the_prompt_and_one_undo_takes_back_the_burst(qtbot, setup):
    project, stack, _editor, widget = setup
    qtbot.keyClicks(widget.fields["scene"], "a rooftop at dawn")
    qtbot.keyClicks(widget.fields["subject"], "a red kite")

    assert project.brief.get("scene") == "a rooftop at dawn"
    assert widget.preview.toPlainText() == "Scene: a rooftop at dawn\nSubject: a red kite"
    assert project.storyboard.prompt == widget.preview.toPlainText()  # the prompt follows the brief
    assert widget.follow_label.text() == FOLLOWS_TEXT

    stack.undo()
    assert widget.fields["subject"].toPlainText() == ""
    assert widget.preview.toPlainText() == "Scene: a rooftop at dawn"


def test_a_hand_edited_prompt_stops_following_until_rebuilt(qtbot, setup):
    project, _stack, editor, widget = setup
    qtbot.keyClicks(widget.fields["scene"], "a pier")
    editor.set_prompt("my own words")

    assert widget.follow_label.text() == DETACHED_TEXT
    assert widget.rebuild_button.isVisible()
    qtbot.keyClicks(widget.fields["subject"], "gulls")
    assert project.storyboard.prompt == "my own words"

    qtbot.mouseClick(widget.rebuild_button, Qt.MouseButton.LeftButton)
    assert project.storyboard.prompt == "Scene: a pier\nSubject: gulls"
    assert widget.follow_label.text() == FOLLOWS_TEXT
    assert not widget.rebuild_button.isVisible()


def test_a_preset_from_the_menu_fills_the_brief_as_one_undoable_step(setup):
    project, stack, _editor, widget = setup
    presets = list_presets()
    actions = widget.presets_menu.actions()
    assert [a.text() for a in actions] == [p.name for p in presets]

    actions[0].trigger()
    assert widget.fields["scene"].toPlainText() == presets[0].brief.scene != ""
    stack.undo()
    assert widget.fields["scene"].toPlainText() == ""
    assert project.brief.get("scene") == ""


def test_audio_section_is_greyed_when_the_clip_is_silent(setup):
    _project, _stack, editor, widget = setup
    editor.set_setting("generate_audio", False)
    assert not widget.fields["audio"].isEnabled()

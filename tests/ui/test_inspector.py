"""The inspector: the selected shot's prompt with live lint, its duration and cost; settings; mode switch."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack

from kling_studio.core.limits import Mode, ShotType, Tier
from kling_studio.core.pricing import PriceCatalog
from kling_studio.core.project import Project
from kling_studio.core.storyboard import Shot, Storyboard
from kling_studio.ui.edits import ProjectEditor
from kling_studio.ui.inspector import Inspector
from kling_studio.ui.live_report import LiveReport
from kling_studio.ui.selection import ShotSelection


@pytest.fixture
def setup(qtbot):
    shots = [Shot("a wide shot of the bay", 4), Shot("close on the hull", 3), Shot("the sail fills", 5)]
    project = Project(storyboard=Storyboard(mode=Mode.MULTI, shots=shots))
    project.settings.set("tier", Tier.K4)
    stack = QUndoStack()
    editor = ProjectEditor(project, stack)
    selection = ShotSelection(project)
    live = LiveReport(project, PriceCatalog.bundled())
    inspector = Inspector(project, editor, selection, live)
    qtbot.addWidget(inspector)
    inspector.show()
    return project, stack, selection, inspector


def test_shows_the_selected_shot_with_its_cost(setup):
    project, _stack, selection, inspector = setup
    selection.select(project.storyboard.shots[1].id)
    assert inspector.shot_title.text() == "Shot 2 of 3"
    assert inspector.prompt_edit.toPlainText() == "close on the hull"
    assert inspector.duration_spin.value() == 3
    assert inspector.cost_label.text().startswith("Shot cost $1.26")  # 3 s × $0.42


def test_typing_a_prompt_and_changing_the_duration_edit_the_shot(qtbot, setup):
    project, stack, selection, inspector = setup
    selection.select(project.storyboard.shots[2].id)
    inspector.prompt_edit.selectAll()
    qtbot.keyClicks(inspector.prompt_edit, "the sail snaps full")
    inspector.duration_spin.setValue(7)

    shot = project.storyboard.shots[2]
    assert (shot.prompt, shot.duration) == ("the sail snaps full", 7)
    assert inspector.cost_label.text().startswith("Shot cost $2.94")
    stack.undo()
    stack.undo()
    assert project.storyboard.shots[2].prompt == "the sail fills"


def test_lint_is_shown_under_the_prompt_as_you_type(qtbot, setup):
    project, _stack, selection, inspector = setup
    selection.select(project.storyboard.shots[0].id)
    inspector.prompt_edit.selectAll()
    qtbot.keyClicks(inspector.prompt_edit, "the captain says: HELLO THERE EVERYONE")
    assert inspector.lint_label.isVisible()
    assert "Speech in shot 1 is written in capitals" in inspector.lint_label.text()
    assert inspector.prompt_edit.property("problem") is False  # a warning, not an error

    inspector.prompt_edit.clear()
    assert "no prompt" in inspector.lint_label.text()
    assert inspector.prompt_edit.property("problem") is True


def test_settings_controls_edit_the_project(setup):
    project, stack, _selection, inspector = setup
    inspector.tier_combo.setCurrentIndex(inspector.tier_combo.findData(Tier.STANDARD))
    inspector.audio_check.setChecked(False)
    inspector.cfg_slider.setValue(70)
    assert project.settings.tier == Tier.STANDARD
    assert project.settings.generate_audio is False
    assert project.settings.cfg_scale == 0.7
    stack.undo()
    assert project.settings.cfg_scale == 0.5
    assert inspector.cfg_slider.value() == 50


def test_going_back_to_a_single_prompt_asks_which_text_to_keep(qtbot, setup):
    project, _stack, _selection, inspector = setup
    qtbot.mouseClick(inspector.single_button, Qt.MouseButton.LeftButton)

    dialog = inspector.keep_text_dialog
    assert dialog is not None and dialog.isVisible()
    assert project.storyboard.mode is Mode.MULTI  # nothing changes until the user answers
    assert inspector.multi_button.isChecked()

    qtbot.mouseClick(dialog.shots_button, Qt.MouseButton.LeftButton)
    assert project.storyboard.mode is Mode.SINGLE
    assert project.storyboard.prompt == "a wide shot of the bay\nclose on the hull\nthe sail fills"
    assert inspector.single_button.isChecked()
    assert inspector.shot_title.text() == "Whole clip"

    qtbot.mouseClick(inspector.multi_button, Qt.MouseButton.LeftButton)
    assert len(project.storyboard.shots) == 3  # the shots were kept


def test_intelligent_shot_type_from_shots_also_asks(qtbot, setup):
    project, _stack, _selection, inspector = setup
    inspector.shot_type_combo.setCurrentIndex(inspector.shot_type_combo.findData(ShotType.INTELLIGENT))
    dialog = inspector.keep_text_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.mouseClick(dialog.existing_button, Qt.MouseButton.LeftButton)
    assert project.settings.shot_type == ShotType.INTELLIGENT
    assert project.storyboard.mode is Mode.SINGLE
    assert inspector.shot_title.text() == "Whole clip — Kling plans the cuts"

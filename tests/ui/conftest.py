"""Shared UI fixtures: a project with a three-shot storyboard, its undo stack, editor and selection."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QUndoStack

from kling_studio.core.limits import Mode
from kling_studio.core.project import Project
from kling_studio.core.storyboard import Shot, Storyboard
from kling_studio.ui.edits import ProjectEditor
from kling_studio.ui.selection import ShotSelection


def three_shot_project() -> Project:
    """A multi-shot project: 4 s + 3 s + 3 s = 10 s, every shot with a prompt."""
    shots = (
        Shot("A lighthouse at dawn, waves below", 4, id="shot-a"),
        Shot("Close-up of the keeper lighting the lamp", 3, id="shot-b"),
        Shot("Wide aerial pull-back over the sea", 3, id="shot-c"),
    )
    return Project(name="Lighthouse", storyboard=Storyboard(mode=Mode.MULTI, shots=shots))


@pytest.fixture
def project() -> Project:
    """A fresh three-shot project (ids ``shot-a``, ``shot-b``, ``shot-c``)."""
    return three_shot_project()


@pytest.fixture
def undo_stack(qtbot) -> QUndoStack:
    """An empty undo stack (the document's, in the app)."""
    return QUndoStack()


@pytest.fixture
def editor(project, undo_stack) -> ProjectEditor:
    """The editor of ``project`` pushing onto ``undo_stack``."""
    return ProjectEditor(project, undo_stack)


@pytest.fixture
def selection(project, qtbot) -> ShotSelection:
    """The current shot of ``project`` (starts at the first shot)."""
    return ShotSelection(project)

"""The project document: open/save/dirty state, broken files left alone, recent files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from kling_studio.core.project import Project
from kling_studio.core.project_file import ProjectFileError, load_project, save_project
from kling_studio.ui.document import ProjectDocument, RecentFiles
from kling_studio.ui.edits import ProjectEditor


@pytest.fixture
def document(qtbot, tmp_path):
    doc = ProjectDocument(tmp_path / "recovery", RecentFiles(tmp_path / "config" / "recent.json"))
    yield doc
    doc.close()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_edit_makes_the_document_dirty_and_saving_makes_it_clean(document, tmp_path):
    changes: list[bool] = []
    document.dirty_changed.connect(changes.append)
    editor = ProjectEditor(document.project, document.undo_stack)

    editor.set_brief_field("scene", "a neon alley at night")
    assert document.is_dirty
    document.save_as(tmp_path / "spot")

    assert not document.is_dirty
    assert changes == [True, False]
    saved = tmp_path / "spot.klingproj"
    assert document.path == saved
    assert load_project(saved).brief.get("scene") == "a neon alley at night"
    assert document.display_name == "spot"


def test_undoing_back_to_the_saved_state_is_clean_again(document, tmp_path):
    editor = ProjectEditor(document.project, document.undo_stack)
    document.save_as(tmp_path / "a.klingproj")
    editor.set_setting("tier", "4k")
    assert document.is_dirty
    document.undo_stack.undo()
    assert not document.is_dirty


def test_opening_replaces_the_project_and_clears_undo(document, tmp_path):
    other = Project(name="Other")
    other.brief.set("subject", "a red kite")
    path = tmp_path / "other.klingproj"
    save_project(other, path)
    replaced: list[Project] = []
    document.project_replaced.connect(replaced.append)
    ProjectEditor(document.project, document.undo_stack).set_brief_field("scene", "x")

    document.open(path)

    assert replaced and replaced[-1] is document.project
    assert document.project.brief.get("subject") == "a red kite"
    assert document.undo_stack.count() == 0
    assert not document.is_dirty
    assert document.recent.paths() == [path.resolve()]


@pytest.mark.parametrize(
    "content",
    [
        b'{"format": "kling-studio-project", "version": 1, "storyboard": {"shots": [',
        b"\xff\xfe\x00garbage",
        b"",
    ],
    ids=["truncated", "binary", "empty"],
)
def test_a_broken_file_raises_its_reason_and_is_left_untouched(document, tmp_path, content):
    broken = tmp_path / "broken.klingproj"
    broken.write_bytes(content)
    before = _sha256(broken)
    document.project.brief.set("scene", "kept")

    with pytest.raises(ProjectFileError) as caught:
        document.open(broken)

    assert "broken.klingproj" in str(caught.value)
    assert _sha256(broken) == before
    assert document.project.brief.get("scene") == "kept"
    assert document.path is None


def test_recent_files_are_newest_first_and_forget_missing_files(tmp_path):
    recent = RecentFiles(tmp_path / "recent.json", limit=2)
    paths = []
    for name in ("a", "b", "c"):
        path = tmp_path / f"{name}.klingproj"
        save_project(Project(name=name), path)
        paths.append(path)
        recent.add(path)
    assert recent.paths() == [paths[2].resolve(), paths[1].resolve()]
    paths[2].unlink()
    assert recent.paths() == [paths[1].resolve()]


def test_window_title_names_the_file(document, tmp_path):
    assert document.window_title() == "Untitled[*] — Kling Studio"
    document.save_as(tmp_path / "Launch teaser.klingproj")
    assert document.window_title() == "Launch teaser[*] — Kling Studio"

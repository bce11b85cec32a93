"""Every file in tests/data/broken, opened in the window: a reason on screen, the file's bytes untouched.

Files that open (right types, wrong values) land in the editor with Generate disabled and the reason named.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from kling_studio.core.project import Project
from kling_studio.core.project_file import PROJECT_SUFFIX, save_project
from kling_studio.ui.document import ProjectDocument, RecentFiles
from kling_studio.ui.main_window import MainWindow
from kling_studio.ui.theme import Scheme, Theme

BROKEN = Path(__file__).resolve().parent.parent / "data" / "broken"
OPENS_WITH_AN_ERROR = {
    "shot-too-long.klingproj": "16 s",
    "total-too-long.klingproj": "17 s",
    "empty-shot-prompt.klingproj": "Shot 2",
    "intelligent-multi-shot.klingproj": "intelligent",
}
UNOPENABLE = sorted(
    p.name for p in BROKEN.glob("*") if p.name != "README.md" and p.name not in OPENS_WITH_AN_ERROR
)


@pytest.fixture(scope="module")
def shared_window(qapp, tmp_path_factory):
    """One window for the whole module (building one per file would dominate the run time)."""
    folder = tmp_path_factory.mktemp("broken-files")
    document = ProjectDocument(folder / "recovery", RecentFiles(folder / "recent.json"))
    settings = QSettings(str(folder / "window.ini"), QSettings.Format.IniFormat)
    win = MainWindow(document, Theme(qapp, Scheme.DARK), None, settings)
    kept = Project(name="Kept")
    kept.brief.set("scene", "the project that was open")
    kept_path = folder / f"kept{PROJECT_SUFFIX}"
    save_project(kept, kept_path)
    win.show()
    yield win, kept_path
    win.close_without_asking()
    win.deleteLater()


@pytest.fixture
def window(shared_window):
    win, kept_path = shared_window
    if win.message_box is not None:
        win.message_box.close()
    win.document.open(kept_path)  # saved: opening another file asks nothing
    return win


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_broken_folder_is_there():
    assert len(UNOPENABLE) >= 10, f"expected the core's broken files in {BROKEN}"


@pytest.mark.parametrize("name", UNOPENABLE)
def test_a_file_that_cannot_be_opened_shows_why_and_stays_byte_for_byte(window, name):
    path = BROKEN / name
    before = _sha256(path)

    window.open_path(path)

    box = window.message_box
    assert box is not None and box.isVisible()
    assert box.windowTitle() == "The project could not be opened"
    assert box.text().strip(), "the reason is shown"
    assert "Traceback" not in box.text()
    assert window.document.project.name == "Kept"
    assert window.brief_editor.fields["scene"].toPlainText() == "the project that was open"
    assert _sha256(path) == before


@pytest.mark.parametrize(("name", "reason"), sorted(OPENS_WITH_AN_ERROR.items()))
def test_a_file_with_a_wrong_value_opens_with_generate_disabled_and_the_reason(window, name, reason):
    path = BROKEN / name
    before = _sha256(path)

    window.open_path(path)

    assert window.message_box is None or not window.message_box.isVisible()
    assert not window.cost_meter.generate_button.isEnabled()
    assert reason in window.cost_meter.reason_label.text() + " ".join(
        window.problems_panel.model.problem(r).message for r in range(window.problems_panel.model.rowCount())
    )
    assert _sha256(path) == before

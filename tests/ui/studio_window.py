"""A studio window for UI tests that open the real services: a temp document, settings and the dark theme."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from kling_studio.core.limits import Mode, Tier
from kling_studio.core.pricing import PriceCatalog
from kling_studio.core.project import Project
from kling_studio.core.storyboard import Shot, Storyboard
from kling_studio.services.secrets import KeyStore, MemoryKeyring
from kling_studio.services.studio_services import StudioServices
from kling_studio.ui.document import ProjectDocument, RecentFiles
from kling_studio.ui.main_window import MainWindow
from kling_studio.ui.theme import Scheme, Theme


def paper_boat(tier: Tier) -> Project:
    """Two 2 s shots without audio: the cheapest multi-shot job at ``tier``."""
    shots = [Shot("a paper boat on a puddle", 2), Shot("rain starts, rings spread", 2)]
    project = Project(name="Paper boat", storyboard=Storyboard(mode=Mode.MULTI, shots=shots))
    project.settings.set("tier", tier)
    project.settings.set("generate_audio", False)
    return project


def open_window(qtbot, tmp_path: Path, project: Project | None = None) -> MainWindow:
    """A shown 1280×800 window (closed by qtbot at the end) with ``project`` open and no price question."""
    document = ProjectDocument(tmp_path / "recovery", RecentFiles(tmp_path / "recent.json"))
    settings = QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)
    window = MainWindow(document, Theme(QApplication.instance(), Scheme.DARK), PriceCatalog.bundled(), settings)
    qtbot.addWidget(window)
    if project is not None:
        document.new_project(project)
    window.set_threshold(None)
    window.resize(1280, 800)
    window.show()
    return window


async def open_services() -> StudioServices:
    """The app's services with no key (the simulator) and an in-memory keyring."""
    return await StudioServices.open(keys=KeyStore(MemoryKeyring(), environ={}))

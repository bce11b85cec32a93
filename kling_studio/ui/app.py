"""Start the studio: one QApplication, asyncio on Qt's loop through qasync, owned tasks cancelled on close.

:func:`run_app` builds the window's frame, shows it and lets it paint before anything heavy is imported;
then it fills in the editors, starts asyncio on Qt's loop (qasync) and hands over to a
:class:`~kling_studio.ui.session.StudioSession`, which opens the services behind the visible window and
closes them when the window closes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

    from kling_studio.ui.main_window import MainWindow

ShownHook = Callable[["MainWindow"], object]


def run_app(
    argv: Sequence[str] | None = None,
    *,
    on_shown: ShownHook | None = None,
    scheme: str | None = None,
    show_welcome: bool = True,
    open_path: Path | None = None,
) -> int:
    """Run the studio window until it is closed; returns the process exit code.

    Args:
        argv: Qt's command line (default: ``sys.argv``).
        open_path: a project file to open (a double-clicked ``.klingproj``) instead of the welcome.
        on_shown: called with the window once the event loop runs (tools, benchmarks, tests).
        scheme: ``"dark"`` or ``"light"`` to force a theme; None follows the system.
        show_welcome: offer the welcome dialog on first run.
    """
    import PySide6  # noqa: F401 - qasync picks the Qt binding that is already imported
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(list(argv if argv is not None else sys.argv))
    app.setApplicationName("Kling Studio")
    app.setOrganizationName("Kling Studio")
    app.setDesktopFileName("kling-studio")  # Wayland/X11 match the window to kling-studio.desktop's icon
    app.setQuitOnLastWindowClosed(False)  # the session decides when to stop, after closing the services
    window, settings = show_main_window(app, scheme)
    app.processEvents()  # the frame paints before the editors' modules are even imported
    window.build_content()
    app.processEvents()

    from kling_studio.ui.file_open import FileOpenForwarder
    from kling_studio.ui.gc_guard import MainThreadGarbageCollector
    from kling_studio.ui.qt_loop import qt_asyncio_loop
    from kling_studio.ui.session import StudioSession

    session = StudioSession(window, settings, on_shown=on_shown, show_welcome=show_welcome, open_path=open_path)
    file_opener = FileOpenForwarder(window, app)  # macOS sends double-clicked projects as FileOpen events
    app.installEventFilter(file_opener)
    collector = MainThreadGarbageCollector(app)  # Qt objects freed by Python's collector die on the UI thread
    collector.start()
    try:
        with qt_asyncio_loop(app) as loop:
            return loop.run_until_complete(session.run())
    finally:
        collector.stop()
        app.removeEventFilter(file_opener)


def show_main_window(app, scheme: str | None = None) -> tuple[MainWindow, QSettings]:
    """Build the window's frame for an empty project and show it; returns it with its settings."""
    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QIcon

    from kling_studio.services import paths
    from kling_studio.ui.document import ProjectDocument, RecentFiles
    from kling_studio.ui.main_window import MainWindow
    from kling_studio.ui.theme import Scheme, Theme

    icon_path = app_icon_path()
    if icon_path:
        app.setWindowIcon(QIcon(icon_path))
    settings = QSettings(str(paths.config_dir() / "window.ini"), QSettings.Format.IniFormat)
    scheme = scheme or str(settings.value("theme", "") or "")
    theme = Theme(app, Scheme(scheme) if scheme in ("dark", "light") else None)
    recent = RecentFiles(paths.config_dir() / "recent-projects.json")
    document = ProjectDocument(paths.data_dir() / "recovery", recent)
    window = MainWindow(document, theme, None, settings, build=False)
    window.resize(1280, 800)
    if settings.contains("geometry"):
        window.restoreGeometry(settings.value("geometry"))
    window.show()
    return window, settings


def app_icon_path() -> str | None:
    """The app icon's file, when the package carries it."""
    path = resources.files("kling_studio").joinpath("resources", "icons", "app-icon.svg")
    return str(path) if path.is_file() else None

"""Projects the operating system hands to the running app (macOS Finder double-clicks arrive as events)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QFileOpenEvent


class FileOpenForwarder(QObject):
    """Opens each ``QEvent.FileOpen``'s file in the window (install it on the QApplication).

    Args:
        window: anything with ``open_path(Path)`` (the main window; it asks about unsaved changes first).
        parent: Qt parent.
    """

    def __init__(self, window, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent) and event.file():
            self._window.open_path(Path(event.file()))
            return True
        return super().eventFilter(watched, event)

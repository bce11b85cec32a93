"""After a crash: offer the project a crashed session left unsaved."""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from kling_studio.ui.document import Recovery


def age_text(saved_at: float, now: float | None = None) -> str:
    """``just now``, ``5 minutes ago``, ``3 hours ago``, ``2 days ago``."""
    seconds = max(0.0, (now if now is not None else time.time()) - saved_at)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


class RecoveryDialog(QMessageBox):
    """"Kling Studio closed unexpectedly. Restore “Spot” (edited 2 minutes ago)?".

    Signals:
        restore_chosen(Recovery): the user wants the copy back.
        discard_chosen(Recovery): the user does not; the copy can be deleted.
    """

    restore_chosen = Signal(object)
    discard_chosen = Signal(object)

    def __init__(self, recovery: Recovery, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.recovery = recovery
        self.setWindowTitle("Restore unsaved work")
        self.setIcon(QMessageBox.Icon.Warning)
        self.setText(
            f"Kling Studio closed unexpectedly. Restore “{recovery.name}” "
            f"(last edited {age_text(recovery.saved_at)})?"
        )
        where = f"Its file is {recovery.original_path}." if recovery.original_path else "It was never saved."
        self.setInformativeText(f"{where} The restored project stays unsaved until you save it.")
        self.restore_button = self.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
        self.discard_button = self.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        self.setDefaultButton(self.restore_button)
        self.buttonClicked.connect(self._on_button_clicked)

    def _on_button_clicked(self, button: object) -> None:
        if button is self.restore_button:
            self.restore_chosen.emit(self.recovery)
        elif button is self.discard_button:
            self.discard_chosen.emit(self.recovery)

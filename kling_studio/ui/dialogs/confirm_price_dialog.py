"""Asks before a generation that costs more than the user's threshold."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget


class ConfirmPriceDialog(QMessageBox):
    """ "Generate 4k for $5.04?" with Generate / Cancel; ``accepted`` means go.

    Args:
        action: what will happen, e.g. ``Generate 4k``.
        price_text: the exact price, e.g. ``$5.04``.
        threshold_text: the user's threshold, e.g. ``$2.00``.
        simulated: True on the simulator (the text then says nothing is charged).
        parent: the window.
        reason: why this is asked, instead of the threshold sentence (a retry is always confirmed).
    """

    def __init__(
        self,
        action: str,
        price_text: str,
        threshold_text: str,
        simulated: bool,
        parent: QWidget | None = None,
        *,
        reason: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Confirm the price")
        self.setIcon(QMessageBox.Icon.Question)
        self.setText(f"{action} for {price_text}?")
        charged = (
            "This runs on the simulator — nothing is charged."
            if simulated
            else f"Your fal account will be charged {price_text}."
        )
        why = reason or f"You asked to confirm anything above {threshold_text} (Settings → Confirm above…)."
        self.setInformativeText(f"{charged} {why}")
        self.go_button = self.addButton(action, QMessageBox.ButtonRole.AcceptRole)
        self.cancel_button = self.addButton(QMessageBox.StandardButton.Cancel)
        self.setDefaultButton(self.cancel_button)

"""Going back from shots to a single prompt: which text should the single prompt have?"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMessageBox, QWidget


class KeepTextDialog(QMessageBox):
    """Offers to keep the existing single prompt or to join the shots' prompts into it.

    The shots stay stored either way, so switching back to multi-shot loses nothing.

    Signals:
        keep_chosen(str): ``"existing"`` or ``"shots"`` (the ``keep`` argument of ``Storyboard.set_mode``).
    """

    keep_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Switch to a single prompt")
        self.setIcon(QMessageBox.Icon.Question)
        self.setText("Which text should the single prompt have?")
        self.setInformativeText(
            "Your shots stay in the project either way: switching back to shots brings them back."
        )
        self.shots_button = self.addButton("Join the shots' prompts", QMessageBox.ButtonRole.AcceptRole)
        self.existing_button = self.addButton("Keep the single prompt", QMessageBox.ButtonRole.AcceptRole)
        self.addButton(QMessageBox.StandardButton.Cancel)
        self.setDefaultButton(self.shots_button)
        self.buttonClicked.connect(self._on_button_clicked)

    def _on_button_clicked(self, button: object) -> None:
        if button is self.shots_button:
            self.keep_chosen.emit("shots")
        elif button is self.existing_button:
            self.keep_chosen.emit("existing")

"""First run: start from a sample project made from a preset, or from an empty one."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kling_studio.core.presets import Preset


class WelcomeDialog(QDialog):
    """Welcome text and the presets to start from.

    Args:
        presets: the presets to offer.
        simulated: True without a fal key (the text then says generations are simulated and free).
        parent: the window.

    Signals:
        preset_chosen(str): the slug of the preset to start from.
    """

    preset_chosen = Signal(str)

    def __init__(self, presets: Sequence[Preset], simulated: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to Kling Studio")
        self.setMinimumSize(520, 420)
        title = QLabel("<h2>Welcome to Kling Studio</h2>", self)
        self.intro_label = intro = QLabel(
            "Pick a sample project to start from: it fills in a brief and a storyboard you can change. "
            + (
                "You have no fal key yet, so Generate runs on the built-in simulator — nothing is charged."
                if simulated
                else "Every price is shown before you pay."
            ),
            self,
        )
        intro.setWordWrap(True)
        self.list = QListWidget(self)
        self.list.setAccessibleName("Sample projects")
        # Descriptions wrap to the list's width instead of hiding behind a horizontal scroll bar.
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setSpacing(2)
        for preset in presets:
            item = QListWidgetItem(f"{preset.name}\n{preset.description}")
            item.setData(Qt.ItemDataRole.UserRole, preset.slug)
            item.setToolTip(preset.description)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        self.list.itemDoubleClicked.connect(lambda _item: self._on_buttons_accepted())
        self.buttons = QDialogButtonBox(self)
        accept = QDialogButtonBox.ButtonRole.AcceptRole
        self.start_button = self.buttons.addButton("Start from sample", accept)
        self.buttons.addButton("Empty project", QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.buttons)

    def _on_buttons_accepted(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.preset_chosen.emit(item.data(Qt.ItemDataRole.UserRole))
        self.accept()

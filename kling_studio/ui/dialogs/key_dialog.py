"""Add or replace the fal key. The key itself is never shown again: only its last 4 characters."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

KEY_HELP = (
    "Paste your fal key (it looks like <i>key_id:key_secret</i>; create one at "
    "<a href='https://fal.ai/dashboard/keys'>fal.ai/dashboard/keys</a>). It is kept in your system's "
    "keyring, never in a file. Without a key the studio runs on its built-in simulator and nothing "
    "is charged."
)


class KeyDialog(QDialog):
    """Asks for the fal key.

    Args:
        current_masked: the key in use masked to its last 4 (``KeyStore.status()``), or None when none is set.
        parent: the window.

    Signals:
        key_entered(str): the user pasted a key and pressed Save; the caller stores it in the keyring.
    """

    key_entered = Signal(str)

    def __init__(self, current_masked: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("fal key")
        self.setMinimumWidth(460)
        status = (
            f"Current key: {current_masked}" if current_masked else "No key set — running on the simulator."
        )
        self.status_label = QLabel(status, self)
        self.status_label.setProperty("role", "muted")
        help_label = QLabel(KEY_HELP, self)
        help_label.setWordWrap(True)
        help_label.setOpenExternalLinks(True)
        self.key_edit = QLineEdit(self)
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("key_id:key_secret")
        self.key_edit.setAccessibleName("fal key")
        self.error_label = QLabel(self)
        self.error_label.setProperty("role", "error")
        self.error_label.setVisible(False)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self._on_buttons_accepted)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addWidget(help_label)
        layout.addWidget(self.status_label)
        layout.addWidget(self.key_edit)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

    def _on_buttons_accepted(self) -> None:
        # Imported here: the secrets module loads the keyring, which the window's first paint does not need.
        from kling_studio.services.secrets import InvalidKeyError, validate_key

        try:
            key = validate_key(self.key_edit.text())
        except InvalidKeyError as exc:
            self.error_label.setText(str(exc))
            self.error_label.setWordWrap(True)
            self.error_label.setVisible(True)
            return
        self.key_edit.clear()
        self.key_entered.emit(key)
        self.accept()

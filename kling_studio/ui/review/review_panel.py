"""The review panel: accept or reject a take, tick the production checklist, write a note, save.

Saving writes the take's sidecar on a worker thread (atomically); :attr:`ReviewPanel.review_saved` then
carries the updated take so the library can show it and recompute the project's cost per accepted second.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kling_studio.services.takes import CheckItem, Review, Take, TakeError, Verdict, save_review
from kling_studio.ui.icons import icon
from kling_studio.ui.player.background import Background

_CHECKED_STYLE = "QPushButton:checked {{ background: {color}; border-color: {color}; color: #ffffff; }}"


class ReviewPanel(QWidget):
    """Accept / reject, the checklist and a note for one take.

    Args:
        parent: Owner.
    """

    review_saved = Signal(object)  # Take, as saved
    save_failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reviewPanel")
        self._take: Take | None = None
        self._background = Background(workers=1, name="review", parent=self)
        color = self.palette().color(QPalette.ColorRole.ButtonText).name()
        self.title = QLabel("No take selected")
        self.title.setObjectName("reviewTitle")
        self.title.setWordWrap(True)
        self.accept_button = QPushButton(icon("accept", color), "Accept")
        self.reject_button = QPushButton(icon("reject", color), "Reject")
        self.verdicts = QButtonGroup(self)
        self.verdicts.setExclusive(False)  # both may be off: not reviewed yet
        for button in (self.accept_button, self.reject_button):
            button.setCheckable(True)
            self.verdicts.addButton(button)
        # A decided verdict must read at a glance, in either theme.
        self.accept_button.setStyleSheet(_CHECKED_STYLE.format(color="#2f855a"))
        self.reject_button.setStyleSheet(_CHECKED_STYLE.format(color="#c53030"))
        self.accept_button.toggled.connect(self._on_accept_button_toggled)
        self.reject_button.toggled.connect(self._on_reject_button_toggled)
        self.checks: dict[CheckItem, QCheckBox] = {}
        self.note = QPlainTextEdit()
        self.note.setAccessibleName("Review note")
        self.note.setPlaceholderText("Note: what to fix, where it can run, who signed off…")
        self.note.setMaximumHeight(90)
        self.save_button = QPushButton("Save review")
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        self.status = QLabel("")
        self.status.setProperty("role", "muted")

        verdict_row = QHBoxLayout()
        verdict_row.addWidget(self.accept_button)
        verdict_row.addWidget(self.reject_button)
        verdict_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addLayout(verdict_row)
        heading = QLabel("Production checklist")
        heading.setProperty("role", "muted")
        layout.addWidget(heading)
        for item in CheckItem:
            box = QCheckBox(item.label)
            box.setObjectName(f"check_{item.value}")
            self.checks[item] = box
            layout.addWidget(box)
        layout.addWidget(self.note)
        save_row = QHBoxLayout()
        save_row.addWidget(self.status, 1)
        save_row.addWidget(self.save_button)
        layout.addLayout(save_row)
        layout.addStretch(1)
        self.set_take(None)

    # ---- API ----------------------------------------------------------------------------------------------
    def set_take(self, take: Take | None) -> None:
        """Show ``take``'s review (or nothing)."""
        self._take = take
        enabled = take is not None
        for widget in (self.accept_button, self.reject_button, self.note, self.save_button, *self.checks.values()):
            widget.setEnabled(enabled)
        review = take.review if take else Review()
        self.title.setText(f"{take.project_name} · {take.job_id}" if take else "No take selected")
        self.accept_button.setChecked(review.verdict is Verdict.ACCEPTED)
        self.reject_button.setChecked(review.verdict is Verdict.REJECTED)
        for item, box in self.checks.items():
            box.setChecked(item in review.checks)
        self.note.setPlainText(review.note)
        saved = review.reviewed_at.astimezone().strftime("%Y-%m-%d %H:%M") if review.reviewed_at else None
        self.status.setText(f"Saved {saved}" if saved else "Not reviewed yet" if take else "")

    def take(self) -> Take | None:
        """The take under review."""
        return self._take

    def review(self) -> Review:
        """The review as the form shows it now."""
        if self.accept_button.isChecked():
            verdict = Verdict.ACCEPTED
        elif self.reject_button.isChecked():
            verdict = Verdict.REJECTED
        else:
            verdict = Verdict.UNREVIEWED
        checks = frozenset(item for item, box in self.checks.items() if box.isChecked())
        return Review(verdict, checks, self.note.toPlainText().strip())

    def save(self) -> None:
        """Write the review into the take's sidecar (off the UI thread)."""
        if self._take is None:
            return
        self.save_button.setEnabled(False)
        self.status.setText("Saving…")
        path = self._take.video_path
        self._background.submit(save_review, path, self.review(), done=self._on_saved, failed=self._on_failed)

    # ---- slots --------------------------------------------------------------------------------------------
    def _on_saved(self, take: Take) -> None:
        self.save_button.setEnabled(True)
        if self._take is not None and take.video_path == self._take.video_path:
            self.set_take(take)
        self.review_saved.emit(take)

    def _on_failed(self, error: BaseException) -> None:
        self.save_button.setEnabled(True)
        message = str(error) if isinstance(error, TakeError | OSError) else f"The review was not saved ({error})."
        self.status.setText(message)
        self.save_failed.emit(message)

    def _on_accept_button_toggled(self, checked: bool) -> None:
        if checked:
            self.reject_button.setChecked(False)

    def _on_reject_button_toggled(self, checked: bool) -> None:
        if checked:
            self.accept_button.setChecked(False)


__all__ = ["ReviewPanel"]

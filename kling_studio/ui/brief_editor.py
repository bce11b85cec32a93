"""The brief editor: the six template sections, the prompt they assemble into, and presets.

Typing goes through :class:`~kling_studio.ui.edits.ProjectEditor` (one merged undo command per section);
the widgets follow the model, so undo, presets and opening a file all show up here without special cases.
Works fully offline: nothing here touches the network.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QFontMetrics, QIcon, QResizeEvent, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kling_studio.core.brief import SECTIONS
from kling_studio.core.limits import Mode
from kling_studio.core.presets import list_presets
from kling_studio.core.project import Project
from kling_studio.core.storyboard import StoryboardError
from kling_studio.ui.edits import ProjectEditor

FOLLOWS_TEXT = "The prompt follows the brief"
DETACHED_TEXT = "The prompt was edited by hand and no longer follows the brief"
MULTI_TEXT = "Shots have their own prompts; the brief guides them"


def set_plain_text_keeping_cursor(edit: QPlainTextEdit, text: str) -> None:
    """Replace the text of ``edit`` without emitting ``textChanged`` and without jumping the cursor."""
    if edit.toPlainText() == text:
        return
    position = edit.textCursor().position()
    edit.blockSignals(True)
    edit.setPlainText(text)
    cursor = edit.textCursor()
    cursor.setPosition(min(position, len(text)), QTextCursor.MoveMode.MoveAnchor)
    edit.setTextCursor(cursor)
    edit.blockSignals(False)


class SectionEdit(QPlainTextEdit):
    """A multi-line text box that grows with its text from 2 to 8 lines; Tab moves focus instead of typing."""

    MIN_LINES = 2
    MAX_LINES = 8

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(placeholder)
        self.setTabChangesFocus(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.textChanged.connect(self._fit_height)
        self._fit_height()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Re-fit the height: a narrower box wraps into more lines."""
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit_height()

    def _fit_height(self) -> None:
        metrics = QFontMetrics(self.font())
        margin = int(self.document().documentMargin())
        width = max(40, self.viewport().width() - 2 * margin)
        text = self.toPlainText() or self.placeholderText()
        wrapped = metrics.boundingRect(QRect(0, 0, width, 100_000), Qt.TextFlag.TextWordWrap, text)
        lines = max(1, round(wrapped.height() / metrics.lineSpacing()))
        shown = max(self.MIN_LINES, min(self.MAX_LINES, lines))
        frame = 2 * self.frameWidth() + self.contentsMargins().top() + self.contentsMargins().bottom()
        height = shown * metrics.lineSpacing() + 2 * margin + frame
        if self.height() != height:
            self.setFixedHeight(height)


class BriefEditor(QWidget):
    """Scene, Subject, Important details, Audio, Use case, Constraints and the assembled prompt.

    Args:
        project: the project whose brief is edited.
        editor: the one way edits reach the project.
        icons: optional icons by name (``preset``, ``rebuild``, ``link``, ``unlink``).
        parent: Qt parent.

    Signals:
        edit_refused(str): an edit was refused; the message says why.
    """

    edit_refused = Signal(str)

    def __init__(
        self,
        project: Project,
        editor: ProjectEditor,
        icons: dict[str, QIcon] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._project = project
        self._editor = editor
        icons = icons or {}
        self._icons = icons

        hint = QLabel("Describe the clip; the sections build the prompt.", self)
        hint.setProperty("role", "muted")
        hint.setWordWrap(True)
        self.presets_button = QToolButton(self)
        self.presets_button.setText("Presets")
        self.presets_button.setIcon(icons.get("preset", QIcon()))
        self.presets_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.presets_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.presets_button.setAccessibleName("Presets")
        self.presets_menu = QMenu(self.presets_button)
        self.presets_menu.setToolTipsVisible(True)
        self.presets_button.setMenu(self.presets_menu)
        self._fill_presets_menu()
        header = QHBoxLayout()
        header.addWidget(hint, 1)
        header.addWidget(self.presets_button)

        self.fields: dict[str, SectionEdit] = {}
        form = QWidget(self)
        form_layout = QVBoxLayout(form)
        form_layout.setContentsMargins(0, 0, 8, 0)
        form_layout.setSpacing(4)
        for section in SECTIONS:
            label = QLabel(section.label, form)
            edit = SectionEdit(section.placeholder, form)
            edit.setAccessibleName(section.label)
            edit.setToolTip(section.placeholder)
            label.setBuddy(edit)
            edit.textChanged.connect(lambda key=section.key: self._on_field_text_changed(key))
            self.fields[section.key] = edit
            form_layout.addWidget(label)
            form_layout.addWidget(edit)
            form_layout.addSpacing(6)
        form_layout.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidget(form)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        preview_title = QLabel("Assembled prompt", self)
        preview_title.setObjectName("sectionTitle")
        self.follow_icon = QLabel(self)
        self.follow_label = QLabel(self)
        self.follow_label.setProperty("role", "muted")
        self.follow_label.setWordWrap(True)
        self.rebuild_button = QPushButton("Rebuild from brief", self)
        self.rebuild_button.setIcon(icons.get("rebuild", QIcon()))
        self.rebuild_button.setToolTip("Replace the prompt with the brief's, and follow the brief again")
        self.rebuild_button.clicked.connect(self._on_rebuild_button_clicked)
        self.preview = QPlainTextEdit(self)
        self.preview.setReadOnly(True)
        self.preview.setAccessibleName("Assembled prompt")
        self.preview.setPlaceholderText("Fill in the brief: its sections assemble into the prompt here.")
        self.preview.setMinimumHeight(90)
        follow_row = QHBoxLayout()
        follow_row.setSpacing(6)
        follow_row.addWidget(self.follow_icon)
        follow_row.addWidget(self.follow_label, 1)
        follow_row.addWidget(self.rebuild_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(8)
        layout.addLayout(header)
        layout.addWidget(scroll, 3)
        layout.addWidget(preview_title)
        layout.addWidget(self.preview, 1)
        layout.addLayout(follow_row)
        self.setMinimumWidth(280)

        project.changed.connect(self._on_project_changed)
        self._on_project_changed()

    # ---- public --------------------------------------------------------------------------------------
    def focus_field(self, key: str) -> None:
        """Put the cursor in the section ``key`` (e.g. from the problems panel)."""
        edit = self.fields.get(key)
        if edit is not None:
            edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def set_problem_fields(self, keys: set[str] | frozenset[str]) -> None:
        """Outline the sections a problem is about."""
        for key, edit in self.fields.items():
            flagged = key in keys
            if edit.property("problem") != flagged:
                edit.setProperty("problem", flagged)
                edit.style().unpolish(edit)
                edit.style().polish(edit)

    def detach(self) -> None:
        """Stop following the project (it is being replaced)."""
        self._project.changed.disconnect(self._on_project_changed)

    # ---- model → widgets -----------------------------------------------------------------------------
    def _on_project_changed(self) -> None:
        project = self._project
        for key, edit in self.fields.items():
            set_plain_text_keeping_cursor(edit, project.brief.get(key))
        self.preview.setPlainText(project.brief.to_prompt(audio_on=project.settings.generate_audio is True))
        if project.storyboard.mode is Mode.MULTI:
            text, follows, icon = MULTI_TEXT, True, "link"
        elif project.prompt_follows_brief:
            text, follows, icon = FOLLOWS_TEXT, True, "link"
        else:
            text, follows, icon = DETACHED_TEXT, False, "unlink"
        self.follow_label.setText(text)
        pixmap_icon = self._icons.get(icon)
        self.follow_icon.setPixmap(pixmap_icon.pixmap(16, 16) if pixmap_icon else QIcon().pixmap(16, 16))
        self.rebuild_button.setVisible(not follows)
        self.fields["audio"].setEnabled(project.settings.generate_audio is True)
        self.fields["audio"].setToolTip(
            SECTIONS[3].placeholder
            if project.settings.generate_audio is True
            else "Audio is off for this clip (Settings → Audio), so this section is left out of the prompt."
        )

    # ---- widgets → model -----------------------------------------------------------------------------
    def _on_field_text_changed(self, key: str) -> None:
        self._editor.set_brief_field(key, self.fields[key].toPlainText())

    def _on_rebuild_button_clicked(self) -> None:
        self._editor.rebuild_prompt_from_brief()

    def _fill_presets_menu(self) -> None:
        for preset in list_presets():
            action = self.presets_menu.addAction(preset.name)
            action.setToolTip(preset.description)
            action.setData(preset.slug)
            action.triggered.connect(lambda _checked=False, slug=preset.slug: self._on_preset_triggered(slug))

    def _on_preset_triggered(self, slug: str) -> None:
        try:
            self._editor.apply_preset(slug)
        except StoryboardError as exc:
            self.edit_refused.emit(str(exc))

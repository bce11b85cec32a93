"""``@Element`` completion for prompt editors: type ``@`` and pick an element by its name.

Attach one to any ``QPlainTextEdit`` or ``QTextEdit``::

    completer = attach_element_completer(prompt_edit, project.references)
    ...
    completer.detach()   # when the editor goes away

The list follows the project's elements as they change; choosing an entry replaces the typed ``@El…`` with
``@Element2`` and a space.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QStandardItem, QStandardItemModel, QTextCursor
from PySide6.QtWidgets import QCompleter, QPlainTextEdit, QTextEdit

from kling_studio.core.references import ProjectReferences, element_token

_TYPED_MENTION = re.compile(r"@[A-Za-z]*\d*$")
TokenRole = Qt.ItemDataRole.UserRole + 1


class ElementCompleter(QObject):
    """Offers the project's elements while the word under the cursor starts with ``@``."""

    def __init__(self, editor: QPlainTextEdit | QTextEdit, references: ProjectReferences) -> None:
        super().__init__(editor)
        self._editor = editor
        self._references = references
        self.model = QStandardItemModel(self)
        self.completer = QCompleter(self.model, self)
        self.completer.setWidget(editor)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setCompletionRole(TokenRole)
        self.completer.activated[str].connect(self.insert_completion)
        editor.installEventFilter(self)
        editor.textChanged.connect(self._on_editor_text_changed)
        references.changed.connect(self._on_references_changed)
        self._rebuild()

    def entries(self) -> list[tuple[str, str]]:
        """What the popup offers: (mention, label), e.g. ``("@Element1", "@Element1 — Hero bottle")``."""
        return [
            (self.model.item(row).data(TokenRole), self.model.item(row).text()) for row in range(self.model.rowCount())
        ]

    def detach(self) -> None:
        """Stop completing (call before the editor or the project goes away)."""
        self._references.changed.disconnect(self._on_references_changed)
        self._editor.removeEventFilter(self)
        self._editor.textChanged.disconnect(self._on_editor_text_changed)
        self.completer.popup().hide()

    def insert_completion(self, token: str) -> None:
        """Replace the ``@…`` being typed with ``token`` followed by a space."""
        cursor = self._editor.textCursor()
        typed = self._typed_mention()
        cursor.movePosition(QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, len(typed))
        cursor.insertText(token + " ")
        self._editor.setTextCursor(cursor)
        self.completer.popup().hide()

    def _typed_mention(self) -> str:
        cursor = self._editor.textCursor()
        block = cursor.block().text()[: cursor.positionInBlock()]
        match = _TYPED_MENTION.search(block)
        return match.group(0) if match else ""

    def _on_editor_text_changed(self) -> None:
        typed = self._typed_mention()
        popup = self.completer.popup()
        if not typed or self.model.rowCount() == 0:
            popup.hide()
            return
        self.completer.setCompletionPrefix(typed)
        if self.completer.completionCount() == 0:
            popup.hide()
            return
        rect = self._editor.cursorRect()
        rect.setWidth(max(240, popup.sizeHintForColumn(0) + 24))
        popup.setCurrentIndex(self.completer.completionModel().index(0, 0))
        self.completer.complete(rect)

    def _on_references_changed(self, part: str) -> None:
        if part == "elements":
            self._rebuild()

    def _rebuild(self) -> None:
        self.model.clear()
        for index, element in enumerate(self._references.elements):
            token = element_token(index)
            item = QStandardItem(f"{token} — {element.name}")
            item.setData(token, TokenRole)
            item.setToolTip(f"{element.name}: {len(element.images)} image(s)")
            self.model.appendRow(item)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._editor and event.type() == QEvent.Type.KeyPress and self.completer.popup().isVisible():
            key = event.key() if isinstance(event, QKeyEvent) else None
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab):
                index = self.completer.popup().currentIndex()
                if index.isValid():
                    self.insert_completion(index.data(TokenRole))
                    return True
            if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
                popup = self.completer.popup()
                rows = self.completer.completionModel().rowCount()
                step = 1 if key == Qt.Key.Key_Down else -1
                row = (popup.currentIndex().row() + step) % max(rows, 1)
                popup.setCurrentIndex(self.completer.completionModel().index(row, 0))
                return True
            if key == Qt.Key.Key_Escape:
                self.completer.popup().hide()
                return True
        return super().eventFilter(watched, event)


def attach_element_completer(editor: QPlainTextEdit | QTextEdit, references: ProjectReferences) -> ElementCompleter:
    """Give a prompt editor ``@Element`` completion from ``references``; keep the result to detach later."""
    return ElementCompleter(editor, references)

"""The reference library as a Qt list model: names, thumbnails (loaded lazily off the UI thread), search."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QIcon, QPixmap

from kling_studio.services.reference_library import LibraryItem
from kling_studio.ui.references.mime import MIME_TYPE, references_to_mime
from kling_studio.ui.references.thumbnails import ThumbnailCache

Index = QModelIndex | QPersistentModelIndex
ICON_SIZE = QSize(132, 100)


class ReferenceLibraryModel(QAbstractListModel):
    """Rows are the library items that match the current filter, newest first.

    Renaming through the view (``setData`` with ``EditRole``) is a request: ``rename_requested`` is
    emitted and the owner renames in the library, then calls :meth:`set_items` again.
    """

    Sha256Role = Qt.ItemDataRole.UserRole + 1
    ItemRole = Qt.ItemDataRole.UserRole + 2

    rename_requested = Signal(str, str)

    def __init__(self, thumbnails: ThumbnailCache, parent: Any = None) -> None:
        super().__init__(parent)
        self._thumbnails = thumbnails
        self._all: list[LibraryItem] = []
        self._rows: list[LibraryItem] = []
        self._row_of: dict[str, int] = {}
        self._filter = ""
        placeholder = QPixmap(ICON_SIZE)
        placeholder.fill(QColor(128, 128, 128, 40))
        self._placeholder = QIcon(placeholder)
        self._icons: dict[str, QIcon] = {}  # the view scales icons to its icon size; pixmaps it would crop
        thumbnails.thumbnail_ready.connect(self._on_thumbnails_ready)

    # ---- content ------------------------------------------------------------------------------------

    def set_items(self, items: list[LibraryItem]) -> None:
        """Replace the content (after a load, an import, a rename)."""
        self._all = list(items)
        self._apply_filter()

    def set_filter(self, text: str) -> None:
        """Show only items whose name has every word or whose tags start with it (``#tag`` works)."""
        if text == self._filter:
            return
        self._filter = text
        self._apply_filter()

    @property
    def filter_text(self) -> str:
        """The current search text."""
        return self._filter

    @property
    def total(self) -> int:
        """Items in the library, filtered or not."""
        return len(self._all)

    def item_at(self, row: int) -> LibraryItem:
        """The item shown at ``row``."""
        return self._rows[row]

    def row_of(self, sha256: str) -> int:
        """The row showing ``sha256``, or -1."""
        return self._row_of.get(sha256, -1)

    def _apply_filter(self) -> None:
        self.beginResetModel()
        text = self._filter.strip()
        self._rows = [item for item in self._all if item.matches(text)] if text else list(self._all)
        self._row_of = {item.sha256: row for row, item in enumerate(self._rows)}
        self.endResetModel()

    # ---- Qt model -----------------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        item = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return item.name
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icon(item.sha256)
        if role == Qt.ItemDataRole.ToolTipRole:
            tags = " ".join(f"#{t}" for t in item.tags)
            size = f"{item.width}×{item.height} {item.format.upper()}, {item.size_bytes / 1e6:.1f} MB"
            return f"{item.name}\n{size}" + (f"\n{tags}" if tags else "")
        if role == self.Sha256Role:
            return item.sha256
        if role == self.ItemRole:
            return item
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if not index.isValid():
            return base
        return base | Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsEditable

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        name = str(value).strip()
        item = self._rows[index.row()]
        if not name or name == item.name:
            return False
        self.rename_requested.emit(item.sha256, name)
        return True

    def mimeTypes(self) -> list[str]:
        return [MIME_TYPE]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:
        rows = sorted({i.row() for i in indexes if i.isValid()})
        return references_to_mime(self._rows[row].reference for row in rows)

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def _icon(self, sha256: str) -> QIcon:
        icon = self._icons.get(sha256)
        if icon is not None:
            return icon
        pixmap = self._thumbnails.pixmap(sha256)
        if pixmap is None:
            return self._placeholder
        if len(self._icons) > 2000:
            self._icons.clear()
        icon = self._icons[sha256] = QIcon(pixmap)
        return icon

    def _on_thumbnails_ready(self, sha256: str) -> None:
        self._icons.pop(sha256, None)
        row = self._row_of.get(sha256, -1)
        if row >= 0:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

"""The reference library panel: a grid of thumbnails with search, import (button, drop, paste) and actions.

Imports run on worker threads. An image fal would refuse is not imported: a banner says which limit it breaks
and offers the fix when there is one ("Crop to 2.50:1", "Shrink and save as JPEG"); the fix imports a
corrected copy and leaves the original file alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice, QPoint, QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kling_studio.core.errors import UserError
from kling_studio.core.references import Reference
from kling_studio.services.images import ImageCheck, ImageRejectedError
from kling_studio.services.reference_library import ImportResult, LibraryItem, ReferenceLibrary
from kling_studio.ui.references.background import BackgroundWork
from kling_studio.ui.references.library_model import ICON_SIZE, ReferenceLibraryModel
from kling_studio.ui.references.style import apply_references_style
from kling_studio.ui.references.thumbnails import ThumbnailCache

IMAGE_FILTER = "Images (*.jpg *.jpeg *.png *.webp *.gif *.bmp);;All files (*)"


@dataclass(frozen=True)
class Refusal:
    """An import that fal's limits refused, kept so the user can apply the offered fix."""

    name: str
    source: str
    data: bytes
    check: ImageCheck | None
    message: str


class ReferenceLibraryPanel(QWidget):
    """The library: browse, search, import and hand images to the project.

    Signals:
        imported(sha256): an image was imported (or was already there).
        refused(message): an import was refused; the banner shows the message and any fix.
        use_requested(role, reference): the user chose "Use as start frame" (``"start"``), "Use as end frame"
            (``"end"``) or "New element" (``"element"``) on an image.
    """

    imported = Signal(str)
    refused = Signal(str)
    use_requested = Signal(str, object)

    def __init__(
        self,
        library: ReferenceLibrary,
        thumbnails: ThumbnailCache,
        work: BackgroundWork,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("referenceLibraryPanel")
        self.setAcceptDrops(True)
        self._library = library
        self._work = work
        self._thumbnails = thumbnails
        self._refusals: list[Refusal] = []
        self._file_dialog: QFileDialog | None = None
        self.model = ReferenceLibraryModel(thumbnails, self)
        self.model.rename_requested.connect(self._on_model_rename_requested)

        title = QLabel("Reference library", self)
        title.setObjectName("sectionTitle")
        self.count_label = QLabel("", self)
        self.count_label.setProperty("role", "muted")
        self.search_edit = QLineEdit(self)
        self.search_edit.setPlaceholderText("Search names or #tags")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self.model.set_filter)
        self.search_edit.textChanged.connect(self._update_count)
        self.import_button = QPushButton("Import…", self)
        self.import_button.setToolTip("Import JPEG, PNG or WebP images (or drop files here, or paste)")
        self.import_button.clicked.connect(self.open_import_dialog)

        self.banner = QFrame(self)
        self.banner.setObjectName("problemBanner")
        self.banner_label = QLabel(self.banner)
        self.banner_label.setWordWrap(True)
        self.banner_buttons = QHBoxLayout()
        self.dismiss_button = QPushButton("Dismiss", self.banner)
        self.dismiss_button.clicked.connect(self.dismiss_refusal)
        banner_layout = QVBoxLayout(self.banner)
        banner_layout.setContentsMargins(10, 8, 10, 8)
        banner_layout.addWidget(self.banner_label)
        banner_layout.addLayout(self.banner_buttons)
        self.banner.hide()

        self.view = QListView(self)
        self.view.setObjectName("referenceGrid")
        self.view.setModel(self.model)
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(100)
        self.view.setIconSize(ICON_SIZE)
        self.view.setGridSize(QSize(ICON_SIZE.width() + 16, ICON_SIZE.height() + 34))
        self.view.setSpacing(4)
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setDragEnabled(True)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._on_view_context_menu_requested)

        self.empty_label = QLabel("Drop images here, paste one, or use Import…", self)
        self.empty_label.setProperty("role", "muted")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        header = QHBoxLayout()
        header.addWidget(title)
        header.addWidget(self.count_label)
        header.addStretch(1)
        header.addWidget(self.import_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        layout.addLayout(header)
        layout.addWidget(self.search_edit)
        layout.addWidget(self.banner)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.empty_label)

        paste = QShortcut(QKeySequence(QKeySequence.StandardKey.Paste), self)
        paste.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        paste.activated.connect(self.paste)
        self.refresh()
        apply_references_style(self)

    # ---- public actions -----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the items from the library (off the UI thread)."""
        self._work.run(self._library.items, self._on_work_items_loaded)

    def selected_references(self) -> list[Reference]:
        """The selected images, in view order."""
        rows = sorted(i.row() for i in self.view.selectionModel().selectedIndexes())
        return [self.model.item_at(row).reference for row in rows]

    def open_import_dialog(self) -> None:
        """Ask for image files (non-blocking dialog)."""
        dialog = QFileDialog(self, "Import reference images", str(Path.home()), IMAGE_FILTER)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.filesSelected.connect(lambda files: self.import_paths([Path(f) for f in files]))
        self._file_dialog = dialog
        dialog.open()

    def import_paths(self, paths: list[Path]) -> None:
        """Import files; refused ones go to the banner."""
        for path in paths:
            self._work.run(
                lambda path=path: self._import_file(path),
                self._on_work_import_done,
                self._on_work_import_failed,
            )

    def import_image_bytes(self, data: bytes, name: str) -> None:
        """Import raw image bytes (a paste)."""
        self._work.run(
            lambda: self._import_data(data, name, "pasted"),
            self._on_work_import_done,
            self._on_work_import_failed,
        )

    def paste(self) -> None:
        """Import what the clipboard holds: image files, or an image."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None:
            return
        files = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
        if files:
            self.import_paths(files)
        elif mime.hasImage():
            image = QImage(mime.imageData())
            if not image.isNull():
                self.import_image_bytes(_png_bytes(image), f"Pasted {datetime.now():%Y-%m-%d %H.%M.%S}")

    def apply_fix(self) -> None:
        """Import a corrected copy of the refused image on the banner."""
        if not self._refusals or self._refusals[-1].check is None:
            return
        refusal = self._refusals.pop()
        check = refusal.check
        self._show_banner()
        self._work.run(
            lambda: self._library.import_fixed(refusal.data, check, name=refusal.name, source=refusal.source),
            self._on_work_import_done,
            self._on_work_import_failed,
        )

    def dismiss_refusal(self) -> None:
        """Drop the refusal on the banner (the next one, if any, shows)."""
        if self._refusals:
            self._refusals.pop()
        self._show_banner()

    @property
    def refusals(self) -> list[Refusal]:
        """Refused imports still on the banner, latest last."""
        return list(self._refusals)

    # ---- worker side (runs off the UI thread) ------------------------------------------------------------

    def _import_file(self, path: Path) -> ImportResult | Refusal:
        data, check = self._library.check_path(path)
        if not check.ok:
            return Refusal(path.stem, str(path), data, check, check.message)
        return self._library.import_path(path)

    def _import_data(self, data: bytes, name: str, source: str) -> ImportResult | Refusal:
        try:
            return self._library.import_bytes(data, name=name, source=source)
        except ImageRejectedError as exc:
            return Refusal(name, source, data, exc.check, exc.check.message)

    # ---- answers (UI thread) --------------------------------------------------------------------------

    def _on_work_items_loaded(self, items: list[LibraryItem]) -> None:
        self.model.set_items(items)
        self._update_count()

    def _on_work_import_done(self, outcome: ImportResult | Refusal) -> None:
        if isinstance(outcome, Refusal):
            self._refusals.append(outcome)
            self._show_banner()
            self.refused.emit(outcome.message)
            return
        self.refresh()
        self.imported.emit(outcome.item.sha256)

    def _on_work_import_failed(self, error: Exception) -> None:
        message = str(error) if isinstance(error, UserError) else f"The import failed: {error}"
        self._refusals.append(Refusal("", "", b"", None, message))
        self._show_banner()
        self.refused.emit(message)

    def _show_banner(self) -> None:
        while self.banner_buttons.count():
            widget = self.banner_buttons.takeAt(0).widget()
            if widget is not None and widget is not self.dismiss_button:
                widget.deleteLater()
        if not self._refusals:
            self.banner.hide()
            return
        refusal = self._refusals[-1]
        more = len(self._refusals) - 1
        self.banner_label.setText(refusal.message + (f"  ({more} more)" if more else ""))
        for fix in refusal.check.fixes if refusal.check else ():
            button = QPushButton(fix.label, self.banner)
            button.setObjectName("fixButton")
            button.clicked.connect(self.apply_fix)
            self.banner_buttons.addWidget(button)
        self.banner_buttons.addStretch(1)
        self.banner_buttons.addWidget(self.dismiss_button)
        self.banner.show()

    def _update_count(self) -> None:
        shown, total = self.model.rowCount(), self.model.total
        self.count_label.setText(f"{shown} of {total}" if shown != total else f"{total}")
        self.empty_label.setVisible(total == 0)

    def _on_model_rename_requested(self, sha256: str, name: str) -> None:
        self._work.run(lambda: self._library.rename(sha256, name), lambda _item: self.refresh())

    def _on_view_context_menu_requested(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if not index.isValid():
            return
        item = self.model.item_at(index.row())
        menu = QMenu(self)
        for role, label in (
            ("start", "Use as start frame"),
            ("end", "Use as end frame"),
            ("element", "New element"),
        ):
            action = QAction(label, menu)
            action.triggered.connect(lambda _=False, role=role: self.use_requested.emit(role, item.reference))
            menu.addAction(action)
        menu.addSeparator()
        rename = menu.addAction("Rename")
        rename.triggered.connect(lambda: self.view.edit(index))
        tags = menu.addAction("Edit tags…")
        tags.triggered.connect(lambda: self._ask_tags(item))
        remove = menu.addAction("Remove from library")
        remove.triggered.connect(lambda: self._remove(item.sha256))
        menu.popup(self.view.viewport().mapToGlobal(pos))

    def _ask_tags(self, item: LibraryItem) -> None:
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Tags")
        dialog.setLabelText(f"Tags for {item.name} (separated by spaces):")
        dialog.setTextValue(" ".join(item.tags))
        dialog.textValueSelected.connect(
            lambda text: self._work.run(
                lambda: self._library.set_tags(item.sha256, text.split()), lambda _i: self.refresh()
            )
        )
        dialog.open()

    def _remove(self, sha256: str) -> None:
        self._thumbnails.forget(sha256)
        self._work.run(lambda: self._library.remove(sha256), lambda _none: self.refresh())

    # ---- drops ------------------------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if any(url.isLocalFile() for url in mime.urls()) or mime.hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        mime = event.mimeData()
        files = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
        if files:
            self.import_paths(files)
        elif mime.hasImage():
            self.import_image_bytes(_png_bytes(QImage(mime.imageData())), "Dropped image")
        event.acceptProposedAction()


def _png_bytes(image: QImage) -> bytes:
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data())

"""A drop target showing one reference image: the start frame, the end frame, or an element's image."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QMouseEvent, QPixmap
from PySide6.QtWidgets import QFrame, QLabel, QToolButton, QVBoxLayout, QWidget

from kling_studio.core.references import Reference
from kling_studio.services.reference_library import ReferenceLibrary
from kling_studio.ui.references.mime import references_from_mime
from kling_studio.ui.references.thumbnails import ThumbnailCache

SLOT_SIZE = QSize(112, 84)


class ImageSlot(QFrame):
    """Shows a reference's thumbnail and name; takes a library image by drop; × clears it.

    A reference whose image is no longer in the library shows "Missing" with its name: dropping a library
    image on it relinks every use (``relink_requested``).
    """

    dropped = Signal(object)
    cleared = Signal()
    relink_requested = Signal(str, object)
    clicked = Signal()

    def __init__(
        self,
        caption: str,
        library: ReferenceLibrary,
        thumbnails: ThumbnailCache,
        parent: QWidget | None = None,
        *,
        size: QSize = SLOT_SIZE,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("imageSlot")
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._caption = caption
        self._library = library
        self._thumbnails = thumbnails
        self._size = size
        self.reference: Reference | None = None
        self.missing = False
        self.picture = QLabel(self)
        self.picture.setFixedSize(size)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setObjectName("slotPicture")
        self.name_label = QLabel(self)
        self.name_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.name_label.setFixedWidth(size.width())
        self.name_label.setProperty("role", "muted")
        self.clear_button = QToolButton(self)
        self.clear_button.setText("×")
        self.clear_button.setToolTip(f"Remove the {caption.lower()}")
        self.clear_button.setAutoRaise(True)
        self.clear_button.setObjectName("slotClear")
        self.clear_button.setFixedSize(20, 20)
        self.clear_button.clicked.connect(self.cleared.emit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        layout.addWidget(self.picture)
        layout.addWidget(self.name_label)
        thumbnails.thumbnail_ready.connect(self._on_thumbnails_ready)
        self._render()

    def set_reference(self, reference: Reference | None) -> None:
        """Show ``reference`` (None: an empty slot inviting a drop)."""
        self.reference = reference
        self._render()

    def _render(self) -> None:
        ref = self.reference
        self.missing = ref is not None and self._library.get(ref.sha256) is None
        self.setProperty("missing", self.missing)
        self.setProperty("empty", ref is None)
        self.style().unpolish(self)
        self.style().polish(self)
        self.clear_button.setVisible(ref is not None)
        self.clear_button.move(self._size.width() - 14, 6)
        if ref is None:
            self.picture.setPixmap(_nothing())
            self.picture.setText(f"{self._caption}\ndrop an image")
            self.name_label.setText("")
            self.setToolTip(f"{self._caption}: drag an image here from the library")
            return
        if self.missing:
            self.picture.setPixmap(_nothing())
            self.picture.setText("Missing")
            self.name_label.setText(_elide(ref.label))
            self.setToolTip(
                f"{ref.label} ({ref.sha256[:12]}) is not in the library. Drop a library image here to relink it."
            )
            return
        pixmap = self._thumbnails.pixmap(ref.sha256)
        self.picture.setText("" if pixmap else "…")
        if pixmap is not None:
            self.picture.setPixmap(
                pixmap.scaled(
                    self._size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
            )
        self.name_label.setText(_elide(ref.label))
        self.setToolTip(f"{self._caption}: {ref.label}")

    def _on_thumbnails_ready(self, sha256: str) -> None:
        if self.reference is not None and self.reference.sha256 == sha256:
            self._render()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if references_from_mime(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        refs = references_from_mime(event.mimeData())
        if not refs:
            return
        event.acceptProposedAction()
        if self.missing and self.reference is not None:
            self.relink_requested.emit(self.reference.sha256, refs[0])
        else:
            self.dropped.emit(refs[0])

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mouseReleaseEvent(event)


def _nothing() -> QPixmap:
    return QPixmap()


def _elide(text: str, limit: int = 16) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

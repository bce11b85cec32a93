"""The picture: a QGraphicsView holding the playing video, a still frame shown while stepping, and overlays.

A ``QGraphicsVideoItem`` (not a ``QVideoWidget``) so the view can be grabbed for screenshots and items can
sit on top of the video (the still frame, the crop frame). All items share one rectangle: the video fitted
into the view, letterboxed.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSizeF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QResizeEvent
from PySide6.QtMultimediaWidgets import QGraphicsVideoItem
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsView, QStyleOptionGraphicsItem, QWidget

from kling_studio.ui.player.crop_frame import CropFrameItem


class StillFrameItem(QGraphicsItem):
    """Draws one decoded frame (a QImage) scaled into its rectangle; hidden while the video plays."""

    def __init__(self, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self._rect = QRectF()
        self._image: QImage | None = None
        self.index: int | None = None

    def set_rect(self, rect: QRectF) -> None:
        """Where to draw (the video's rectangle)."""
        self.prepareGeometryChange()
        self._rect = QRectF(rect)

    def set_image(self, image: QImage | None, index: int | None = None) -> None:
        """Show ``image`` (frame ``index``), or nothing."""
        self._image = image
        self.index = index
        self.setVisible(image is not None)
        self.update()

    def image(self) -> QImage | None:
        """The frame drawn now, if any."""
        return self._image

    def boundingRect(self) -> QRectF:
        """The video's rectangle."""
        return self._rect

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        """Draw the frame scaled into the rectangle."""
        if self._image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(self._rect, self._image)


class VideoView(QGraphicsView):
    """The video, fitted and letterboxed in a dark view.

    Attributes:
        video_item: Where QMediaPlayer draws.
        still_item: The decoded frame shown while paused after a step.
    """

    resized = Signal()
    double_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("videoView")
        self.setAccessibleName("Video")
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QColor("#0b0b0d"))
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setMinimumSize(160, 90)
        self.video_item = QGraphicsVideoItem()
        self.video_item.setAspectRatioMode(Qt.AspectRatioMode.KeepAspectRatio)
        self.scene().addItem(self.video_item)
        self.still_item = StillFrameItem()
        self.still_item.setZValue(1)
        self.still_item.setVisible(False)
        self.scene().addItem(self.still_item)
        self.crop_item = CropFrameItem()
        self.crop_item.setVisible(False)
        self.scene().addItem(self.crop_item)
        self._frame_size = QSizeF(16, 9)
        self._fit()

    def set_frame_size(self, width: int, height: int) -> None:
        """The video's pixel size, so overlays fit it before the first frame arrives."""
        if width > 0 and height > 0:
            self._frame_size = QSizeF(width, height)
            self._fit()

    def show_crop_frame(self, aspect: str | None) -> None:
        """Show the movable ``"9:16"`` / ``"1:1"`` crop window over the picture, or hide it (None)."""
        if aspect is None:
            self.crop_item.setVisible(False)
            return
        self.crop_item.set_aspect(aspect)
        self.crop_item.setVisible(True)

    def video_rect(self) -> QRectF:
        """The rectangle the video is drawn in (scene coordinates = viewport pixels)."""
        view = QSizeF(self.viewport().width(), self.viewport().height())
        size = self._frame_size.scaled(view, Qt.AspectRatioMode.KeepAspectRatio)
        left, top = (view.width() - size.width()) / 2, (view.height() - size.height()) / 2
        return QRectF(left, top, size.width(), size.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the video fitted."""
        super().resizeEvent(event)
        self._fit()
        self.resized.emit()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        """Double-click toggles fullscreen (the player listens)."""
        self.double_clicked.emit()
        super().mouseDoubleClickEvent(event)

    def _fit(self) -> None:
        width, height = self.viewport().width(), self.viewport().height()
        self.scene().setSceneRect(0, 0, width, height)
        self.video_item.setPos(0, 0)
        self.video_item.setSize(QSizeF(width, height))
        self.still_item.set_rect(self.video_rect())
        self.crop_item.set_video_rect(self.video_rect())
        self.resetTransform()

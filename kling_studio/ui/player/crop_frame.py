"""The crop frame: a 9:16 or 1:1 window over the 16:9 picture that the user drags sideways.

Outside the window is dimmed; the window's place is :attr:`CropFrameItem.center` (0 = left edge, 1 = right
edge), the same number :func:`kling_studio.services.crops.export_crop` takes.
"""

from __future__ import annotations

from fractions import Fraction

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsObject, QGraphicsSceneMouseEvent, QStyleOptionGraphicsItem, QWidget

from kling_studio.services.crops import ASPECTS


class CropFrameItem(QGraphicsObject):
    """A draggable crop window inside the video's rectangle."""

    center_changed = Signal(float)

    def __init__(self, parent: QGraphicsObject | None = None) -> None:
        super().__init__(parent)
        self._video = QRectF()
        self._aspect = Fraction(9, 16)
        self.aspect_name = "9:16"
        self.center = 0.5
        self._drag_from: QPointF | None = None
        self._drag_center = 0.5
        self.setZValue(5)
        self.setCursor(Qt.CursorShape.SizeHorCursor)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)

    def set_video_rect(self, rect: QRectF) -> None:
        """The picture's rectangle (the frame moves inside it)."""
        self.prepareGeometryChange()
        self._video = QRectF(rect)

    def set_aspect(self, aspect: str) -> None:
        """``"9:16"`` or ``"1:1"``."""
        self.aspect_name = aspect
        self._aspect = ASPECTS[aspect]
        self.update()

    def set_center(self, center: float) -> None:
        """Place the window (0 left … 1 right)."""
        center = max(0.0, min(1.0, center))
        if center != self.center:
            self.center = center
            self.update()
            self.center_changed.emit(center)

    def window_rect(self) -> QRectF:
        """The crop window in scene coordinates."""
        height = self._video.height()
        width = min(self._video.width(), height * float(self._aspect))
        left = self._video.left() + (self._video.width() - width) * self.center
        return QRectF(left, self._video.top(), width, height)

    def boundingRect(self) -> QRectF:
        """The whole picture (the dimmed sides are drawn too)."""
        return self._video

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        """Dim outside the window, outline it, and draw thirds inside it."""
        window = self.window_rect()
        shade = QColor(0, 0, 0, 150)
        painter.fillRect(QRectF(self._video.topLeft(), QPointF(window.left(), self._video.bottom())), shade)
        painter.fillRect(QRectF(QPointF(window.right(), self._video.top()), self._video.bottomRight()), shade)
        painter.setPen(QPen(QColor(255, 255, 255, 70), 1))
        for third in (1, 2):
            x = window.left() + window.width() * third / 3
            y = window.top() + window.height() * third / 3
            painter.drawLine(QPointF(x, window.top()), QPointF(x, window.bottom()))
            painter.drawLine(QPointF(window.left(), y), QPointF(window.right(), y))
        painter.setPen(QPen(QColor("#7c5cff"), 2))
        painter.drawRect(window.adjusted(1, 1, -1, -1))
        painter.setPen(QColor("#ffffff"))
        painter.drawText(window.adjusted(8, 6, -8, -6), Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft,
                         self.aspect_name)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        """Start dragging the window."""
        self._drag_from = event.scenePos()
        self._drag_center = self.center
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        """Move the window with the mouse, clamped to the picture."""
        if self._drag_from is None:
            return
        travel = self._video.width() - self.window_rect().width()
        if travel <= 0:
            return
        dx = event.scenePos().x() - self._drag_from.x()
        self.set_center(self._drag_center + dx / travel)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        """Stop dragging."""
        self._drag_from = None
        event.accept()

"""The grip on a block's right edge: a child item that turns a drag into one resize command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from kling_studio.ui.timeline.drag_controller import ResizeDrag
from kling_studio.ui.timeline.geometry import BLOCK_HEIGHT, HANDLE_WIDTH

if TYPE_CHECKING:
    from kling_studio.ui.timeline.scene import TimelineScene
    from kling_studio.ui.timeline.shot_item import ShotItem


class ResizeHandle(QGraphicsRectItem):
    """The right-edge grip of a :class:`ShotItem`; shows a resize cursor and brightens on hover."""

    def __init__(self, block: ShotItem) -> None:
        super().__init__(block)
        self._block = block
        self._drag: ResizeDrag | None = None
        self._hovered = False
        self.setAcceptHoverEvents(True)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self.setCursor(Qt.CursorShape.SizeHorCursor)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, False)
        self.setToolTip("Drag to change the length (whole seconds)")

    @property
    def dragging(self) -> bool:
        """True while a resize is in progress."""
        return self._drag is not None

    def place(self, block_width: float) -> None:
        """Sit on the block's right edge."""
        self.setRect(QRectF(block_width - HANDLE_WIDTH, 0, HANDLE_WIDTH, BLOCK_HEIGHT))

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        """Two short grip lines, in the accent colour while hovered or dragged."""
        scene: TimelineScene = self.scene()  # type: ignore[assignment]
        colors = scene.colors
        color = QColor(colors.accent if self._hovered or self._drag else colors.muted)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        rect = self.rect()
        mid = rect.center().y()
        for dx in (2.5, 5.0):
            painter.drawRoundedRect(QRectF(rect.left() + dx - 0.75, mid - 10, 1.5, 20), 0.75, 0.75)

    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        """Brighten."""
        self._hovered = True
        self.update()

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        """Dim."""
        self._hovered = False
        self.update()

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        """Start a resize of the block's shot and make it current."""
        scene: TimelineScene = self.scene()  # type: ignore[assignment]
        scene.select_block(self._block.shot_id)
        self._drag = ResizeDrag(scene, self._block.shot_id, event.scenePos().x())
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        """Preview the new length."""
        if self._drag is not None:
            self._drag.update(event.scenePos().x())

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        """Commit the new length as one command."""
        drag, self._drag = self._drag, None
        if drag is not None:
            drag.finish(event.scenePos().x())
        self.update()

    def cancel_drag(self) -> None:
        """Abandon a resize in progress (Escape, focus loss)."""
        drag, self._drag = self._drag, None
        if drag is not None:
            drag.cancel()

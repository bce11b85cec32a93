"""Small scene decorations: the free seconds after the last shot and the drop marker of a reorder."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from kling_studio.core.limits import MAX_TOTAL_SECONDS
from kling_studio.ui.timeline.geometry import BLOCK_HEIGHT, TRACK_TOP, TimeScale

if TYPE_CHECKING:
    from kling_studio.ui.timeline.scene import TimelineScene


def free_text(total: int) -> str:
    """What the space after the last shot says: ``3 s free``, ``15 s — full``, ``2 s over the 15 s limit``."""
    if total > MAX_TOTAL_SECONDS:
        return f"{total - MAX_TOTAL_SECONDS} s over the {MAX_TOTAL_SECONDS} s limit"
    if total == MAX_TOTAL_SECONDS:
        return f"{MAX_TOTAL_SECONDS} s — full"
    if total == 0:
        return f"{MAX_TOTAL_SECONDS} s free — press Insert to add a shot"
    return f"{MAX_TOTAL_SECONDS - total} s free"


class FreeSpaceItem(QGraphicsItem):
    """The seconds left under the limit (dashed, with "3 s free"), or red when the clip runs over."""

    def __init__(self) -> None:
        super().__init__()
        self._rect = QRectF()
        self._total = 0
        self.setZValue(-5)

    @property
    def text(self) -> str:
        """What the area says."""
        return free_text(self._total)

    @property
    def short_text(self) -> str:
        """The same, for a narrow area: ``3 s`` free, ``+2 s`` over, nothing when full."""
        if self._total > MAX_TOTAL_SECONDS:
            return f"+{self._total - MAX_TOTAL_SECONDS} s"
        return f"{MAX_TOTAL_SECONDS - self._total} s" if self._total < MAX_TOTAL_SECONDS else ""

    def set_extent(self, scale: TimeScale, total: int) -> None:
        """Cover the space from the end of the clip to the 15 s limit (or the overrun past it)."""
        self.prepareGeometryChange()
        self._total = total
        start, end = sorted((total, MAX_TOTAL_SECONDS))
        self._rect = QRectF(scale.x_for(start), TRACK_TOP, scale.width_for(end - start), BLOCK_HEIGHT)
        self.setToolTip(self.text)

    def boundingRect(self) -> QRectF:
        """The free (or overrun) span of the track."""
        return self._rect.adjusted(-2, -2, 2, 2)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        """A dashed outline with the remaining seconds, or a red band when over the limit."""
        scene: TimelineScene = self.scene()  # type: ignore[assignment]
        colors = scene.colors
        over = self._total > MAX_TOTAL_SECONDS
        rect = self._rect.adjusted(2, 2, -2, -2)
        if over:
            fill = QColor(colors.error)
            fill.setAlpha(50)
            painter.setBrush(fill)
            painter.setPen(QPen(QColor(colors.error), 1.5))
        else:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(QColor(colors.border), 1.5, Qt.PenStyle.DashLine))
        if rect.width() > 0:
            painter.drawRoundedRect(rect, 6, 6)
        font = painter.font()
        font.setPixelSize(12)
        painter.setFont(font)
        painter.setPen(QColor(colors.error if over else colors.muted))
        metrics = QFontMetricsF(font)
        room = rect.width() - 8
        for text in (self.text, self.short_text):
            if text and metrics.horizontalAdvance(text) <= room:
                painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), text)
                break  # with no room at all (a full clip) the length label and tooltip say it


class InsertionMarker(QGraphicsItem):
    """The accent bar showing where a dragged shot will land."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(20)
        self.setVisible(False)

    def boundingRect(self) -> QRectF:
        """A thin bar a little taller than the track."""
        return QRectF(-3, TRACK_TOP - 6, 6, BLOCK_HEIGHT + 12)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        """The bar in the accent colour."""
        scene: TimelineScene = self.scene()  # type: ignore[assignment]
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(scene.colors.accent))
        painter.drawRoundedRect(QRectF(-1.5, TRACK_TOP - 6, 3, BLOCK_HEIGHT + 12), 1.5, 1.5)

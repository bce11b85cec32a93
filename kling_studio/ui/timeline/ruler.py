"""The time ruler above the track: a tick every second, labels as the zoom allows, the 15 s limit marked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from kling_studio.core.limits import MAX_TOTAL_SECONDS
from kling_studio.ui.timeline.geometry import RULER_HEIGHT, SCENE_HEIGHT, TimeScale

if TYPE_CHECKING:
    from kling_studio.ui.timeline.scene import TimelineScene


def label_step(pixels_per_second: float) -> int:
    """Seconds between labelled ticks, so labels never crowd (about 36 px apart at least)."""
    for step in (1, 2, 5):
        if step * pixels_per_second >= 36:
            return step
    return 15


class RulerItem(QGraphicsItem):
    """Second ticks from 0 to ``seconds``, with the 15 s limit drawn across the track."""

    def __init__(self) -> None:
        super().__init__()
        self._scale = TimeScale()
        self._seconds = MAX_TOTAL_SECONDS
        self.setZValue(-10)

    def set_extent(self, scale: TimeScale, seconds: int) -> None:
        """Redraw for a zoom level and a length (at least 15 s)."""
        self.prepareGeometryChange()
        self._scale = scale
        self._seconds = max(MAX_TOTAL_SECONDS, seconds)

    def boundingRect(self) -> QRectF:
        """The ruler strip plus the limit line through the track."""
        return QRectF(0, 0, self._scale.x_for(self._seconds) + 40, SCENE_HEIGHT)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        """Ticks, labels and the limit line."""
        scene: TimelineScene = self.scene()  # type: ignore[assignment]
        colors = scene.colors
        muted = QColor(colors.muted)
        painter.setPen(QPen(QColor(colors.border), 1))
        painter.drawLine(
            QLineF(
                self._scale.x_for(0), RULER_HEIGHT - 0.5, self._scale.x_for(self._seconds), RULER_HEIGHT - 0.5
            )
        )
        step = label_step(self._scale.pixels_per_second)
        font = painter.font()
        font.setPixelSize(11)
        painter.setFont(font)
        for second in range(self._seconds + 1):
            x = self._scale.x_for(second)
            labelled = second % step == 0
            painter.setPen(QPen(muted, 1))
            painter.drawLine(QLineF(x, RULER_HEIGHT - (9 if labelled else 5), x, RULER_HEIGHT - 1))
            if labelled:
                painter.drawText(QPointF(x + 3, RULER_HEIGHT - 10), f"{second} s" if second else "0")
        limit_x = self._scale.x_for(MAX_TOTAL_SECONDS)
        pen = QPen(QColor(colors.muted), 1, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawLine(QLineF(limit_x, RULER_HEIGHT, limit_x, SCENE_HEIGHT - 4))

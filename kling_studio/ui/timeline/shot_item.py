"""One block on the timeline: a shot (or the single prompt), as wide as it lasts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsItem,
    QGraphicsSceneHoverEvent,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from kling_studio.core.storyboard import Shot
from kling_studio.ui.timeline.drag_controller import MoveDrag
from kling_studio.ui.timeline.geometry import BLOCK_HEIGHT, TRACK_TOP
from kling_studio.ui.timeline.resize_handle import ResizeHandle

if TYPE_CHECKING:
    from kling_studio.ui.timeline.scene import TimelineScene

_PAD = 8.0
_RADIUS = 6.0


@dataclass(frozen=True)
class BlockLabel:
    """What a block says: its title (``Shot 2 · 4 s``), the prompt excerpt and whether it is valid.

    Attributes:
        title: The first line.
        short_title: What is left when the block is narrow (``2 · 4 s``).
        prompt: The prompt shown under the title ("" when empty).
        invalid: True when validation reports an error about this block.
        problem: The first error's message, for the tooltip.
    """

    title: str
    short_title: str
    prompt: str
    invalid: bool = False
    problem: str = ""


class ShotItem(QGraphicsItem):
    """A block holding its :class:`Shot` (None for the single-prompt block).

    The price line is asked from the scene's ``cost_for`` at paint time, so it always shows the latest
    price however the price listeners are ordered.
    """

    def __init__(self, shot: Shot | None) -> None:
        super().__init__()
        self.shot = shot
        self.seconds = shot.duration if shot else 0
        self.label = BlockLabel("", "", "")
        self.current = False
        self._width = 0.0
        self._dragging = False
        self._hovered = False
        self._move: MoveDrag | None = None
        self.handle = ResizeHandle(self)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.OpenHandCursor if shot else Qt.CursorShape.ArrowCursor)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton | Qt.MouseButton.RightButton)

    # ---- model ----------------------------------------------------------------------------------------
    @property
    def shot_id(self) -> str:
        """The shot's id, or "" for the single-prompt block."""
        return self.shot.id if self.shot else ""

    def set_content(self, shot: Shot | None, seconds: int, label: BlockLabel, current: bool) -> None:
        """Show the latest shot value, its (possibly previewed) length, label and selection state."""
        self.shot = shot
        self.seconds = seconds
        self.label = label
        self.current = current
        tooltip = label.prompt or "No prompt yet"
        if label.problem:
            tooltip = f"{label.problem}\n\n{tooltip}"
        self.setToolTip(tooltip)
        self.update()

    def set_geometry(self, x: float, width: float) -> None:
        """Sit at scene x with ``width`` pixels (the length on the current zoom)."""
        if width != self._width:
            self.prepareGeometryChange()
            self._width = width
            self.handle.place(width)
        if not self._dragging:
            self.setPos(x, TRACK_TOP)

    def set_dragging(self, dragging: bool) -> None:
        """Lift the block above the others while it is dragged."""
        self._dragging = dragging
        self.setZValue(10 if dragging else 0)
        self.setOpacity(0.85 if dragging else 1.0)
        self.setCursor(Qt.CursorShape.ClosedHandCursor if dragging else Qt.CursorShape.OpenHandCursor)

    def price_text(self) -> str:
        """The block's price as the cost meter states it (e.g. ``$1.12``), from the scene's ``cost_for``."""
        scene: TimelineScene | None = self.scene()  # type: ignore[assignment]
        return scene.price_text(self.shot_id) if scene is not None else ""

    def accessible_text(self) -> str:
        """The block in words: title, price and prompt."""
        price = self.price_text()
        parts = [self.label.title, price, self.label.prompt or "no prompt yet"]
        if self.label.problem:
            parts.append(self.label.problem)
        return ", ".join(p for p in parts if p)

    # ---- painting -------------------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        """The block, with room for its outline."""
        return QRectF(-2, -2, self._width + 4, BLOCK_HEIGHT + 4)

    def shape(self) -> QPainterPath:
        """The block itself (clicks just outside do not hit it)."""
        path = QPainterPath()
        path.addRect(QRectF(0, 0, self._width, BLOCK_HEIGHT))
        return path

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        """Rounded block, outline (accent when current, red when invalid), title, price and prompt."""
        scene: TimelineScene = self.scene()  # type: ignore[assignment]
        colors = scene.colors
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(1.5, 0.5, max(0.0, self._width - 3), BLOCK_HEIGHT - 1)
        fill = QColor(colors.raised)
        if self.current:
            fill = _mix(fill, QColor(colors.accent), 0.18)
        painter.setBrush(fill)
        if self.label.invalid:
            pen = QPen(QColor(colors.error), 2)
        elif self.current:
            pen = QPen(QColor(colors.accent), 2)
        else:
            pen = QPen(QColor(colors.muted if self._hovered else colors.border), 1)
        painter.setPen(pen)
        painter.drawRoundedRect(rect, _RADIUS, _RADIUS)
        if self.current and self.label.invalid:
            painter.setPen(QPen(QColor(colors.accent), 1, Qt.PenStyle.DotLine))
            painter.drawRoundedRect(rect.adjusted(3, 3, -3, -3), _RADIUS - 2, _RADIUS - 2)

        text_rect = rect.adjusted(_PAD, 6, -_PAD - 6, -6)
        if text_rect.width() < 8:
            return
        title_font = QFont(painter.font())
        title_font.setPixelSize(12)
        title_font.setWeight(QFont.Weight.DemiBold)
        body_font = QFont(painter.font())
        body_font.setPixelSize(12)
        title_metrics = QFontMetricsF(title_font)
        line = title_metrics.height()

        price = self.price_text()
        painter.setFont(title_font)
        width = text_rect.width()

        def fits(*texts: str) -> bool:
            return sum(title_metrics.horizontalAdvance(t) for t in texts) + 8 * (len(texts) - 1) <= width

        # The price stays visible: beside the title when both fit, otherwise on a line of its own.
        title, price_inline = self.label.title, bool(price) and fits(self.label.title, price)
        if price and not price_inline and fits(self.label.short_title, price):
            title, price_inline = self.label.short_title, True
        elif not fits(title):
            short = self.label.short_title
            title = short if fits(short) else short.split(" ·")[0]
        align_left = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        align_right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        painter.setPen(QColor(colors.text))
        top = text_rect.top()
        elided = title_metrics.elidedText(title, Qt.TextElideMode.ElideRight, width)
        painter.drawText(QRectF(text_rect.left(), top, width, line), align_left, elided)
        painter.setPen(QColor(colors.muted))
        if price_inline:
            painter.drawText(QRectF(text_rect.left(), top, width, line), align_right, price)
        elif price and fits(price):
            top += line
            painter.drawText(QRectF(text_rect.left(), top, width, line), align_left, price)

        if width < 56:
            return  # too narrow for words; the tooltip and the shot list carry the prompt
        painter.setFont(body_font)
        body_rect = QRectF(text_rect.left(), top + line + 4, width, text_rect.bottom() - top - line - 4)
        if self.label.prompt:
            painter.setPen(QColor(colors.muted))
            text = " ".join(self.label.prompt.split())
        else:
            body_font.setItalic(True)
            painter.setFont(body_font)
            painter.setPen(QColor(colors.error if self.label.invalid else colors.muted))
            text = "No prompt yet — F2 to write one"
        metrics = QFontMetricsF(body_font)
        lines = max(1, int(body_rect.height() // metrics.height()))
        _draw_wrapped(painter, metrics, body_rect, text, lines)

    # ---- mouse ----------------------------------------------------------------------------------------
    def hoverEnterEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        """Outline the block under the pointer."""
        self._hovered = True
        self.update()

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        """Drop the hover outline."""
        self._hovered = False
        self.update()

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        """Make the shot current; a left press may become a reorder drag."""
        scene: TimelineScene = self.scene()  # type: ignore[assignment]
        scene.select_block(self.shot_id)
        if event.button() == Qt.MouseButton.LeftButton and self.shot is not None:
            threshold = float(QApplication.startDragDistance())
            self._move = MoveDrag(scene, self, event.scenePos().x(), threshold)
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        """Drag the block along the track."""
        if self._move is not None:
            self._move.update(event.scenePos().x())

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        """Drop the block: one move command if it landed somewhere else."""
        move, self._move = self._move, None
        if move is not None:
            move.finish(event.scenePos().x())

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        """Ask for the shot to be edited."""
        scene: TimelineScene = self.scene()  # type: ignore[assignment]
        self._move = None
        scene.edit_requested.emit(self.shot_id)
        event.accept()

    def cancel_drag(self) -> None:
        """Abandon a reorder or resize in progress."""
        move, self._move = self._move, None
        if move is not None:
            move.cancel()
        self.handle.cancel_drag()


def _mix(base: QColor, tint: QColor, amount: float) -> QColor:
    return QColor(
        round(base.red() + (tint.red() - base.red()) * amount),
        round(base.green() + (tint.green() - base.green()) * amount),
        round(base.blue() + (tint.blue() - base.blue()) * amount),
    )


def _draw_wrapped(painter: QPainter, metrics: QFontMetricsF, rect: QRectF, text: str, max_lines: int) -> None:
    """Word-wrap ``text`` into at most ``max_lines`` lines, eliding the last one."""
    words = text.split()
    y = rect.top()
    for line_number in range(max_lines):
        if not words:
            return
        last = line_number == max_lines - 1
        line = words.pop(0)
        while words and metrics.horizontalAdvance(f"{line} {words[0]}") <= rect.width():
            line = f"{line} {words.pop(0)}"
        if last and words:
            line = metrics.elidedText(f"{line} {' '.join(words)}", Qt.TextElideMode.ElideRight, rect.width())
        elif metrics.horizontalAdvance(line) > rect.width():
            line = metrics.elidedText(line, Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(
            QRectF(rect.left(), y, rect.width(), metrics.height()),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            line,
        )
        y += metrics.height()

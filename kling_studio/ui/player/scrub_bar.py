"""The scrub bar: a frame-unit slider that also marks where each shot begins."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSlider, QStyle, QStyleOptionSlider, QWidget


class ScrubBar(QSlider):
    """A horizontal slider over frame numbers (0 … frames − 1) with shot-boundary ticks.

    Args:
        parent: Owner.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("scrubBar")
        self.setAccessibleName("Position")
        self.setRange(0, 0)
        self.setPageStep(24)
        self.setMinimumHeight(22)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the player handles arrow/comma/period keys itself
        self._marks: tuple[int, ...] = ()
        self._mark_color = QColor("#f0b429")

    def set_frame_count(self, frames: int) -> None:
        """Frames in the take."""
        self.setRange(0, max(0, frames - 1))

    def set_marks(self, frames: Sequence[int]) -> None:
        """The first frame of each shot after the first."""
        self._marks = tuple(frames)
        self.update()

    def marks(self) -> tuple[int, ...]:
        """The marked frames."""
        return self._marks

    def set_mark_color(self, color: str) -> None:
        """Colour of the shot ticks (the theme's warning/accent)."""
        self._mark_color = QColor(color)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        """The slider, then a tick above the groove at each shot boundary."""
        super().paintEvent(event)
        if not self._marks or self.maximum() <= 0:
            return
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        groove: QRect = self.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderGroove, self
        )
        handle: QRect = self.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, self
        )
        span = groove.width() - handle.width()
        painter = QPainter(self)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._mark_color)
        for frame in self._marks:
            x = groove.left() + handle.width() / 2 + span * frame / self.maximum()
            painter.drawRoundedRect(int(x) - 1, 1, 3, self.height() - 2, 1, 1)
        painter.end()

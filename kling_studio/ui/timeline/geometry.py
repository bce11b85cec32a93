"""Where seconds sit on the canvas: the timeline's measurements and the seconds↔pixels mapping."""

from __future__ import annotations

from dataclasses import dataclass

MARGIN_X = 16.0
RULER_HEIGHT = 26.0
TRACK_TOP = RULER_HEIGHT + 10.0
BLOCK_HEIGHT = 78.0
BOTTOM_MARGIN = 14.0
SCENE_HEIGHT = TRACK_TOP + BLOCK_HEIGHT + BOTTOM_MARGIN
HANDLE_WIDTH = 8.0

DEFAULT_PIXELS_PER_SECOND = 64.0
MIN_PIXELS_PER_SECOND = 16.0
MAX_PIXELS_PER_SECOND = 320.0
ZOOM_STEP = 1.25


@dataclass(frozen=True)
class TimeScale:
    """The seconds↔x mapping at one zoom level (scene coordinates; 0 s sits at :data:`MARGIN_X`)."""

    pixels_per_second: float = DEFAULT_PIXELS_PER_SECOND

    def x_for(self, seconds: float) -> float:
        """Scene x of a moment ``seconds`` into the clip."""
        return MARGIN_X + seconds * self.pixels_per_second

    def seconds_at(self, x: float) -> float:
        """Moment (in seconds, not rounded) under scene x."""
        return (x - MARGIN_X) / self.pixels_per_second

    def width_for(self, seconds: float) -> float:
        """Width of ``seconds`` in scene pixels."""
        return seconds * self.pixels_per_second


def clamp_zoom(pixels_per_second: float) -> float:
    """Keep a zoom level within what stays readable."""
    return max(MIN_PIXELS_PER_SECOND, min(MAX_PIXELS_PER_SECOND, pixels_per_second))

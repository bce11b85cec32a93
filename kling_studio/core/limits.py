"""The Kling V3 API's rules as constants: one place, so the editor, validation and simulator agree."""

from __future__ import annotations

from enum import StrEnum

MIN_SHOTS = 1
MAX_SHOTS = 6
MIN_SHOT_SECONDS = 1
MAX_SHOT_SECONDS = 15
MIN_TOTAL_SECONDS = 3
MAX_TOTAL_SECONDS = 15
DEFAULT_DURATION = 5
DEFAULT_CFG_SCALE = 0.5
DEFAULT_NEGATIVE_PROMPT = "blur, distort, and low quality"
LONG_PROMPT_CHARS = 1200  # guidance only: very long prompts dilute the shot


class Tier(StrEnum):
    """Price and quality tier: standard and pro for drafts, 4k for finals."""

    STANDARD = "standard"
    PRO = "pro"
    K4 = "4k"


class ShotType(StrEnum):
    """customize: the user defines the shots; intelligent: the model plans the cut."""

    CUSTOMIZE = "customize"
    INTELLIGENT = "intelligent"


class AspectRatio(StrEnum):
    """The frame shapes text-to-video accepts."""

    LANDSCAPE = "16:9"
    PORTRAIT = "9:16"
    SQUARE = "1:1"


class Mode(StrEnum):
    """A single prompt for the whole clip, or a storyboard of shots (``multi_prompt``)."""

    SINGLE = "single"
    MULTI = "multi"

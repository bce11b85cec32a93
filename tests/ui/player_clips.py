"""Test clips for the player, library and crop tests: rendered once by the simulator's renderer, then cached.

4K renders take seconds of a shared CPU, so they are cached across runs in ``$KLING_STUDIO_TEST_MEDIA``
(default: ``<tmp>/kling-studio-test-media``), keyed by what was asked and by the renderer's source.

Every frame of a simulator clip carries a progress bar along its bottom edge, ``(k + 1) / frames`` of the
width for frame ``k``: :func:`frame_index_in_image` reads the frame number back from the picture itself.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QColor, QImage
from PySide6.QtMultimedia import QVideoFrame

from kling_studio.services.simulator import render
from kling_studio.services.simulator.render import RenderSpec, render_video
from kling_studio.services.simulator.validation import Shot

FPS = render.FPS
TWO_SHOTS = (("A red bottle turning on a table", 2), ("Close-up of the label", 3))


def media_cache() -> Path:
    """The folder cached clips live in (created)."""
    default = Path(tempfile.gettempdir()) / "kling-studio-test-media"
    folder = Path(os.environ.get("KLING_STUDIO_TEST_MEDIA") or default)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def clip(
    shots: tuple[tuple[str, int], ...] = TWO_SHOTS,
    *,
    resolution: str = "preview",
    aspect_ratio: str = "16:9",
    audio: bool = True,
) -> Path:
    """A cached simulator clip: ``shots`` as (prompt, seconds)."""
    spec = RenderSpec(
        shots=tuple(Shot(prompt, seconds) for prompt, seconds in shots),
        aspect_ratio=aspect_ratio,
        resolution=resolution,  # type: ignore[arg-type]
        generate_audio=audio,
    )
    key = hashlib.sha256((repr(spec) + inspect.getsource(render)).encode()).hexdigest()[:16]
    path = media_cache() / f"clip-{resolution}-{key}.mp4"
    if not path.exists():
        render_video(spec, path)
    return path


def clip_4k() -> Path:
    """The 5 s, 24 fps, 3840×2160 two-shot clip (2 s + 3 s) with audio."""
    return clip(resolution="full")


def frame_index_in_image(image: QImage, frames: int) -> int:
    """Which frame ``image`` shows, read from the progress bar along its bottom edge."""
    row = image.height() - 2
    width = image.width()
    bright = sum(1 for x in range(width) if QColor(image.pixel(x, row)).lightness() > 170)
    return round(bright * frames / width) - 1


class FrameSizes(QObject):
    """Records the size of every frame a video sink delivers.

    Connect :meth:`on_frame` (a slot of a QObject on the UI thread, so the video thread only queues the call;
    a plain Python function would run on the video thread and can deadlock ``player.stop()``), and never
    disconnect it: give it the player as parent so both go together.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sizes: list[tuple[int, int]] = []

    @Slot(QVideoFrame)
    def on_frame(self, frame: QVideoFrame) -> None:
        """Note the frame's size."""
        self.sizes.append((frame.width(), frame.height()))

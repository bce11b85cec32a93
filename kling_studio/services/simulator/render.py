"""Render the simulator's stand-in video: a real H.264 MP4 (plus AAC when audio is on) made with PyAV.

Each shot is a title card in its own colour showing the shot number, its timing and its prompt; a frame
counter and timecode change on every frame so stepping through the video is visible, and a bar along the
bottom shows how far into the clip a frame is. Audio is a quiet tone per shot with a beep on each cut.
"""

from __future__ import annotations

import io
import logging
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np
from av.video.frame import PictureType

from kling_studio.services.simulator.bitmap_font import ADVANCE, GLYPH_HEIGHT, text_mask, wrap
from kling_studio.services.simulator.validation import Shot

FPS = 24
AUDIO_RATE = 48_000
AUDIO_CHUNK = 1024
GOP = 48
Resolution = Literal["full", "preview"]

FULL_SIZES = {"16:9": (3840, 2160), "9:16": (2160, 3840), "1:1": (2160, 2160)}
PREVIEW_LONG_SIDE = 640
START_IMAGE_SECONDS = 0.5

# One background per shot, dark enough for white text; cycles after six.
_PALETTE = (
    (32, 64, 120),
    (120, 40, 60),
    (30, 100, 70),
    (110, 80, 20),
    (80, 40, 120),
    (20, 95, 110),
)
_WHITE = (240, 240, 240)
_DIM = (190, 190, 190)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderSpec:
    """What to draw: the shots (in order), the frame shape and size, and whether there is sound.

    Args:
        shots: The shots; the clip lasts the sum of their seconds.
        aspect_ratio: ``"16:9"``, ``"9:16"`` or ``"1:1"``.
        resolution: ``"full"`` (native 4K) or ``"preview"`` (long side 640 px).
        generate_audio: Add an AAC track.
        label: A line shown above the title, e.g. ``"SIMULATOR · 4K TEXT-TO-VIDEO"``.
        start_image: Encoded image (PNG/JPEG) shown for the first half second, for image-to-video.
    """

    shots: tuple[Shot, ...]
    aspect_ratio: str = "16:9"
    resolution: Resolution = "preview"
    generate_audio: bool = True
    label: str = "KLING STUDIO SIMULATOR"
    start_image: bytes | None = None

    @property
    def size(self) -> tuple[int, int]:
        """Frame width and height in pixels (always even)."""
        return frame_size(self.aspect_ratio, self.resolution)

    @property
    def seconds(self) -> int:
        """The clip's length in seconds."""
        return sum(s.seconds for s in self.shots)


def frame_size(aspect_ratio: str, resolution: Resolution) -> tuple[int, int]:
    """Width and height for an aspect ratio: native 4K for ``full``, long side 640 for ``preview``."""
    width, height = FULL_SIZES[aspect_ratio]
    if resolution == "full":
        return width, height
    factor = PREVIEW_LONG_SIDE / max(width, height)
    return _even(width * factor), _even(height * factor)


def render_video(spec: RenderSpec, path: Path) -> Path:
    """Encode the clip described by ``spec`` to ``path`` (written to a temporary name, then renamed).

    Returns:
        ``path``, now a complete MP4 whose length is exactly ``spec.seconds``.
    """
    width, height = spec.size
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.rendering")  # two servers may share a cache
    try:
        with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
            video = container.add_stream("libx264", rate=FPS)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.codec_context.gop_size = GOP
            video.codec_context.time_base = Fraction(1, FPS)
            video.options = {"preset": "ultrafast", "tune": "stillimage"}
            audio = None
            if spec.generate_audio:
                audio = container.add_stream("aac", rate=AUDIO_RATE, layout="mono")
            sound = _audio_frames(spec) if audio is not None else iter(())
            pending = next(sound, None)
            for index, frame in enumerate(_video_frames(spec, width, height)):
                container.mux(video.encode(frame))
                # interleave: audio up to this frame's time, so players can stream the file front to back
                while (
                    audio is not None
                    and pending is not None
                    and pending.pts <= (index + 1) * AUDIO_RATE // FPS
                ):
                    container.mux(audio.encode(pending))
                    pending = next(sound, None)
            container.mux(video.encode(None))
            if audio is not None:
                while pending is not None:
                    container.mux(audio.encode(pending))
                    pending = next(sound, None)
                container.mux(audio.encode(None))
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return path


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _video_frames(spec: RenderSpec, width: int, height: int):
    total_frames = spec.seconds * FPS
    start_frames = _start_image_frames(spec.start_image, width, height)
    frame_index = 0
    start_second = 0
    for number, shot in enumerate(spec.shots, start=1):
        card = _title_card(spec, number, shot, start_second, width, height)
        for _ in range(shot.seconds * FPS):
            base = (
                start_frames if start_frames is not None and frame_index < START_IMAGE_SECONDS * FPS else card
            )
            yuv = base.copy()
            _draw_counter(yuv, frame_index, total_frames, width, height)
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            frame.pts = frame_index
            frame.time_base = Fraction(1, FPS)
            frame.pict_type = PictureType.NONE
            yield frame
            frame_index += 1
        start_second += shot.seconds


def _scale(width: int, height: int) -> int:
    return max(2, min(width, height) // 90)


def _title_card(spec: RenderSpec, number: int, shot: Shot, start: int, width: int, height: int) -> np.ndarray:
    """One shot's card as a yuv420p array (height * 3/2 rows), drawn once and copied per frame."""
    rgb = np.empty((height, width, 3), dtype=np.uint8)
    rgb[:] = _PALETTE[(number - 1) % len(_PALETTE)]
    title_scale = _scale(width, height)
    body_scale = max(1, title_scale // 2)
    margin = title_scale * 4
    y = margin
    _paint(rgb, text_mask(spec.label, body_scale), margin, y, _DIM)
    y += (GLYPH_HEIGHT + 4) * body_scale
    count = len(spec.shots)
    title = f"Shot {number}/{count} · {start}–{start + shot.seconds} s"
    _paint(rgb, text_mask(title, title_scale), margin, y, _WHITE)
    y += (GLYPH_HEIGHT + 5) * title_scale
    chars = (width - 2 * margin) // (ADVANCE * body_scale)
    line_height = (GLYPH_HEIGHT + 3) * body_scale
    reserved = (GLYPH_HEIGHT + 6) * title_scale  # room for the counter at the bottom
    max_lines = max(1, (height - y - reserved - margin) // line_height)
    for line in wrap(shot.prompt, chars, max_lines):
        _paint(rgb, text_mask(line, body_scale), margin, y, _WHITE)
        y += line_height
    return _to_yuv420p(rgb)


def _paint(rgb: np.ndarray, mask: np.ndarray, x: int, y: int, colour: tuple[int, int, int]) -> None:
    h = min(mask.shape[0], rgb.shape[0] - y)
    w = min(mask.shape[1], rgb.shape[1] - x)
    if h <= 0 or w <= 0:
        return
    rgb[y : y + h, x : x + w][mask[:h, :w]] = colour


def _to_yuv420p(rgb: np.ndarray) -> np.ndarray:
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    return frame.reformat(format="yuv420p").to_ndarray()


def _draw_counter(yuv: np.ndarray, index: int, total: int, width: int, height: int) -> None:
    """Write the frame number and timecode in white, and the progress bar, straight into the luma plane."""
    scale = _scale(width, height)
    seconds, frame_in_second = divmod(index, FPS)
    text = f"F {index + 1:04d}/{total:04d}  {seconds // 60:02d}:{seconds % 60:02d}:{frame_in_second:02d}"
    mask = text_mask(text, scale)
    margin = scale * 4
    bar = max(2, scale)
    y = height - margin - mask.shape[0] - 2 * bar
    luma = yuv[:height]
    h = min(mask.shape[0], height - y)
    w = min(mask.shape[1], width - margin)
    region = luma[y : y + h, margin : margin + w]
    region[mask[:h, :w]] = 235
    done = (index + 1) * width // max(total, 1)
    luma[height - bar : height, :done] = 235


def _start_image_frames(data: bytes | None, width: int, height: int) -> np.ndarray | None:
    """Decode the start image and scale it to the frame, as a yuv420p array; None if absent or unreadable."""
    if not data:
        return None
    try:
        with av.open(io.BytesIO(data)) as container:
            frame = next(container.decode(video=0))
            # Stills are full range (RGB, or JPEG's yuvj); the clip is limited-range yuv420p like every camera file.
            return frame.reformat(
                width=width, height=height, format="yuv420p", src_color_range="JPEG", dst_color_range="MPEG"
            ).to_ndarray()
    except (av.FFmpegError, StopIteration, ValueError) as exc:
        log.warning("start image could not be decoded, using the title card instead: %s", exc)
        return None


def _audio_frames(spec: RenderSpec):
    """A quiet tone per shot (a different pitch each) and a short beep at every cut, as mono float frames."""
    samples: list[np.ndarray] = []
    for number, shot in enumerate(spec.shots, start=1):
        n = shot.seconds * AUDIO_RATE
        t = np.arange(n, dtype=np.float32) / AUDIO_RATE
        tone = 0.05 * np.sin(2 * np.pi * (180.0 + 60.0 * number) * t)
        beep_len = AUDIO_RATE // 10
        tone[:beep_len] += 0.2 * np.sin(2 * np.pi * 880.0 * t[:beep_len])
        samples.append(tone.astype(np.float32))
    pcm = np.concatenate(samples) if samples else np.zeros(0, dtype=np.float32)
    for offset in range(0, len(pcm), AUDIO_CHUNK):
        chunk = pcm[offset : offset + AUDIO_CHUNK]
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = offset
        frame.time_base = Fraction(1, AUDIO_RATE)
        yield frame


def aspect_from_image(data: bytes | None) -> str | None:
    """The Kling aspect ratio closest to an encoded image's shape, or None if it cannot be read."""
    if not data:
        return None
    try:
        with av.open(io.BytesIO(data)) as container:
            stream = container.streams.video[0]
            ratio = stream.codec_context.width / max(stream.codec_context.height, 1)
    except (av.FFmpegError, IndexError, ValueError):
        return None
    choices: Sequence[tuple[str, float]] = (("16:9", 16 / 9), ("9:16", 9 / 16), ("1:1", 1.0))
    return min(choices, key=lambda c: abs(c[1] - ratio))[0]

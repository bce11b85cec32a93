"""Read what a video file holds (length, frame size, frame rate, codecs) with PyAV, without decoding it.

Blocking: call it from a worker thread (``asyncio.to_thread(probe_video, path)``) when on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av


class MediaProbeError(Exception):
    """The file is missing or is not a video PyAV can read; the message names the file."""


@dataclass(frozen=True)
class MediaInfo:
    """What a video file holds.

    Attributes:
        duration: Length in seconds (the container's, else the longest stream's).
        width: Frame width in pixels.
        height: Frame height in pixels.
        fps: Average frame rate (0.0 if unknown).
        video_codec: e.g. ``"h264"``.
        audio_codec: e.g. ``"aac"``, or None when there is no audio stream.
        frames: Video frame count from the container (0 if the container does not say).
        size_bytes: File size.
    """

    duration: float
    width: int
    height: int
    fps: float
    video_codec: str
    audio_codec: str | None
    frames: int
    size_bytes: int

    @property
    def has_audio(self) -> bool:
        """True when the file has an audio stream."""
        return self.audio_codec is not None


def probe_video(path: Path | str) -> MediaInfo:
    """Read the header of the video at ``path``.

    Raises:
        MediaProbeError: The file does not exist, is not a media file, or has no video stream.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaProbeError(f"The video file {path} does not exist.")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaProbeError(f"{path.name} has no video stream.")
            video = container.streams.video[0]
            audio = container.streams.audio[0] if container.streams.audio else None
            duration = container.duration / av.time_base if container.duration else 0.0
            if not duration:
                duration = max(
                    float(s.duration * s.time_base) for s in container.streams if s.duration and s.time_base
                )
            rate = video.average_rate or video.guessed_rate
            return MediaInfo(
                duration=duration,
                width=video.codec_context.width,
                height=video.codec_context.height,
                fps=float(rate) if rate else 0.0,
                video_codec=video.codec_context.name,
                audio_codec=audio.codec_context.name if audio is not None else None,
                frames=video.frames,
                size_bytes=path.stat().st_size,
            )
    except (av.FFmpegError, ValueError) as exc:
        raise MediaProbeError(f"{path.name} is not a video Kling Studio can read ({exc}).") from exc

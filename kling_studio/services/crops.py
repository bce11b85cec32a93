"""Vertical (9:16) and square (1:1) crops of a 16:9 master, re-encoded with PyAV.

The crop keeps the master's full height and frame rate and takes an even-width window (H.264 4:2:0 needs even
sizes) whose horizontal place the user chose in the player (``center`` 0 = left edge, 1 = right edge). Audio
is copied untouched. Blocking and CPU-heavy (a 4K 9:16 crop encodes at ~15–30 fps here): run it on a worker
thread; it reports progress and stops when asked.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.frame import PictureType

from kling_studio.core.errors import UserError

ASPECTS: dict[str, Fraction] = {"9:16": Fraction(9, 16), "1:1": Fraction(1, 1)}

Progress = Callable[[float], None]


class CropError(UserError):
    """The crop cannot be made; the message names the file and what to do."""


class CropCancelled(CropError):
    """The user stopped the export; nothing was left behind."""


@dataclass(frozen=True)
class CropBox:
    """The window cut out of every frame, in source pixels."""

    x: int
    y: int
    width: int
    height: int


def crop_box(width: int, height: int, aspect: str, center: float = 0.5) -> CropBox:
    """The full-height window of ``aspect`` at horizontal ``center`` (0–1) in a ``width × height`` frame.

    Widths are rounded down to even (9:16 of 2160 rows → 1214 wide); ``x`` is even and the box never
    leaves the frame.

    Raises:
        CropError: unknown aspect, or the frame is already narrower than the crop.
    """
    if aspect not in ASPECTS:
        raise CropError(f"No crop {aspect!r}; choose one of {', '.join(ASPECTS)}.")
    crop_height = height - height % 2
    crop_width = int(crop_height * ASPECTS[aspect]) // 2 * 2
    if crop_width > width:
        raise CropError(f"A {aspect} crop needs a wider frame than {width}×{height}; crop a 16:9 master.")
    center = max(0.0, min(1.0, center))
    x = round((width - crop_width) * center) // 2 * 2
    return CropBox(x=x, y=0, width=crop_width, height=crop_height)


def crop_path(master: Path, aspect: str, folder: Path | None = None) -> Path:
    """``take.mp4`` → ``take.9x16.mp4`` (next to the master unless ``folder`` is given)."""
    name = f"{master.stem}.{aspect.replace(':', 'x')}.mp4"
    return (folder or master.parent) / name


def export_crop(
    master: Path,
    target: Path,
    aspect: str,
    *,
    center: float = 0.5,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    preset: str = "veryfast",
) -> Path:
    """Write the ``aspect`` crop of ``master`` to ``target`` (atomically: a temporary name, then renamed).

    Args:
        master: The 16:9 video.
        target: The MP4 to write.
        aspect: ``"9:16"`` or ``"1:1"``.
        center: Where the window sits across the frame (0 left … 1 right).
        progress: Called with 0–1 as frames are encoded (on this thread).
        cancel: Set it to stop; :class:`CropCancelled` is raised and no file is left.
        preset: libx264 speed/quality preset.

    Raises:
        CropError: the master cannot be read or the crop written (the message says which).
        CropCancelled: ``cancel`` was set.
    """
    master, target = Path(master), Path(target)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with av.open(str(master)) as source:
            if not source.streams.video:
                raise CropError(f"{master.name} has no video to crop.")
            video_in = source.streams.video[0]
            video_in.codec_context.thread_type = "AUTO"
            box = crop_box(video_in.codec_context.width, video_in.codec_context.height, aspect, center)
            audio_in = source.streams.audio[0] if source.streams.audio else None
            total = video_in.frames or 0
            rate = video_in.average_rate or video_in.guessed_rate or Fraction(24)
            with av.open(str(tmp), mode="w", format="mp4", options={"movflags": "+faststart"}) as sink:
                video_out = sink.add_stream("libx264", rate=rate)
                video_out.width, video_out.height, video_out.pix_fmt = box.width, box.height, "yuv420p"
                video_out.codec_context.time_base = video_in.time_base
                video_out.options = {"preset": preset, "crf": "18"}
                audio_out = sink.add_stream_from_template(audio_in) if audio_in is not None else None
                streams = [video_in] + ([audio_in] if audio_in is not None else [])
                done = 0
                for packet in source.demux(*streams):
                    if cancel is not None and cancel.is_set():
                        raise CropCancelled(f"The {aspect} crop of {master.name} was stopped; nothing was saved.")
                    if packet.stream is audio_in:
                        if packet.dts is not None and audio_out is not None:
                            packet.stream = audio_out
                            sink.mux(packet)
                        continue
                    for frame in packet.decode():
                        cropped = _crop_frame(frame, box)
                        sink.mux(video_out.encode(cropped))
                        done += 1
                        if progress is not None and total:
                            progress(min(1.0, done / total))
                sink.mux(video_out.encode(None))
        os.replace(tmp, target)
    except CropError:
        tmp.unlink(missing_ok=True)
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        tmp.unlink(missing_ok=True)
        raise CropError(
            f"The {aspect} crop of {master.name} failed ({exc}). Check the disk space and try again."
        ) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if progress is not None:
        progress(1.0)
    return target


def _crop_frame(frame: av.VideoFrame, box: CropBox) -> av.VideoFrame:
    """The box of ``frame`` as a new yuv420p frame, cut plane by plane (no colour conversion)."""
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    planes = []
    for number, plane in enumerate(frame.planes):
        shift = 0 if number == 0 else 1
        rows = frame.height >> shift
        data = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)[:rows]
        x, width = box.x >> shift, box.width >> shift
        planes.append(np.ascontiguousarray(data[box.y >> shift : (box.y + box.height) >> shift, x : x + width]))
    out = av.VideoFrame(box.width, box.height, "yuv420p")
    for plane, data in zip(out.planes, planes, strict=True):
        view = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)
        view[: data.shape[0], : data.shape[1]] = data
    out.pts = frame.pts
    out.time_base = frame.time_base
    out.pict_type = PictureType.NONE
    return out

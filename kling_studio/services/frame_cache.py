"""Decoded frames around the playhead, for frame stepping that feels instant even at 4K.

Seeking a player to a frame re-decodes from the previous keyframe (about 300 ms at 4K on a small machine).
A :class:`FrameCache` keeps decoded, display-sized frames on both sides of the playhead instead: a worker
thread decodes whole keyframe-to-keyframe runs with PyAV (two decoder threads) nearest-first, and stepping
one frame forward or back is then a dictionary lookup.

Frame numbers are exact: the cache reads every packet's timestamp once (no decoding, a few ms) and numbers
frames by their place in presentation order, so frame ``k`` is the ``k``-th picture of the file whatever its
timestamps look like.

Threading: every public method may be called from any thread; listeners are called on the worker thread
(a UI adapts them to its own thread).
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

log = logging.getLogger(__name__)

#: Memory the cached frames of one file may take; bounds how far around the playhead frames are kept.
DEFAULT_BUDGET_BYTES = 400 * 1024 * 1024
#: Frames are scaled to fit this box unless told otherwise (what a player view shows, not the 4K original).
DEFAULT_FRAME_BOX = (1280, 720)
BYTES_PER_PIXEL = 4  # BGRA, which Qt draws without converting (QImage.Format_RGB32 on little-endian)

FrameListener = Callable[["CachedFrame"], None]


class FrameCacheError(Exception):
    """The video cannot be opened or decoded; the message names the file."""


@dataclass(frozen=True)
class FrameTimeline:
    """Where each frame of a video sits in time.

    Attributes:
        times: Presentation time of each frame in seconds, from the first frame's, in order.
        keyframes: Indexes of the frames a decoder can start from (always includes 0).
        fps: Average frame rate.
        width: Original frame width.
        height: Original frame height.
    """

    times: tuple[float, ...]
    keyframes: tuple[int, ...]
    fps: float
    width: int
    height: int

    @property
    def frame_count(self) -> int:
        """How many frames the video has."""
        return len(self.times)

    @property
    def duration(self) -> float:
        """Seconds from the first frame to the end of the last one."""
        if not self.times:
            return 0.0
        return self.times[-1] + (1.0 / self.fps if self.fps else 0.0)

    def index_at(self, seconds: float) -> int:
        """The frame on screen at ``seconds`` (clamped to the first and last frame)."""
        if not self.times:
            return 0
        return max(0, min(len(self.times) - 1, bisect.bisect_right(self.times, seconds + 1e-6) - 1))

    def middle_ms(self, index: int) -> int:
        """Milliseconds into the middle of frame ``index``: where a player must seek to land on it.

        Aiming at a frame's start lands on the previous frame most of the time (rounding), the middle never.
        """
        index = max(0, min(len(self.times) - 1, index))
        start = self.times[index]
        end = self.times[index + 1] if index + 1 < len(self.times) else start + 1.0 / (self.fps or 24.0)
        return int((start + end) / 2 * 1000)

    def segment_of(self, index: int) -> tuple[int, int]:
        """The run ``[first, end)`` of frames decoded together with ``index`` (keyframe to next keyframe)."""
        at = bisect.bisect_right(self.keyframes, index) - 1
        first = self.keyframes[max(0, at)]
        end = self.keyframes[at + 1] if at + 1 < len(self.keyframes) else len(self.times)
        return first, end


@dataclass(frozen=True)
class CachedFrame:
    """One decoded frame, scaled to the cache's frame size.

    Attributes:
        index: The frame's number in presentation order (0-based).
        seconds: Its presentation time from the first frame.
        width: Pixel width of ``pixels``.
        height: Pixel height of ``pixels``.
        pixels: BGRA bytes, ``width * 4`` per row.
    """

    index: int
    seconds: float
    width: int
    height: int
    pixels: bytes


def read_timeline(path: Path | str) -> FrameTimeline:
    """Read every video packet's timestamp (no decoding) and number the frames.

    Raises:
        FrameCacheError: the file cannot be read or has no video.
    """
    path = Path(path)
    try:
        with av.open(str(path)) as container:
            return _timeline(container, path)
    except (av.FFmpegError, OSError) as exc:
        raise FrameCacheError(f"Cannot read the video {path.name} ({exc}).") from exc


def _timeline(container: av.container.InputContainer, path: Path) -> FrameTimeline:
    return _read_stamps(container, path)[0]


def _read_stamps(container: av.container.InputContainer, path: Path) -> tuple[FrameTimeline, list[int]]:
    """The timeline and each frame's pts, in presentation order."""
    if not container.streams.video:
        raise FrameCacheError(f"{path.name} has no video stream.")
    stream = container.streams.video[0]
    stamps: list[tuple[int, bool]] = []
    for packet in container.demux(stream):
        if packet.pts is not None and packet.size:
            stamps.append((packet.pts, bool(packet.is_keyframe)))
    if not stamps:
        raise FrameCacheError(f"{path.name} has no video frames.")
    stamps.sort()
    base = stamps[0][0]
    time_base = stream.time_base or Fraction(1, 1000)
    times = tuple(float((pts - base) * time_base) for pts, _ in stamps)
    keyframes = tuple(sorted({0, *(i for i, (_, key) in enumerate(stamps) if key)}))
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else (len(times) / times[-1] if times[-1] else 24.0)
    timeline = FrameTimeline(
        times=times,
        keyframes=keyframes,
        fps=fps,
        width=stream.codec_context.width,
        height=stream.codec_context.height,
    )
    return timeline, [pts for pts, _ in stamps]


def fit_size(width: int, height: int, box: tuple[int, int]) -> tuple[int, int]:
    """``width × height`` scaled down (never up) to fit ``box``, both sides even."""
    scale = min(1.0, box[0] / max(1, width), box[1] / max(1, height))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


class FrameCache:
    """Decoded frames of one video around a playhead, filled by a worker thread.

    Args:
        path: The video file.
        frame_box: Frames are scaled to fit this size (keep it near the size they are shown at).
        budget_bytes: Memory the frames may take; the frames kept are those nearest the playhead.
        threads: Decoder threads.

    Call :meth:`start` (it reads the timeline, a few ms, then returns), :meth:`seek` as the playhead moves,
    and :meth:`close` when done.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        frame_box: tuple[int, int] = DEFAULT_FRAME_BOX,
        budget_bytes: int = DEFAULT_BUDGET_BYTES,
        threads: int = 2,
    ) -> None:
        self.path = Path(path)
        self._box = frame_box
        self._budget = budget_bytes
        self._threads = threads
        self._lock = threading.Condition()
        self._frames: dict[int, CachedFrame] = {}
        self._listeners: list[FrameListener] = []
        self._playhead = 0
        self._generation = 0  # bumped when the frame size changes: frames of an older size are dropped
        self._closed = False
        self._active = True
        self._thread: threading.Thread | None = None
        self._container: av.container.InputContainer | None = None
        self._pts: list[int] = []
        self._index_of_pts: dict[int, int] = {}
        self._unavailable: set[int] = set()  # frames a decode of their run did not produce (damaged file)
        self.timeline: FrameTimeline | None = None
        self._size = (0, 0)
        self.error: FrameCacheError | None = None

    # ---- life cycle ------------------------------------------------------------------------------------
    def start(self) -> FrameTimeline:
        """Open the file, read its timeline and start the worker; returns the timeline.

        Raises:
            FrameCacheError: the file cannot be read or has no video.
        """
        try:
            container = av.open(str(self.path))
        except (av.FFmpegError, OSError) as exc:
            raise FrameCacheError(f"Cannot open the video {self.path.name} ({exc}).") from exc
        try:
            timeline, pts = _read_stamps(container, self.path)
        except (av.FFmpegError, FrameCacheError) as exc:
            container.close()
            raise exc if isinstance(exc, FrameCacheError) else FrameCacheError(str(exc)) from exc
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"
        stream.codec_context.thread_count = self._threads
        self._container = container
        self._pts = pts
        self._index_of_pts = {value: index for index, value in enumerate(pts)}
        self.timeline = timeline
        self._size = fit_size(timeline.width, timeline.height, self._box)
        self._thread = threading.Thread(target=self._run, name=f"frame-cache-{self.path.name}", daemon=True)
        self._thread.start()
        return timeline

    def close(self) -> None:
        """Stop the worker and free the frames (waits for the frame being decoded, at most ~50 ms)."""
        with self._lock:
            self._closed = True
            self._frames.clear()
            self._lock.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        if self._container is not None:
            self._container.close()
            self._container = None

    # ---- what the player calls ------------------------------------------------------------------------
    def subscribe(self, listener: FrameListener) -> Callable[[], None]:
        """Call ``listener(frame)`` (on the worker thread) for each newly decoded frame."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    @property
    def frame_size(self) -> tuple[int, int]:
        """Width and height of the cached frames."""
        return self._size

    def set_frame_box(self, box: tuple[int, int]) -> None:
        """Scale frames to fit ``box`` from now on (cached frames of another size are dropped)."""
        if self.timeline is None:
            self._box = box
            return
        size = fit_size(self.timeline.width, self.timeline.height, box)
        with self._lock:
            self._box = box
            if size == self._size:
                return
            self._size = size
            self._generation += 1
            self._frames.clear()
            self._lock.notify_all()

    def set_active(self, active: bool) -> None:
        """Pause (False) or resume decoding; a player pauses it while playing, leaving the CPU to playback."""
        with self._lock:
            self._active = active
            self._lock.notify_all()

    def seek(self, index: int) -> CachedFrame | None:
        """Move the playhead to frame ``index``; returns the frame when it is already decoded.

        The worker then decodes what is missing around the new playhead, nearest first.
        """
        with self._lock:
            self._playhead = self._clamp(index)
            self._lock.notify_all()
            return self._frames.get(self._playhead)

    def get(self, index: int) -> CachedFrame | None:
        """The decoded frame ``index``, or None when it is not in the cache."""
        with self._lock:
            return self._frames.get(index)

    def cached_indexes(self) -> list[int]:
        """Which frames are decoded now, in order."""
        with self._lock:
            return sorted(self._frames)

    def window(self) -> tuple[int, int]:
        """The frames ``[first, end)`` the worker keeps decoded around the playhead."""
        with self._lock:
            return self._window(self._playhead)

    def wait_for(self, index: int, timeout: float) -> CachedFrame | None:
        """Block until frame ``index`` is decoded (or ``timeout`` seconds pass); for scripts and tests."""
        with self._lock:
            self._lock.wait_for(lambda: index in self._frames or self._closed, timeout=timeout)
            return self._frames.get(index)

    def is_filled(self) -> bool:
        """True when every frame of the window around the playhead is decoded."""
        with self._lock:
            return not self._missing()

    def wait_until_filled(self, timeout: float) -> bool:
        """Block until every frame of the window around the playhead is decoded; True when it is."""
        with self._lock:
            return self._lock.wait_for(lambda: self._closed or not self._missing(), timeout=timeout)

    # ---- worker ---------------------------------------------------------------------------------------
    def _clamp(self, index: int) -> int:
        count = self.timeline.frame_count if self.timeline else 1
        return max(0, min(count - 1, index))

    def _window(self, playhead: int) -> tuple[int, int]:
        assert self.timeline is not None
        frame_bytes = max(1, self._size[0] * self._size[1] * BYTES_PER_PIXEL)
        keep = max(3, self._budget // frame_bytes)
        # Stepping back needs the whole previous run decoded before it is reached (a run decodes forward
        # only), so the window leans on neither side: half behind, half ahead.
        behind = keep // 2
        first = max(0, playhead - behind)
        end = min(self.timeline.frame_count, first + keep)
        first = max(0, end - keep)
        return first, end

    def _missing(self) -> list[int]:
        first, end = self._window(self._playhead)
        return [i for i in range(first, end) if i not in self._frames and i not in self._unavailable]

    def _next_segment(self) -> tuple[int, int, int] | None:
        """The run to decode next (nearest the playhead, ahead before behind), and the generation."""
        if not self._active:
            return None
        missing = self._missing()
        if not missing:
            return None
        assert self.timeline is not None
        playhead = self._playhead
        nearest = min(missing, key=lambda i: (abs(i - playhead) + (0 if i >= playhead else 0.5)))
        first, end = self.timeline.segment_of(nearest)
        return first, end, self._generation

    def _run(self) -> None:
        try:
            while True:
                with self._lock:
                    self._evict()
                    job = self._next_segment()
                    while job is None and not self._closed:
                        self._lock.wait()
                        self._evict()
                        job = self._next_segment()
                    if self._closed:
                        return
                    assert job is not None
                self._decode_segment(*job)
        except Exception as exc:  # a broken file must not kill the app; the player falls back to seeking
            log.exception("frame cache for %s stopped", self.path)
            self.error = FrameCacheError(f"Cannot decode {self.path.name} ({exc}).")
            with self._lock:
                self._lock.notify_all()

    def _evict(self) -> None:
        first, end = self._window(self._playhead)
        for index in [i for i in self._frames if not first <= i < end]:
            del self._frames[index]

    def _decode_segment(self, first: int, end: int, generation: int) -> None:
        assert self.timeline is not None and self._container is not None
        container = self._container
        stream = container.streams.video[0]
        container.seek(self._pts[first], stream=stream, backward=True, any_frame=False)
        width, height = self._size
        if not self._decode_run(container, stream, first, end, generation, width, height):
            return
        with self._lock:  # whatever the run should have produced and did not, is not coming: skip it
            if generation == self._generation and not self._closed:
                win_first, win_end = self._window(self._playhead)
                if not (end <= win_first or first >= win_end):
                    for index in range(max(first, win_first), min(end, win_end)):
                        if index not in self._frames:
                            self._unavailable.add(index)

    def _decode_run(
        self,
        container: av.container.InputContainer,
        stream: av.video.stream.VideoStream,
        first: int,
        end: int,
        generation: int,
        width: int,
        height: int,
    ) -> bool:
        """Decode ``[first, end)``; False when stopped early (moved, paused, closed, resized)."""
        assert self.timeline is not None
        for frame in container.decode(stream):
            index = self._index_of_pts.get(frame.pts) if frame.pts is not None else None
            if index is None:
                continue
            if index >= end:
                return True
            with self._lock:
                if self._closed or not self._active or generation != self._generation:
                    return False
                win_first, win_end = self._window(self._playhead)
                if end <= win_first or first >= win_end:
                    return False  # the playhead moved away from this whole run
                wanted = win_first <= index < win_end and index not in self._frames
            if not wanted:
                continue
            pixels = frame.to_ndarray(
                format="bgra", width=width, height=height, interpolation="FAST_BILINEAR"
            ).tobytes()
            cached = CachedFrame(index, self.timeline.times[index], width, height, pixels)
            with self._lock:
                if self._closed or generation != self._generation:
                    return False
                self._frames[index] = cached
                listeners = list(self._listeners)
                self._lock.notify_all()
            for listener in listeners:
                try:
                    listener(cached)
                except Exception:  # one broken listener must not stop decoding for the others
                    log.exception("frame listener failed")
        return True


def poster_frame(path: Path | str, box: tuple[int, int] = (320, 180), at_seconds: float = 1.0) -> CachedFrame:
    """One frame (``at_seconds`` in, or a third of the way into short clips), scaled to fit ``box``.

    Blocking (one seek and a few decoded frames): call it from a worker thread.

    Raises:
        FrameCacheError: the file cannot be read or has no video.
    """
    path = Path(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise FrameCacheError(f"{path.name} has no video stream.")
            stream = container.streams.video[0]
            stream.codec_context.thread_type = "AUTO"
            duration = float(container.duration / av.time_base) if container.duration else 0.0
            target = min(at_seconds, duration / 3) if duration else 0.0
            time_base = stream.time_base or Fraction(1, 1000)
            start = stream.start_time or 0
            container.seek(start + int(target / time_base), stream=stream, backward=True)
            chosen = None
            for frame in container.decode(stream):
                chosen = frame
                if frame.pts is not None and float((frame.pts - start) * time_base) >= target - 1e-3:
                    break
            if chosen is None:
                raise FrameCacheError(f"{path.name} has no frame to show.")
            width, height = fit_size(chosen.width, chosen.height, box)
            pixels = chosen.to_ndarray(format="bgra", width=width, height=height, interpolation="AREA")
            seconds = float((chosen.pts - start) * time_base) if chosen.pts is not None else 0.0
            return CachedFrame(0, seconds, width, height, pixels.tobytes())
    except (av.FFmpegError, OSError) as exc:
        raise FrameCacheError(f"Cannot read the video {path.name} ({exc}).") from exc

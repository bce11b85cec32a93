"""Playback of one take: QMediaPlayer for playing, a PyAV frame cache for exact, instant frame steps.

While playing, Qt Multimedia decodes and draws (``QGraphicsVideoItem``). While paused, a step shows the
decoded frame from :class:`~kling_studio.services.frame_cache.FrameCache` in a still item on top of the
video, and the player itself is moved to the middle of that frame only once the stepping pauses (a seek at
4K re-decodes from the keyframe, ~300 ms, and would compete with the cache for the CPU).

One Python slot is connected to the video sink's ``videoFrameChanged`` for the player's whole life and never
disconnected (disconnecting it while the video thread emits can deadlock ``stop()``; see QT-PITFALLS).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Q_ARG, QMetaObject, QObject, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QImage
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer, QVideoFrame

from kling_studio.services.frame_cache import CachedFrame, FrameCache, FrameCacheError, FrameTimeline
from kling_studio.services.media import MediaInfo, MediaProbeError, probe_video
from kling_studio.ui.player.background import Background
from kling_studio.ui.player.video_view import VideoView

log = logging.getLogger(__name__)

#: After the last step, wait this long before moving the real player there (see the module docstring).
SEEK_SETTLE_MS = 180


@dataclass(frozen=True)
class LoadedTake:
    """What the player knows about the loaded file."""

    path: Path
    info: MediaInfo
    timeline: FrameTimeline
    shot_starts: tuple[float, ...]

    @property
    def info_line(self) -> str:
        """``3840×2160 · 24 fps · h264 · aac · 5.0 s``."""
        info = self.info
        audio = info.audio_codec or "no audio"
        return (
            f"{info.width}×{info.height} · {info.fps:g} fps · {info.video_codec} · {audio} · "
            f"{self.timeline.duration:.1f} s"
        )


def _open(path: Path, frame_box: tuple[int, int]) -> tuple[FrameCache, MediaInfo, FrameTimeline]:
    info = probe_video(path)
    cache = FrameCache(path, frame_box=frame_box)
    timeline = cache.start()
    return cache, info, timeline


def image_of(frame: CachedFrame) -> QImage:
    """A QImage over a cached frame's pixels (shares the bytes; the frame must outlive the image)."""
    return QImage(frame.pixels, frame.width, frame.height, frame.width * 4, QImage.Format.Format_RGB32)


class Playback(QObject):
    """Plays one take in a :class:`VideoView` and steps it frame by frame.

    Args:
        view: Where to show the video and still frames.
        parent: Owner.

    The current frame (:attr:`current_index`) is the one on screen: the last frame the sink presented while
    playing, or the frame stepped or scrubbed to while paused.
    """

    loaded = Signal(object)  # LoadedTake
    load_failed = Signal(str)
    frame_shown = Signal(int)  # the frame now on screen
    playing_changed = Signal(bool)
    _cache_frame_decoded = Signal(object)  # from the cache's worker thread

    def __init__(self, view: VideoView, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.player = QMediaPlayer(self)
        self.audio = QAudioOutput(self)
        self.player.setAudioOutput(self.audio)
        self.player.setVideoOutput(view.video_item)
        self.take: LoadedTake | None = None
        self.current_index = 0
        self.frames_presented = 0
        self.last_frame_size: tuple[int, int] = (0, 0)
        self.last_presented_index: int | None = None
        self.last_presented_at = 0.0
        self._cache: FrameCache | None = None
        self._pending_still: int | None = None
        self._still_frame: CachedFrame | None = None  # keeps the still image's bytes alive
        self._hide_still_on_next_frame = False
        self._loops = False
        self._load_token = 0
        self._opening: tuple[int, LoadedTake] | None = None
        self._background = Background(workers=1, name="player", parent=self)
        self._seek_timer = QTimer(self)
        self._seek_timer.setSingleShot(True)
        self._seek_timer.setInterval(SEEK_SETTLE_MS)
        self._seek_timer.timeout.connect(self._on_seek_timer_timeout)
        # One slot for the player's life: never disconnected (see the module docstring).
        view.video_item.videoSink().videoFrameChanged.connect(self._on_sink_video_frame_changed)
        self.player.playbackStateChanged.connect(self._on_player_playback_state_changed)
        self.player.errorOccurred.connect(self._on_player_error_occurred)
        self._cache_frame_decoded.connect(self._on_cache_frame_decoded)
        view.resized.connect(self._on_view_resized)

    # ---- loading --------------------------------------------------------------------------------------
    def load(self, path: Path | str, *, shot_starts: Sequence[float] = ()) -> None:
        """Open ``path`` (probing and indexing happen off the UI thread); :attr:`loaded` follows."""
        self._load_token += 1
        token = self._load_token
        self.pause()
        self._drop_cache()
        self._show_still(None)
        self.take = None
        path = Path(path)
        box = self._frame_box()
        self._background.submit(
            _open,
            path,
            box,
            done=lambda result: self._on_opened(token, path, tuple(shot_starts), *result),
            failed=lambda error: self._on_open_failed(token, path, error),
        )

    def _on_opened(
        self,
        token: int,
        path: Path,
        shot_starts: tuple[float, ...],
        cache: FrameCache,
        info: MediaInfo,
        timeline: FrameTimeline,
    ) -> None:
        if token != self._load_token:
            self._background.submit(cache.close)
            return
        self._cache = cache
        cache.subscribe(self._cache_frame_decoded.emit)
        self.current_index = 0
        self.view.set_frame_size(info.width, info.height)
        self._opening = (token, LoadedTake(path, info, timeline, shot_starts))
        # Queued, so a previous take's FFmpeg threads are torn down from the event loop (see _from_event_loop);
        # the take counts as loaded once they have run, so play() and seeks never reach the previous source.
        _from_event_loop(self.player, "setSource", Q_ARG(QUrl, QUrl.fromLocalFile(str(path))))
        self.player.setLoops(self._loop_count())
        _from_event_loop(self.player, "pause")  # paused, not stopped: the first frame shows, and seeks show it
        QMetaObject.invokeMethod(self, "_finish_opening", Qt.ConnectionType.QueuedConnection)

    @Slot()
    def _finish_opening(self) -> None:
        opening, self._opening = self._opening, None
        if opening is None or opening[0] != self._load_token or self._cache is None:
            return
        self.take = opening[1]
        self._cache.seek(0)
        self.loaded.emit(self.take)

    def _on_open_failed(self, token: int, path: Path, error: BaseException) -> None:
        if token != self._load_token:
            return
        if isinstance(error, MediaProbeError | FrameCacheError):
            message = str(error)
        else:
            message = f"Cannot open {path.name} ({error})."
        self.load_failed.emit(message)

    def close(self) -> None:
        """Stop playing and free the decoder (call before the view goes away)."""
        self._load_token += 1
        self._seek_timer.stop()
        _from_event_loop(self.player, "stop")
        self._drop_cache()
        self._background.close()

    def _drop_cache(self) -> None:
        cache, self._cache = self._cache, None
        if cache is not None:
            cache.close()

    # ---- transport ------------------------------------------------------------------------------------
    @property
    def is_playing(self) -> bool:
        """True while the video plays."""
        return self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    @property
    def frame_cache(self) -> FrameCache | None:
        """The decoded frames around the playhead (None before loading)."""
        return self._cache

    @property
    def frame_count(self) -> int:
        """Frames in the loaded take (0 before loading)."""
        return self.take.timeline.frame_count if self.take else 0

    def play(self) -> None:
        """Play from the frame on screen."""
        if self.take is None:
            return
        if self._cache is not None:
            self._cache.set_active(False)
        if self._seek_timer.isActive() or self._still_frame is not None:
            self._seek_timer.stop()
            if self.current_index >= self.frame_count - 1 and not self._loops:
                self.current_index = 0
            self.player.setPosition(self.take.timeline.middle_ms(self.current_index))
        self._hide_still_on_next_frame = self._still_frame is not None
        self.player.play()

    def pause(self) -> None:
        """Pause on the frame on screen and start decoding frames around it for stepping."""
        if self.is_playing:
            self.player.pause()
        if self._cache is not None:
            self._cache.set_active(True)
            self._cache.seek(self.current_index)

    def toggle_play(self) -> None:
        """Play when paused, pause when playing."""
        if self.is_playing:
            self.pause()
        else:
            self.play()

    def set_loop(self, loop: bool) -> None:
        """Play again from the start at the end (True) or stop there."""
        self._loops = loop
        self.player.setLoops(self._loop_count())

    def _loop_count(self) -> int:
        return (QMediaPlayer.Loops.Infinite if self._loops else QMediaPlayer.Loops.Once).value

    @property
    def loops(self) -> bool:
        """True when playback loops."""
        return self._loops

    def set_volume(self, volume: float) -> None:
        """Volume from 0.0 to 1.0."""
        self.audio.setVolume(max(0.0, min(1.0, volume)))

    def set_muted(self, muted: bool) -> None:
        """Mute or unmute."""
        self.audio.setMuted(muted)

    def step(self, frames: int) -> None:
        """Pause and move ``frames`` frames (negative: back), landing exactly on that frame."""
        if self.take is None:
            return
        if self.is_playing:
            self.player.pause()
            if self._cache is not None:
                self._cache.set_active(True)
        self.seek_frame(self.current_index + frames)

    def seek_frame(self, index: int) -> None:
        """Show frame ``index`` (clamped); while playing, the player jumps there and goes on."""
        if self.take is None:
            return
        index = max(0, min(self.frame_count - 1, index))
        self.current_index = index
        if self.is_playing:
            self.player.setPosition(self.take.timeline.middle_ms(index))
            return
        frame = self._cache.seek(index) if self._cache is not None else None
        if frame is not None:
            self._show_still(frame)
        elif self._cache is not None and self._cache.error is None:
            self._pending_still = index  # shown as soon as the worker decodes it
        self._seek_timer.start()
        if frame is None and (self._cache is None or self._cache.error is not None):
            self._seek_timer.stop()
            self._on_seek_timer_timeout()  # no cache: let the player decode it

    def seek_seconds(self, seconds: float) -> None:
        """Show the frame on screen at ``seconds``."""
        if self.take is not None:
            self.seek_frame(self.take.timeline.index_at(seconds))

    def shot_frames(self) -> list[int]:
        """The first frame of each shot after the first (the cut points)."""
        if self.take is None:
            return []
        return [self.take.timeline.index_at(s) for s in self.take.shot_starts]

    def next_shot(self) -> None:
        """Jump to the start of the next shot (or the end)."""
        later = [f for f in self.shot_frames() if f > self.current_index]
        self.seek_frame(later[0] if later else self.frame_count - 1)

    def previous_shot(self) -> None:
        """Jump to the start of this shot, or of the previous one when already there."""
        earlier = [f for f in self.shot_frames() if f < self.current_index]
        self.seek_frame(earlier[-1] if earlier else 0)

    def still_image(self) -> QImage | None:
        """The decoded frame shown over the video (while paused after a step), if any."""
        return self.view.still_item.image()

    def still_index(self) -> int | None:
        """Which frame the still shows, if any."""
        return self.view.still_item.index if self._still_frame is not None else None

    # ---- slots ----------------------------------------------------------------------------------------
    def _show_still(self, frame: CachedFrame | None) -> None:
        self._pending_still = None
        self._still_frame = frame
        if frame is None:
            self.view.still_item.set_image(None)
            return
        self.view.still_item.set_image(image_of(frame), frame.index)
        self.frame_shown.emit(frame.index)

    def _on_cache_frame_decoded(self, frame: CachedFrame) -> None:
        if self._pending_still is not None and frame.index == self._pending_still and not self.is_playing:
            self._show_still(frame)

    def _on_seek_timer_timeout(self) -> None:
        if self.take is not None and not self.is_playing:
            if self.player.playbackState() == QMediaPlayer.PlaybackState.StoppedState:
                self.player.pause()  # a stopped player shows nothing; a paused one shows the frame
            self.player.setPosition(self.take.timeline.middle_ms(self.current_index))

    @Slot(QVideoFrame)
    def _on_sink_video_frame_changed(self, frame: QVideoFrame) -> None:
        # A slot of this QObject (it lives on the UI thread), so the video thread only queues the call and
        # never waits for the GIL (a plain function would run on the video thread: a stop() deadlock).
        if not frame.isValid():
            return
        self.frames_presented += 1
        self.last_frame_size = (frame.width(), frame.height())
        self.last_presented_at = time.perf_counter()
        if self.take is None:
            return
        start = frame.startTime()
        index = self.take.timeline.index_at(start / 1_000_000) if start >= 0 else self.current_index
        self.last_presented_index = index
        if not self.is_playing:
            return
        if self._hide_still_on_next_frame:
            self._hide_still_on_next_frame = False
            self._show_still(None)
        self.current_index = index
        self.frame_shown.emit(index)

    def _on_player_playback_state_changed(self, state: QMediaPlayer.PlaybackState) -> None:
        playing = state == QMediaPlayer.PlaybackState.PlayingState
        if not playing and self._cache is not None:
            if state == QMediaPlayer.PlaybackState.StoppedState and self.take is not None:
                self.current_index = self.frame_count - 1  # it ran to the end
            self._cache.set_active(True)
            self._cache.seek(self.current_index)
        self.playing_changed.emit(playing)

    def _on_player_error_occurred(self, _error: QMediaPlayer.Error, message: str) -> None:
        log.warning("player error: %s", message)
        self.load_failed.emit(message or "The video cannot be played.")

    def _on_view_resized(self) -> None:
        if self._cache is not None:
            self._cache.set_frame_box(self._frame_box())
            if self._still_frame is not None and not self.is_playing:
                self.seek_frame(self.current_index)

    def _frame_box(self) -> tuple[int, int]:
        # Decode at the size the view shows (device pixels), within a 720p box: memory for ~110 frames.
        ratio = self.view.devicePixelRatioF()
        width = int(self.view.viewport().width() * ratio)
        height = int(self.view.viewport().height() * ratio)
        return min(1280, max(320, width)), min(720, max(180, height))


def _from_event_loop(player: QMediaPlayer, slot: str, *args) -> None:
    """Call one of ``player``'s C++ slots from Qt's event loop, where this thread does not hold the GIL.

    ``stop()`` and ``setSource()`` tear down Qt's FFmpeg threads and wait for them, and the audio thread's
    teardown disconnects from our Python-made QAudioOutput, which needs the GIL (shiboken looks for a Python
    override). Called straight from Python, which holds the GIL, both threads wait for each other: the app
    hung on closing a playing take. Queued calls run in order, before any later queued call or deletion.
    """
    QMetaObject.invokeMethod(player, slot, Qt.ConnectionType.QueuedConnection, *args)

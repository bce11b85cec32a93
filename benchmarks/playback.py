"""Player throughput and frame-step latency on a 5 s 4K clip, against PyAV decoding the same file.

* Throughput: frames our player (QMediaPlayer → QGraphicsVideoItem's sink, as in the app) delivers per
  second at ``playbackRate`` 4 — fast enough that decoding, not the clock, is the limit — against PyAV
  decoding every frame of the same file with 2 threads, in the same run, alternating. Target ratio ≥ 0.9.
* Frame step: keys ``.`` ×60 then ``,`` ×60 from frame 30 with the player paused, time from the key to
  the stepped frame shown (p50 / p90; target p90 < 100 ms).

The 4K clip is rendered once by the simulator's renderer into ``--cache`` (3–5 s) and reused.

    QT_QPA_PLATFORM=offscreen python benchmarks/playback.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import av
from PySide6.QtCore import QCoreApplication, QEventLoop, Qt, QTimer
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from kling_studio.services.simulator.render import RenderSpec, render_video
from kling_studio.services.simulator.validation import Shot
from kling_studio.ui.player.player_widget import PlayerWidget

RATE = 4.0
#: A rate the clock cannot limit (24 × 16 = 384 fps asked), to show where decoding tops out.
CEILING_RATE = 16.0


def clip_4k(cache: Path) -> Path:
    """The 5 s 4K two-shot clip, rendered once."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / "bench-4k-5s.mp4"
    if not path.exists():
        spec = RenderSpec(
            shots=(Shot("A red bottle turning on a table", 2), Shot("Close-up of the label", 3)),
            resolution="full",
        )
        started = time.perf_counter()
        render_video(spec, path)
        print(f"rendered {path.name} in {time.perf_counter() - started:.1f} s")
    return path


def pyav_fps(path: Path) -> float:
    """Frames per second PyAV decodes the file at, 2 threads."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"
        stream.codec_context.thread_count = 2
        started = time.perf_counter()
        frames = sum(1 for _ in container.decode(stream))
        return frames / (time.perf_counter() - started)


def wait_until(condition, timeout: float) -> bool:
    """Run the event loop until ``condition()`` or ``timeout`` seconds."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            return False
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        time.sleep(0.001)
    return True


def load(player: PlayerWidget, path: Path) -> None:
    """Load ``path`` and wait for it."""
    done: list[object] = []
    player.playback.loaded.connect(done.append)
    player.load(path)
    if not wait_until(lambda: bool(done), 30):
        raise SystemExit("the player did not load the clip in 30 s")


def player_fps(player: PlayerWidget, rate: float = RATE) -> tuple[float, int]:
    """Frames per second delivered at ``rate`` from the first frame to the end, and the frame count."""
    playback = player.playback
    playback.seek_frame(0)
    wait_until(lambda: False, 0.4)
    playback.player.setPlaybackRate(rate)
    before = playback.frames_presented
    playback.play()
    wait_until(lambda: playback.frames_presented > before, 10)
    first_at, first_count = playback.last_presented_at, playback.frames_presented
    stopped = QMediaPlayer.PlaybackState.StoppedState
    wait_until(lambda: playback.player.playbackState() == stopped, 30)
    frames = playback.frames_presented - first_count
    elapsed = playback.last_presented_at - first_at
    playback.player.setPlaybackRate(1.0)
    return (frames / elapsed if elapsed > 0 else 0.0), frames + 1


def step_latencies(player: PlayerWidget) -> list[float]:
    """Seconds from each step key to its frame on screen (60 forward, 60 back from frame 30)."""
    playback = player.playback
    playback.pause()
    playback.seek_frame(30)
    wait_until(lambda: playback.frame_cache is not None and playback.frame_cache.is_filled(), 60)
    shown: dict[int, float] = {}
    playback.frame_shown.connect(lambda index: shown.__setitem__(index, time.perf_counter()))
    latencies = []
    expected = 30
    for delta in [1] * 60 + [-1] * 60:
        expected += delta
        shown.pop(expected, None)
        started = time.perf_counter()
        QTest.keyClick(player.view, Qt.Key.Key_Period if delta > 0 else Qt.Key.Key_Comma)
        if not wait_until(lambda e=expected: playback.still_index() == e, 5):
            raise SystemExit(f"step to frame {expected} did not show in 5 s")
        latencies.append(shown.get(expected, time.perf_counter()) - started)
    return latencies


def main() -> None:
    """Run the benchmark and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "kling-studio-bench-media")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    path = clip_4k(args.cache)
    player = PlayerWidget()
    player.resize(1280, 800)
    player.show()
    load(player, path)
    ours, ceiling, theirs = [], [], []
    for _ in range(args.repeats):
        fps, frames = player_fps(player)
        ours.append(fps)
        theirs.append(pyav_fps(path))
        top, top_frames = player_fps(player, CEILING_RATE)
        ceiling.append(top)
        print(
            f"  player {fps:6.1f} fps ({frames} frames at rate {RATE:g}), {top:6.1f} fps ({top_frames} frames "
            f"at rate {CEILING_RATE:g}) · PyAV {theirs[-1]:6.1f} fps"
        )
    steps = sorted(step_latencies(player))
    player.close_media()
    QTimer.singleShot(0, app.quit)
    app.exec()
    ours_median, theirs_median = statistics.median(ours), statistics.median(theirs)
    print(f"player at rate {RATE:g}: {ours_median:.1f} frames/s (median of {args.repeats})")
    print(f"  (rate {RATE:g} asks for {RATE * 24:.0f} frames/s of a 24 fps clip: the clock, not decoding, "
          "may be the limit)")
    print(f"player at rate {CEILING_RATE:g}: {statistics.median(ceiling):.1f} frames/s (decoding-bound)")
    print(f"PyAV, 2 threads:   {theirs_median:.1f} frames/s")
    print(f"ratio player/PyAV at rate {RATE:g}: {ours_median / theirs_median:.2f} (target >= 0.9)")
    print(f"ratio player/PyAV at rate {CEILING_RATE:g}: {statistics.median(ceiling) / theirs_median:.2f}")
    p50, p90 = steps[len(steps) // 2], steps[int(len(steps) * 0.9)]
    print(f"frame step (120 steps at 4K): p50 {p50 * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms, "
          f"max {steps[-1] * 1000:.1f} ms (target p90 < 100 ms)")


if __name__ == "__main__":
    main()

"""The player, as a reviewer uses it: a 4K take plays at full size, and frame steps land on exactly the next
or previous frame, fast enough to feel like scrubbing.

Frame numbers are read back from the picture itself (the simulator draws a progress bar that grows by one
step per frame), not only from our own bookkeeping.
"""

from __future__ import annotations

import itertools
import time

import pytest
from player_clips import FPS, FrameSizes, clip, clip_4k, frame_index_in_image
from PySide6.QtCore import Qt
from PySide6.QtMultimedia import QMediaPlayer

from kling_studio.ui.player.player_widget import PlayerWidget

FRAMES_4K = 5 * FPS


@pytest.fixture
def player(qtbot) -> PlayerWidget:
    widget = PlayerWidget()
    widget.resize(1000, 660)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.close_media()


def _load(qtbot, player: PlayerWidget, path, **kwargs) -> None:
    with qtbot.waitSignal(player.playback.loaded, timeout=20_000):
        player.load(path, **kwargs)


def test_a_4k_take_plays_at_full_resolution(qtbot, player):
    recorder = FrameSizes(player)  # a test-side QVideoSink listener, for the player's whole life
    sizes = recorder.sizes
    player.view.video_item.videoSink().videoFrameChanged.connect(recorder.on_frame)
    _load(qtbot, player, clip_4k(), shot_starts=[2.0])

    assert "3840×2160 · 24 fps · h264" in player.info_label.text()
    player.playback.play()

    def some_4k_frames_arrived() -> None:
        assert len([s for s in sizes if s == (3840, 2160)]) >= 12

    qtbot.waitUntil(some_4k_frames_arrived, timeout=20_000)
    assert player.playback.last_frame_size == (3840, 2160)
    player.playback.pause()


def test_frame_steps_land_on_exactly_the_next_and_previous_frame_at_4k(qtbot, player):
    _load(qtbot, player, clip_4k())
    playback = player.playback
    shown: list[tuple[int, float]] = []
    playback.frame_shown.connect(lambda index: shown.append((index, time.perf_counter())))

    playback.seek_frame(30)
    qtbot.waitUntil(lambda: playback.frame_cache.is_filled(), timeout=30_000)
    assert playback.still_index() == 30

    plan = [1] * 60 + [-1] * 60  # frame 30 → 90 → 30, across keyframes (every 48 frames) both ways
    expected = 30
    latencies = []
    for delta in plan:
        expected += delta
        started = time.perf_counter()
        key = Qt.Key.Key_Period if delta > 0 else Qt.Key.Key_Comma
        qtbot.keyClick(player.view, key)

        def stepped(expected: int = expected) -> None:
            assert playback.still_index() == expected

        qtbot.waitUntil(stepped, timeout=5_000)
        arrived = next(t for i, t in reversed(shown) if i == expected)
        latencies.append(arrived - started)
        image = playback.still_image()
        assert image is not None
        assert frame_index_in_image(image, FRAMES_4K) == expected, f"step to {expected} shows another frame"
        assert playback.current_index == expected

    latencies.sort()
    p90 = latencies[int(len(latencies) * 0.9)]
    p50 = latencies[len(latencies) // 2]
    assert p90 < 0.100, f"frame step p90 {p90 * 1000:.0f} ms (p50 {p50 * 1000:.0f} ms)"

    # Once the stepping rests, the real player lands on the same frame (the middle of it).
    def player_caught_up() -> None:
        assert playback.player.position() == playback.take.timeline.middle_ms(30)
        assert playback.last_presented_index == 30

    qtbot.waitUntil(player_caught_up, timeout=10_000)


def test_space_plays_and_pauses_and_play_resumes_from_the_stepped_frame(qtbot, player):
    _load(qtbot, player, clip())
    playback = player.playback
    for _ in range(10):
        qtbot.keyClick(player.view, Qt.Key.Key_Period)
    qtbot.waitUntil(lambda: playback.still_index() == 10, timeout=10_000)

    qtbot.keyClick(player.view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: playback.is_playing, timeout=5_000)

    def moved_on_from_10() -> None:
        assert playback.current_index > 12
        assert playback.still_index() is None  # the live video is on screen again

    qtbot.waitUntil(moved_on_from_10, timeout=10_000)
    assert player.play_button.accessibleName() == "Play / pause"
    qtbot.keyClick(player.view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not playback.is_playing, timeout=5_000)


def test_shot_marks_come_from_the_storyboard_and_page_down_jumps_to_the_cut(qtbot, player):
    _load(qtbot, player, clip(), shot_starts=[2.0])
    assert player.scrub.marks() == (2 * FPS,)

    qtbot.keyClick(player.view, Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: player.playback.still_index() == 2 * FPS, timeout=10_000)
    assert frame_index_in_image(player.playback.still_image(), 5 * FPS) == 2 * FPS
    assert "frame 49/120" in player.time_label.text()
    qtbot.keyClick(player.view, Qt.Key.Key_PageUp)
    qtbot.waitUntil(lambda: player.playback.current_index == 0, timeout=10_000)


def test_end_of_the_take_and_loop(qtbot, player):
    _load(qtbot, player, clip((("short", 1),)))
    playback = player.playback
    with qtbot.waitSignal(playback.playing_changed, check_params_cb=lambda playing: playing, timeout=5_000):
        playback.play()
    qtbot.waitUntil(
        lambda: playback.player.playbackState() == QMediaPlayer.PlaybackState.StoppedState, timeout=10_000
    )
    assert playback.current_index == FPS - 1

    qtbot.keyClick(player.view, Qt.Key.Key_L)
    assert player.loop_button.isChecked() and playback.loops
    playback.play()
    wrapped: list[int] = []
    playback.frame_shown.connect(wrapped.append)

    def went_round() -> None:
        assert any(b < a for a, b in itertools.pairwise(wrapped))

    qtbot.waitUntil(went_round, timeout=10_000)
    playback.pause()


def test_fullscreen_volume_and_mute(qtbot, player):
    _load(qtbot, player, clip())
    qtbot.keyClick(player.view, Qt.Key.Key_F)
    assert player.is_fullscreen and player.view.isFullScreen()
    qtbot.keyClick(player.view, Qt.Key.Key_Period)  # keys still drive the player in fullscreen
    qtbot.waitUntil(lambda: player.playback.current_index == 1, timeout=5_000)
    qtbot.keyClick(player.view, Qt.Key.Key_Escape)
    assert not player.is_fullscreen and player.view.parent() is player

    player.volume.setValue(25)
    assert player.playback.audio.volume() == pytest.approx(0.25)
    qtbot.keyClick(player.view, Qt.Key.Key_M)
    assert player.playback.audio.isMuted()


def test_a_file_that_is_not_a_video_says_so(qtbot, player, tmp_path):
    bad = tmp_path / "take.mp4"
    bad.write_bytes(b"not a video")
    with qtbot.waitSignal(player.playback.load_failed, timeout=10_000):
        player.load(bad)
    assert "take.mp4" in player.info_label.text()

"""The frame cache: exact frame numbers, frames decoded on both sides of the playhead, posters, bad files."""

from __future__ import annotations

import numpy as np
import pytest

from kling_studio.services.frame_cache import FrameCache, FrameCacheError, poster_frame, read_timeline
from kling_studio.services.simulator.render import FPS, RenderSpec, render_video
from kling_studio.services.simulator.validation import Shot

SECONDS = 5
FRAMES = SECONDS * FPS


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("frame-cache") / "clip.mp4"
    spec = RenderSpec(shots=(Shot("A lighthouse at dawn", 2), Shot("The keeper lights the lamp", 3)))
    return render_video(spec, path)


def index_in_pixels(frame) -> int:
    """The frame number the simulator drew: its bottom progress bar is (k + 1) / frames of the width."""
    bgra = np.frombuffer(frame.pixels, dtype=np.uint8).reshape(frame.height, frame.width, 4)
    bright = int((bgra[frame.height - 2, :, :3].mean(axis=1) > 170).sum())
    return round(bright * FRAMES / frame.width) - 1


def test_the_timeline_numbers_every_frame_and_knows_the_keyframes(clip):
    timeline = read_timeline(clip)
    assert timeline.frame_count == FRAMES and timeline.fps == FPS
    assert timeline.keyframes == (0, 48, 96)  # the renderer's GOP is 48
    assert timeline.index_at(2.0) == 48 and timeline.index_at(0.999) == 23
    assert timeline.middle_ms(48) == int((48 + 0.5) * 1000 / FPS)
    assert timeline.segment_of(50) == (48, 96)


def test_frames_around_the_playhead_are_the_exact_frames(clip):
    cache = FrameCache(clip, frame_box=(320, 180))
    cache.start()
    try:
        cache.seek(60)
        assert cache.wait_until_filled(timeout=30)
        first, end = cache.window()
        assert first <= 12 and end >= 108  # both runs around frame 60 and more
        for index in (0, 47, 48, 59, 60, 61, 95, 96, 119):
            if first <= index < end:
                frame = cache.get(index)
                assert frame is not None and frame.index == index
                assert index_in_pixels(frame) == index
        assert cache.get(60).width == 320 and cache.get(60).height == 180
    finally:
        cache.close()


def test_a_small_budget_keeps_only_frames_near_the_playhead(clip):
    frame_bytes = 320 * 180 * 4
    cache = FrameCache(clip, frame_box=(320, 180), budget_bytes=30 * frame_bytes)
    cache.start()
    try:
        cache.seek(100)
        assert cache.wait_until_filled(timeout=30)
        assert cache.window() == (85, 115)
        cache.seek(10)
        assert cache.wait_until_filled(timeout=30)
        assert all(0 <= i < 30 for i in cache.cached_indexes())
        assert index_in_pixels(cache.get(10)) == 10
    finally:
        cache.close()


def test_a_paused_cache_decodes_nothing_until_resumed(clip):
    cache = FrameCache(clip, frame_box=(320, 180))
    cache.start()
    try:
        cache.set_active(False)
        cache.seek(100)
        assert not cache.wait_until_filled(timeout=0.3)
        cache.set_active(True)
        assert cache.wait_for(100, timeout=30) is not None
    finally:
        cache.close()


def test_listeners_hear_of_each_decoded_frame(clip):
    cache = FrameCache(clip, frame_box=(160, 90))
    heard: list[int] = []
    cache.subscribe(lambda frame: heard.append(frame.index))
    cache.start()
    try:
        cache.seek(5)
        assert cache.wait_until_filled(timeout=30)
        assert 5 in heard and len(heard) == len(set(heard))
    finally:
        cache.close()


def test_the_poster_is_a_small_frame_from_a_second_in(clip):
    poster = poster_frame(clip, (96, 54))
    assert (poster.width, poster.height) == (96, 54)
    assert poster.seconds == pytest.approx(1.0)


def test_a_file_that_is_not_a_video_is_named_in_the_error(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(FrameCacheError, match="broken"):
        FrameCache(bad).start()
    with pytest.raises(FrameCacheError, match="broken"):
        poster_frame(bad)

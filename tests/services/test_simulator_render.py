"""The simulator renders real MP4s of the asked shape and length, with a card per shot one can tell apart."""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np
import pytest

from kling_studio.services.media import MediaProbeError, probe_video
from kling_studio.services.simulator.bitmap_font import text_mask, wrap
from kling_studio.services.simulator.render import RenderSpec, aspect_from_image, frame_size, render_video
from kling_studio.services.simulator.validation import Shot

SHOTS = (Shot("A lighthouse at dusk", 2), Shot("The lamp turns on", 3), Shot("Aerial pull-back", 1))


def decode_rgb(path: Path, indexes: set[int]) -> dict[int, np.ndarray]:
    frames = {}
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in indexes:
                frames[i] = frame.to_ndarray(format="rgb24")
            if len(frames) == len(indexes):
                break
    return frames


def png_bytes(width: int, height: int, rgb: tuple[int, int, int], tmp_path: Path) -> bytes:
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = rgb
    path = tmp_path / "start.png"
    with av.open(str(path), "w", format="image2") as out:
        stream = out.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = width, height, "rgb24"
        out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    return path.read_bytes()


def test_a_preview_render_lasts_the_sum_of_the_shots_with_audio(tmp_path):
    path = render_video(RenderSpec(shots=SHOTS, aspect_ratio="16:9", generate_audio=True), tmp_path / "a.mp4")
    info = probe_video(path)
    assert abs(info.duration - 6) <= 0.1
    assert (info.width, info.height, info.fps) == (640, 360, 24.0)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert info.frames == 6 * 24
    assert not list(tmp_path.glob("*.rendering")), "no temporary file is left behind"


@pytest.mark.parametrize(("aspect", "size"), [("9:16", (360, 640)), ("1:1", (640, 640))])
def test_other_shapes_and_no_audio_track_when_audio_is_off(tmp_path, aspect, size):
    spec = RenderSpec(shots=(Shot("Portrait", 3),), aspect_ratio=aspect, generate_audio=False)
    info = probe_video(render_video(spec, tmp_path / "p.mp4"))
    assert (info.width, info.height) == size
    assert not info.has_audio
    assert abs(info.duration - 3) <= 0.1


def test_each_frame_differs_and_each_shot_has_its_own_colour(tmp_path):
    path = render_video(RenderSpec(shots=SHOTS, generate_audio=False), tmp_path / "c.mp4")
    frames = decode_rgb(path, {0, 1, 2 * 24 + 5})
    assert not np.array_equal(frames[0], frames[1]), "the frame counter changes every frame"
    corner_shot1 = frames[0][150:200, 500:600].reshape(-1, 3).mean(axis=0)
    corner_shot2 = frames[2 * 24 + 5][150:200, 500:600].reshape(-1, 3).mean(axis=0)
    assert np.abs(corner_shot1 - corner_shot2).max() > 30


def test_the_start_image_opens_an_image_to_video_clip(tmp_path):
    image = png_bytes(400, 720, (250, 200, 0), tmp_path)
    assert aspect_from_image(image) == "9:16"
    spec = RenderSpec(shots=(Shot("From the start frame", 3),), aspect_ratio="9:16", start_image=image)
    frames = decode_rgb(render_video(spec, tmp_path / "i.mp4"), {0, 30})
    assert np.abs(frames[0][100:200, 100:200].reshape(-1, 3).mean(axis=0) - (250, 200, 0)).max() < 20
    assert np.abs(frames[30][100:200, 100:200].reshape(-1, 3).mean(axis=0) - (250, 200, 0)).max() > 40


def test_an_unreadable_start_image_falls_back_to_the_title_card(tmp_path):
    spec = RenderSpec(shots=(Shot("x", 3),), start_image=b"not an image")
    assert probe_video(render_video(spec, tmp_path / "f.mp4")).duration == pytest.approx(3, abs=0.1)
    assert aspect_from_image(b"not an image") is None


def test_sizes_are_native_4k_or_a_640_preview():
    assert frame_size("16:9", "full") == (3840, 2160)
    assert frame_size("9:16", "full") == (2160, 3840)
    assert frame_size("1:1", "full") == (2160, 2160)
    assert frame_size("16:9", "preview") == (640, 360)


def test_text_is_drawn_and_wrapped():
    assert text_mask("A", 2).shape == (14, 10) and text_mask("A", 1).any()
    assert not text_mask(" ", 1).any()
    assert wrap("one two three four five", 9, 2) == ["one two", "three..."]
    assert wrap("x" * 20, 8, 5) == ["xxxxxxxx", "xxxxxxxx", "xxxx"]


def test_probe_names_a_missing_or_broken_file(tmp_path):
    with pytest.raises(MediaProbeError, match="does not exist"):
        probe_video(tmp_path / "nope.mp4")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 1000)
    with pytest.raises(MediaProbeError, match=r"broken\.mp4"):
        probe_video(broken)


@pytest.mark.slow
def test_a_full_resolution_render_is_true_4k(tmp_path):
    started = time.monotonic()
    spec = RenderSpec(shots=(Shot("Native 4K", 3),), aspect_ratio="16:9", resolution="full")
    info = probe_video(render_video(spec, tmp_path / "k.mp4"))
    elapsed = time.monotonic() - started
    assert (info.width, info.height) == (3840, 2160)
    assert abs(info.duration - 3) <= 0.1 and info.has_audio
    print(f"3 s of 4K rendered in {elapsed:.1f} s")

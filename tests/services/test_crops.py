"""Crops of a 16:9 master: the right size, the same length, the window where the user put it, and stoppable."""

from __future__ import annotations

import threading

import av
import pytest

from kling_studio.services.crops import CropCancelled, CropError, crop_box, crop_path, export_crop
from kling_studio.services.media import probe_video
from kling_studio.services.simulator.render import FPS, RenderSpec, render_video
from kling_studio.services.simulator.validation import Shot

FRAMES = 5 * FPS


@pytest.fixture(scope="module")
def master_4k(tmp_path_factory):
    """A 5 s 3840×2160 master (one 4K render for the module)."""
    spec = RenderSpec(shots=(Shot("A red bottle on a table", 2), Shot("The label", 3)), resolution="full")
    return render_video(spec, tmp_path_factory.mktemp("crops") / "master.mp4")


def bar_width(path, index: int) -> int:
    """Bright pixels on the bottom row of frame ``index`` (the simulator's progress bar)."""
    with av.open(str(path)) as container:
        for number, frame in enumerate(container.decode(video=0)):
            if number == index:
                luma = frame.to_ndarray(format="gray")
                return int((luma[-2] > 170).sum())
    raise AssertionError(f"no frame {index}")


def test_the_crop_box_is_full_height_even_and_inside_the_frame():
    assert crop_box(3840, 2160, "9:16") == crop_box(3840, 2160, "9:16", 0.5)
    box = crop_box(3840, 2160, "9:16")
    assert (box.width, box.height) == (1214, 2160) and box.x % 2 == 0
    assert crop_box(3840, 2160, "1:1", 0.0).x == 0
    right = crop_box(3840, 2160, "1:1", 1.0)
    assert right.x + right.width == 3840
    with pytest.raises(CropError, match="16:9 master"):
        crop_box(1080, 1920, "1:1")
    with pytest.raises(CropError, match="choose one of"):
        crop_box(3840, 2160, "4:5")


def test_a_vertical_crop_of_a_4k_master_is_1214_by_2160_and_as_long(master_4k, tmp_path):
    seen: list[float] = []
    out = export_crop(master_4k, crop_path(master_4k, "9:16", tmp_path), "9:16", center=0.0, progress=seen.append)
    info, source = probe_video(out), probe_video(master_4k)
    assert (info.width, info.height) == (1214, 2160)
    assert info.duration == pytest.approx(source.duration, abs=0.05) and info.frames == FRAMES
    assert info.audio_codec == "aac"
    assert out.name == "master.9x16.mp4"
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= FRAMES
    # Left-aligned window: frame 0's bar (1/120 of 3840 = 32 px) shows at its left; the last frame's fills it.
    assert bar_width(out, 0) == pytest.approx(32, abs=3)
    assert bar_width(out, FRAMES - 1) == 1214


def test_a_square_crop_on_the_right_shows_the_right_of_the_frame(master_4k, tmp_path):
    out = export_crop(master_4k, tmp_path / "square.mp4", "1:1", center=1.0)
    info = probe_video(out)
    assert (info.width, info.height) == (2160, 2160)
    assert bar_width(out, 0) == 0  # the bar starts at the left edge, outside a right-hand window
    assert bar_width(out, FRAMES // 2) == pytest.approx(3840 * (FRAMES // 2 + 1) // FRAMES - (3840 - 2160), abs=3)


def test_stopping_an_export_leaves_nothing_behind(master_4k, tmp_path):
    cancel = threading.Event()
    target = tmp_path / "stopped.mp4"

    def stop_at_ten_percent(share: float) -> None:
        if share >= 0.1:
            cancel.set()

    with pytest.raises(CropCancelled, match="nothing was saved"):
        export_crop(master_4k, target, "9:16", progress=stop_at_ten_percent, cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_a_broken_master_is_named(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(CropError, match=r"broken\.mp4"):
        export_crop(bad, tmp_path / "out.mp4", "1:1")
    assert not (tmp_path / "out.mp4").exists()

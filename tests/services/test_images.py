"""Reference images against fal's limits: each bad image refused with its reason, fixable ones fixed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from image_helpers import bad_images_module, good_image, with_exif_orientation

from kling_studio.core.references import MAX_IMAGE_ASPECT, MAX_IMAGE_BYTES, MIN_IMAGE_ASPECT
from kling_studio.services import images
from kling_studio.services.images import ImageFormat, ImageRejectedError, ProblemKind

BAD = bad_images_module()


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad_images")
    BAD.write_bad_images(folder)
    return folder


@pytest.mark.parametrize("name", sorted(BAD.EXPECTED))
def test_every_bad_image_is_refused_with_its_reason_and_no_exception(bad_folder: Path, name: str):
    kind, fixable = BAD.EXPECTED[name]
    check = images.check_image((bad_folder / name).read_bytes(), name)
    assert not check.ok
    assert [p.kind.value for p in check.problems] == [kind]
    assert check.message.startswith(f"{name} cannot be used.")
    assert check.fixable is fixable
    if not fixable:
        with pytest.raises(ImageRejectedError) as refused:
            images.fix_image((bad_folder / name).read_bytes(), check)
        assert name in str(refused.value)


@pytest.mark.parametrize("name", sorted(n for n, (_, fixable) in BAD.EXPECTED.items() if fixable))
def test_the_offered_fix_makes_a_fixable_image_acceptable(bad_folder: Path, name: str):
    data = (bad_folder / name).read_bytes()
    check = images.check_image(data, name)
    fixed = images.fix_image(data, check)
    after = images.check_image(fixed, name)
    assert after.ok, after.message
    assert after.header is not None and after.header.format is ImageFormat.JPEG
    width, height = after.header.display_size
    assert MIN_IMAGE_ASPECT <= width / height <= MAX_IMAGE_ASPECT
    assert len(fixed) <= MAX_IMAGE_BYTES


def test_messages_name_the_limit_and_the_value(bad_folder: Path):
    small = images.check_image((bad_folder / "too_small.png").read_bytes(), "too_small.png")
    assert "280×420" in small.message and "300 px" in small.message and "larger image" in small.message
    wide = images.check_image((bad_folder / "extreme_ratio_wide.jpg").read_bytes(), "wide.jpg")
    assert "4.00" in wide.message and "0.40 to 2.50" in wide.message
    assert wide.fixes[0].label == "Crop to 2.50:1"
    large = images.check_image((bad_folder / "too_large.png").read_bytes(), "big.png")
    assert "14.4 MB" in large.message and "10 MB" in large.message
    bomb = images.check_image((bad_folder / "huge_dimensions.png").read_bytes(), "bomb.png")
    assert "100000×100000" in bomb.message


@pytest.mark.parametrize("codec", ["mjpeg", "png", "libwebp"])
def test_jpeg_png_and_webp_within_the_limits_are_accepted(codec: str):
    check = images.check_image(good_image(640, 360, codec), "ok")
    assert check.ok, check.message
    assert check.header is not None and check.header.display_size == (640, 360)


@pytest.mark.parametrize(
    ("width", "height", "ok"),
    [
        (300, 300, True),
        (298, 400, False),
        (750, 300, True),
        (760, 300, False),
        (300, 750, True),
        (300, 760, False),
    ],
)
def test_the_limits_are_inclusive(width: int, height: int, ok: bool):
    assert images.check_image(good_image(width, height, "png"), "edge").ok is ok


def test_exif_orientation_is_respected():
    turned = with_exif_orientation(good_image(800, 400), 6)  # stored landscape, shown portrait
    header = images.read_header(turned)
    assert header.orientation == 6 and header.display_size == (400, 800)
    pixels = images.decode_image(turned)
    assert pixels.shape[:2] == (800, 400)
    upright = images.normalized(turned, images.check_image(turned))
    assert images.read_header(upright).orientation == 1
    assert images.read_header(upright).display_size == (400, 800)
    thumb = images.read_header(images.make_thumbnail(turned))
    assert (thumb.width, thumb.height) == (128, 256)


def test_decoding_turns_the_picture_like_a_viewer_would():
    stored = np.zeros((2, 3, 3), np.uint8)
    stored[0, 0] = 255  # top-left marked
    turned = images.apply_orientation(stored, 6)  # 90° clockwise
    assert turned.shape[:2] == (3, 2) and turned[0, 1, 0] == 255


def test_crop_keeps_the_centre_and_the_short_side():
    pixels = np.zeros((600, 2400, 3), np.uint8)
    cropped = images.crop_to_ratio(pixels, 2.5)
    assert cropped.shape[:2] == (600, 1500)


def test_fixed_images_are_no_larger_than_4k():
    fixed = images.encode_jpeg_within(np.zeros((5000, 8000, 3), np.uint8), MAX_IMAGE_BYTES)
    header = images.read_header(fixed)
    assert max(header.width, header.height) <= images.FIX_LONG_SIDE


def test_require_valid_raises_a_user_error_with_the_reasons(bad_folder: Path):
    with pytest.raises(ImageRejectedError) as refused:
        images.require_valid((bad_folder / "truncated.jpg").read_bytes(), "truncated.jpg")
    assert refused.value.check.problems[0].kind is ProblemKind.TRUNCATED
    assert "cut off" in str(refused.value)

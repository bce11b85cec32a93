"""Write a folder of images fal would refuse, one per limit, plus what the app must say about each.

Generated rather than committed: the too-large file alone is over 10 MB. Tests call :func:`write_bad_images`
on a temporary folder; run this file to look at them yourself::

    python tests/data/bad_images/make.py /tmp/bad_images
"""

from __future__ import annotations

import struct
import sys
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

#: file name → (problem kind the app must report, whether the offered fix must make it acceptable)
EXPECTED: dict[str, tuple[str, bool]] = {
    "too_small.png": ("too-small", False),
    "too_large.png": ("file-too-large", True),
    "extreme_ratio_wide.jpg": ("aspect-ratio", True),
    "extreme_ratio_tall.png": ("aspect-ratio", True),
    "truncated.jpg": ("truncated", False),
    "truncated.png": ("truncated", False),
    "not_an_image.jpg": ("not-an-image", False),
    "empty.png": ("not-an-image", False),
    "huge_dimensions.png": ("huge-dimensions", False),
    "huge_dimensions.jpg": ("huge-dimensions", False),
    "corrupt_pixels.png": ("corrupt", False),
    "not_supported.gif": ("unsupported-format", True),
}


def picture(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A recognisable RGB test picture: gradients, a disc and a little noise."""
    y, x = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(seed)
    img = np.stack([x * 255 // max(width, 1), y * 255 // max(height, 1), (x + y) % 256], -1).astype(np.uint8)
    disc = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (min(width, height) / 4) ** 2
    img[disc] = (230, 60 + seed * 40 % 190, 40)
    return np.clip(img.astype(np.int16) + rng.integers(-6, 7, img.shape), 0, 255).astype(np.uint8)


def encode(pixels: np.ndarray, codec_name: str) -> bytes:
    """Encode one RGB picture as ``png``, ``mjpeg`` (JPEG), ``libwebp`` or ``gif``."""
    height, width = pixels.shape[:2]
    pix_fmt = {"png": "rgb24", "mjpeg": "yuvj420p", "libwebp": "yuv420p", "gif": "rgb8"}[codec_name]
    codec = av.CodecContext.create(codec_name, "w")
    codec.width, codec.height, codec.pix_fmt = width, height, pix_fmt
    codec.time_base = Fraction(1, 25)
    if codec_name == "mjpeg":
        codec.qmin = codec.qmax = 3
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24").reformat(format=pix_fmt)
    return b"".join(bytes(p) for p in codec.encode(frame)) + b"".join(bytes(p) for p in codec.encode(None))


def png_header_only(width: int, height: int) -> bytes:
    """A tiny valid-looking PNG that claims ``width``×``height`` (a decompression bomb's header)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def write_bad_images(folder: Path) -> dict[str, tuple[str, bool]]:
    """Write every bad image into ``folder``; returns :data:`EXPECTED`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "too_small.png").write_bytes(encode(picture(280, 420), "png"))
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, (2000, 2400, 3), dtype=np.uint8)  # noise does not compress: ~14 MB PNG
    (folder / "too_large.png").write_bytes(encode(noise, "png"))
    (folder / "extreme_ratio_wide.jpg").write_bytes(encode(picture(2400, 600), "mjpeg"))
    (folder / "extreme_ratio_tall.png").write_bytes(encode(picture(320, 1200), "png"))
    jpeg = encode(picture(1280, 720, 1), "mjpeg")
    (folder / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    png = encode(picture(800, 600, 2), "png")
    (folder / "truncated.png").write_bytes(png[: len(png) * 2 // 3])
    (folder / "not_an_image.jpg").write_bytes(b"Meeting notes\n- bring the bottle\n" * 20)
    (folder / "empty.png").write_bytes(b"")
    (folder / "huge_dimensions.png").write_bytes(png_header_only(100_000, 100_000))
    big = bytearray(encode(picture(640, 480, 3), "mjpeg"))
    sof = big.find(b"\xff\xc0")
    big[sof + 5 : sof + 9] = struct.pack(">HH", 60_000, 60_000)
    (folder / "huge_dimensions.jpg").write_bytes(bytes(big))
    (folder / "corrupt_pixels.png").write_bytes(_corrupt_png())
    (folder / "not_supported.gif").write_bytes(encode(picture(640, 480, 4), "gif"))
    return dict(EXPECTED)


def _corrupt_png() -> bytes:
    """A complete PNG whose compressed pixel data is garbage (header and IEND intact)."""
    good = png_header_only(640, 480)
    start = good.find(b"IDAT") + 4
    length = struct.unpack(">I", good[start - 8 : start - 4])[0]
    garbage = bytes((i * 37 + 11) % 256 for i in range(length))
    return good[:start] + garbage + good[start + length :]


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "bad_images_out")
    for name, (kind, fixable) in write_bad_images(target).items():
        print(f"{name:28} {kind:18} {'fixable' if fixable else 'refused'}")

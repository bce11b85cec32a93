"""Test images: the bad-image folder generator and a few good pictures, made with PyAV."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path
from types import ModuleType

BAD_IMAGES_SCRIPT = Path(__file__).resolve().parents[1] / "data" / "bad_images" / "make.py"


def bad_images_module() -> ModuleType:
    """``tests/data/bad_images/make.py`` as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("bad_images_make", BAD_IMAGES_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def good_image(width: int = 1280, height: int = 720, codec: str = "mjpeg", seed: int = 0) -> bytes:
    """An acceptable reference image (``mjpeg`` = JPEG, ``png``, ``libwebp``)."""
    make = bad_images_module()
    return make.encode(make.picture(width, height, seed), codec)


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The JPEG with an EXIF APP1 segment saying how to turn it."""
    tiff = b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", 1)
    tiff += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack("<I", 0)
    payload = b"Exif\0\0" + tiff
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + segment + jpeg[2:]

"""Shared pieces for the reference UI tests: a real library in tmp with real images."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

BAD_IMAGES_SCRIPT = Path(__file__).resolve().parents[1] / "data" / "bad_images" / "make.py"


def bad_images_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bad_images_make_ui", BAD_IMAGES_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def image_bytes(width: int = 960, height: int = 540, seed: int = 0, codec: str = "mjpeg") -> bytes:
    make = bad_images_module()
    return make.encode(make.picture(width, height, seed), codec)

"""Fuzzing the files a user hands the app: project files, price files and reference images.

Each target gets arbitrary bytes, and valid files broken in plausible ways (fields swapped for random JSON,
bytes flipped, the end cut off). The only outcome allowed besides success is the target's own error type,
with a message for people — never a crash.
"""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources
from typing import Any

import numpy as np
import pytest
from fuzz_profile import JSON_VALUES, fuzz_settings
from hypothesis import given, settings
from hypothesis import strategies as st
from reliability_helpers import short_project

from kling_studio.core.pricing import PriceCatalog, PriceFileError
from kling_studio.core.project_file import (
    ProjectFileError,
    load_project,
    project_from_json_bytes,
    project_to_dict,
    project_to_json_bytes,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys/indexes) into a JSON value."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replace(document: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    _parent(document, path)[path[-1]] = new
    return document


def mutated_json(base: Any) -> st.SearchStrategy[bytes]:
    """``base`` with one to three values replaced (or deleted), serialised, sometimes with bytes damaged."""
    text = json.dumps(base)
    # Strategies are built once: a strategy made inside each draw costs hypothesis more than the target.
    picks = st.lists(st.sampled_from(_paths(base)), min_size=1, max_size=3, unique=True)

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        document = json.loads(text)
        for path in draw(picks):
            try:
                parent = _parent(document, path)
                if path and not isinstance(parent, dict | list):
                    continue  # an earlier change put a string or number where a container was
                if path:
                    parent[path[-1]]
            except (KeyError, IndexError, TypeError):
                continue  # an earlier change replaced or removed it
            if path and isinstance(parent, dict) and draw(st.booleans()):
                parent.pop(path[-1], None)
            else:
                document = _replace(document, path, draw(JSON_VALUES))
        return damage(draw, json.dumps(document, allow_nan=True).encode())

    return mutate()


def _parent(document: Any, path: tuple) -> Any:
    for step in path[:-1]:
        document = document[step]
    return document


DAMAGE = st.sampled_from(("keep", "keep", "cut", "flip", "insert"))


def damage(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` as is, cut short, with a few bytes overwritten, or with bytes inserted."""
    how = draw(DAMAGE)
    if how == "cut" and data:
        return data[: draw(st.integers(0, len(data) - 1))]
    if how == "flip" and data:
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    if how == "insert":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    return data


@st.composite
def damaged_one_of(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """One of ``seeds``, damaged."""
    return damage(draw, draw(st.sampled_from(seeds)))


def _run_target(figures, name: str, strategy: st.SearchStrategy, check) -> None:
    outcomes: Counter = Counter()

    @fuzz_settings()
    @given(strategy)
    def fuzz(data: bytes) -> None:
        outcomes[check(data)] += 1

    fuzz()
    figures.record("fuzzing", **{name: f"{sum(outcomes.values())} examples, 0 crashes"})
    assert sum(outcomes.values()) > 0


# ---- project files -----------------------------------------------------------------------------------------

VALID_PROJECT = project_to_dict(short_project("Fuzzed"))


def _load_project_bytes(data: bytes) -> str:
    try:
        project_from_json_bytes(data, origin="fuzzed.klingproj")
    except ProjectFileError as exc:
        assert str(exc).startswith("fuzzed.klingproj") or "fuzzed.klingproj" in str(exc), str(exc)
        return "refused"
    return "opened"


def test_fuzzed_project_files_open_or_are_refused_with_a_project_file_error(figures):
    strategy = st.one_of(
        st.binary(max_size=600),
        mutated_json(VALID_PROJECT),
        JSON_VALUES.map(lambda v: json.dumps(v, allow_nan=True).encode()),
    )
    _run_target(figures, "project files", strategy, _load_project_bytes)


def test_a_saved_fuzzed_project_survives_a_round_trip_through_a_file(tmp_path):
    """Whatever opens must save and open again to the same content."""

    @settings(fuzz_settings(), max_examples=200)
    @given(mutated_json(VALID_PROJECT))
    def round_trip(data: bytes) -> None:
        try:
            project = project_from_json_bytes(data, origin="fuzzed.klingproj")
        except ProjectFileError:
            return
        path = tmp_path / "again.klingproj"
        path.write_bytes(project_to_json_bytes(project))
        assert project_to_dict(load_project(path)) == project_to_dict(project)

    round_trip()


# ---- price files ---------------------------------------------------------------------------------

VALID_PRICES = json.loads(resources.files("kling_studio").joinpath("resources", "pricing.json").read_bytes())


def _load_prices(data: bytes) -> str:
    try:
        catalog = PriceCatalog.from_bytes(data, origin="fuzzed-prices.json")
    except PriceFileError as exc:
        assert "fuzzed-prices.json" in str(exc), str(exc)
        return "refused"
    assert catalog is not None
    return "loaded"


def test_fuzzed_price_files_load_or_are_refused_with_a_price_file_error(figures):
    strategy = st.one_of(st.binary(max_size=400), mutated_json(VALID_PRICES))
    _run_target(figures, "price files", strategy, _load_prices)


# ---- reference images ----------------------------------------------------------------------------


def _images_module():
    try:
        from kling_studio.services import images
    except ImportError as exc:  # pragma: no cover - the module is built by another issue
        pytest.skip(f"kling_studio.services.images is not there yet ({exc})")
    return images


def _seed_images(images) -> list[bytes]:
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 255, size=(320, 480, 3), dtype=np.uint8)
    jpeg = images.encode_jpeg(pixels)
    png = _png(pixels[:40, :60])
    return [jpeg, png]


def _png(pixels: np.ndarray) -> bytes:
    import struct
    import zlib

    height, width, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_fuzzed_images_are_checked_without_raising_and_refusals_say_why(figures):
    images = _images_module()
    seeds = _seed_images(images)
    assert images.check_image(seeds[0]).header is not None  # the seeds themselves are images

    def check(data: bytes) -> str:
        result = images.check_image(data, "fuzzed.jpg")
        if result.ok:
            return "accepted"
        assert result.message and all(str(p) for p in result.problems), result
        try:
            images.require_valid(data, "fuzzed.jpg")
        except images.ImageRejectedError as exc:
            assert "fuzzed.jpg" in str(exc)
        else:
            raise AssertionError("require_valid accepted an image check_image refused")
        return "refused"

    strategy = st.one_of(
        st.binary(max_size=300),
        damaged_one_of(seeds),
        st.tuples(st.sampled_from(seeds), st.integers(0, 64)).map(lambda pair: pair[0][: pair[1]]),
    )
    _run_target(figures, "image files", strategy, check)

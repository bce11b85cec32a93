"""The reference library: content-addressed files, names, tags, search, thumbnails, refusals, upload cache."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from image_helpers import bad_images_module, good_image, with_exif_orientation

from kling_studio.services import images
from kling_studio.services.images import ImageRejectedError
from kling_studio.services.reference_library import ReferenceLibrary, ReferenceMissingError

BAD = bad_images_module()


@pytest.fixture
def library(tmp_path: Path):
    lib = ReferenceLibrary(tmp_path / "references")
    yield lib
    lib.close()


def test_an_imported_file_is_stored_under_its_hash_with_its_name_and_a_thumbnail(library, tmp_path):
    source = tmp_path / "Hero Bottle.jpg"
    source.write_bytes(good_image(1280, 720))
    result = library.import_path(source, tags=["Product", "#bottle", "product"])
    item = result.item
    assert result.created
    assert item.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert item.name == "Hero Bottle"
    assert item.tags == ("bottle", "product")
    assert (item.width, item.height, item.format) == (1280, 720, "jpeg")
    assert library.image_path(item.sha256).read_bytes() == source.read_bytes()
    thumb = images.read_header(library.thumbnail_path(item.sha256).read_bytes())
    assert (thumb.width, thumb.height) == (256, 144)


def test_the_same_picture_imported_twice_is_kept_once(library, tmp_path):
    data = good_image(800, 600, "png")
    first = library.import_bytes(data, name="pasted one")
    second = library.import_bytes(data, name="pasted again")
    assert first.created and not second.created
    assert second.item.name == "pasted one"
    assert len(library.items()) == 1


def test_the_library_survives_a_restart(tmp_path):
    lib = ReferenceLibrary(tmp_path / "refs")
    sha = lib.import_bytes(good_image(), name="kept").item.sha256
    lib.rename(sha, "renamed")
    lib.set_tags(sha, ["hero"])
    lib.close()
    again = ReferenceLibrary(tmp_path / "refs")
    item = again.require(sha)
    assert (item.name, item.tags) == ("renamed", ("hero",))
    again.close()


def test_search_matches_name_words_and_tag_prefixes(library):
    library.import_bytes(good_image(seed=1), name="Red bottle front", tags=["product"])
    library.import_bytes(good_image(seed=2), name="Red bottle side", tags=["product", "side"])
    library.import_bytes(good_image(seed=3), name="Model portrait", tags=["character"])
    assert {i.name for i in library.search("bottle")} == {"Red bottle front", "Red bottle side"}
    assert [i.name for i in library.search("#char")] == ["Model portrait"]
    assert [i.name for i in library.search("red SIDE")] == ["Red bottle side"]
    assert len(library.search("")) == 3
    assert library.search("nothing-like-this") == []
    assert library.tags() == ["character", "product", "side"]


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad_images")
    BAD.write_bad_images(folder)
    return folder


@pytest.mark.parametrize("name", sorted(BAD.EXPECTED))
def test_a_bad_image_is_refused_and_nothing_is_stored(library, bad_folder, name):
    folder = bad_folder
    with pytest.raises(ImageRejectedError) as refused:
        library.import_path(folder / name)
    assert name in str(refused.value)
    assert library.items() == []
    assert not any((library.root / "images").rglob("*.*"))


def test_the_offered_fix_imports_a_fixed_copy_and_leaves_the_original(library, tmp_path):
    source = tmp_path / "panorama.jpg"
    original = BAD.encode(BAD.picture(2400, 600), "mjpeg")
    source.write_bytes(original)
    data, check = library.check_path(source)
    assert [f.label for f in check.fixes] == ["Crop to 2.50:1"]
    item = library.import_fixed(data, check, name="panorama").item
    assert (item.width, item.height) == (1500, 600)
    assert source.read_bytes() == original


def test_an_exif_rotated_photo_is_stored_upright(library):
    turned = with_exif_orientation(good_image(800, 400), 8)
    item = library.import_bytes(turned, name="phone photo").item
    assert (item.width, item.height) == (400, 800)
    assert images.read_header(library.read_bytes(item.sha256)).orientation == 1


def test_a_removed_image_is_reported_missing_by_name(library):
    sha = library.import_bytes(good_image(), name="gone soon").item.sha256
    library.remove(sha)
    with pytest.raises(ReferenceMissingError, match="Relink") as missing:
        library.read_bytes(sha, "gone soon")
    assert "gone soon" in str(missing.value)


def test_a_deleted_thumbnail_is_made_again(library):
    sha = library.import_bytes(good_image(), name="t").item.sha256
    path = library.thumbnail_path(sha)
    path.unlink()
    assert library.thumbnail_path(sha).is_file()


def test_uploads_are_cached_per_storage_host(library):
    sha = library.import_bytes(good_image(), name="u").item.sha256
    moment = datetime(2026, 11, 1, 12, tzinfo=UTC)
    library.record_upload(sha, "https://rest.fal.ai", "https://cdn/u.jpg", moment)
    assert library.cached_upload(sha, "https://rest.fal.ai").url == "https://cdn/u.jpg"
    assert library.cached_upload(sha, "http://127.0.0.1:9") is None
    assert library.cached_upload(sha, "https://rest.fal.ai").uploaded_at == moment


def test_a_thousand_items_list_and_search_quickly(library):
    import time

    data = good_image(320, 320, "png")
    item = library.import_bytes(data, name="seed").item
    rows = [
        (f"{i:064x}", f"Image {i}", "bulk", "png", 320, 320, 1, "", item.imported_at.isoformat()) for i in range(1000)
    ]
    with library._lock:
        library._db.executemany("INSERT INTO items VALUES (?,?,?,?,?,?,?,?,?)", rows)
    started = time.perf_counter()
    assert len(library.items()) == 1001
    assert len(library.search("image 99")) == 19  # 99, x99 (9), 990–998 (9)
    assert time.perf_counter() - started < 0.5


def test_missing_references_names_the_ones_to_relink(library):
    from kling_studio.core.references import ProjectReferences

    kept, gone = (library.import_bytes(good_image(seed=i), name=n).item for i, n in enumerate(("kept", "gone")))
    refs = ProjectReferences()
    refs.set_start_frame(kept.reference)
    refs.add_element("hero", gone.reference, (kept.reference,))
    library.remove(gone.sha256)
    assert library.missing_references(refs.state.all_references()) == [gone.reference]


def test_the_missing_message_names_each_image_and_the_fix(library):
    from kling_studio.services.reference_library import describe_missing

    gone = library.import_bytes(good_image(), name="Hero front").item
    assert describe_missing([]) == ""
    message = describe_missing([gone.reference])
    assert message.startswith("1 reference image is missing from the library: 'Hero front' (")
    assert "relink" in message

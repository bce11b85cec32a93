"""The reference library: images stored by content hash under ``<data>/references/``, with names and tags.

Layout::

    <data>/references/
        index.sqlite3            names, tags, sizes, and the storage URLs each image was uploaded to
        images/ab/ab12…ef.jpg    the image, named by the sha256 of its bytes
        thumbs/ab/ab12…ef.jpg    a 256 px JPEG thumbnail, made at import

Importing the same picture twice keeps one file (the hash is the identity); importing refuses an image fal
would refuse, with the reasons and the fixes on offer (:class:`ImageRejectedError`).
A photo turned by its EXIF orientation is stored upright, so the library shows what fal receives.

Every method is synchronous (file hashing, decoding and SQLite): call them through ``asyncio.to_thread`` from
the event loop. One instance may be used from several threads; a lock serialises the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kling_studio.core.errors import UserError
from kling_studio.core.references import Reference
from kling_studio.services import paths
from kling_studio.services.images import (
    EXTENSIONS,
    ImageCheck,
    ImageFormat,
    ImageRejectedError,
    check_image,
    fix_image,
    make_thumbnail,
    normalized,
    read_header,
)

LIBRARY_FOLDER = "references"
INDEX_FILE = "index.sqlite3"
#: Files bigger than this are refused before being read (fal's own limit is 10 MB; fixes shrink up to this).
MAX_IMPORT_BYTES = 200_000_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '',
    format TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    imported_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
    sha256 TEXT NOT NULL,
    storage_url TEXT NOT NULL,
    url TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    PRIMARY KEY (sha256, storage_url)
);
"""


#: How long opening the index waits for another process holding it.
OPEN_BUSY_SECONDS = 15.0


class ReferenceMissingError(UserError):
    """A project names an image the library does not have (deleted, or the project came from elsewhere)."""

    def __init__(self, sha256: str, name: str = "") -> None:
        self.sha256 = sha256
        self.name = name
        label = f"{name!r} ({sha256[:12]})" if name else sha256[:12]
        super().__init__(
            f"The reference image {label} is not in the library. Relink it to an image in the library, "
            "or import the original again."
        )


def describe_missing(missing: list[Reference]) -> str:
    """What to tell the user when a project opens with images the library lacks (empty when none)."""
    if not missing:
        return ""
    names = ", ".join(f"{ref.label!r} ({ref.sha256[:8]})" for ref in missing)
    count = "1 reference image is" if len(missing) == 1 else f"{len(missing)} reference images are"
    return (
        f"{count} missing from the library: {names}. Drop a library image on each under References to "
        "relink it, or import the originals again."
    )


@dataclass(frozen=True)
class LibraryItem:
    """One image of the library.

    Attributes:
        sha256: Hash of the stored bytes: the image's identity.
        name: Display name (the file name without extension, unless renamed).
        tags: Lowercase tags, sorted.
        format: ``jpeg``, ``png`` or ``webp``.
        width: Pixels, upright.
        height: Pixels, upright.
        size_bytes: Size of the stored file.
        source: Where it was imported from (file path, or ``pasted``).
        imported_at: When, UTC.
    """

    sha256: str
    name: str
    tags: tuple[str, ...]
    format: str
    width: int
    height: int
    size_bytes: int
    source: str
    imported_at: datetime

    @property
    def reference(self) -> Reference:
        """The item as a project reference."""
        return Reference(self.sha256, self.name, self.tags)

    @property
    def aspect(self) -> float:
        """Width / height."""
        return self.width / max(self.height, 1)

    def matches(self, text: str) -> bool:
        """True when every word of ``text`` is in the name or is a tag prefix (case-insensitive)."""
        name = self.name.lower()
        for word in text.lower().split():
            word = word.lstrip("#")
            if word not in name and not any(tag.startswith(word) for tag in self.tags):
                return False
        return True


@dataclass(frozen=True)
class ImportResult:
    """What an import did: the item, and whether it was new (False: the same image was already there)."""

    item: LibraryItem
    created: bool


@dataclass(frozen=True)
class CachedUpload:
    """Where an image was uploaded, and when."""

    url: str
    uploaded_at: datetime


class ReferenceLibrary:
    """The content-addressed image store and its index."""

    def __init__(self, root: Path) -> None:
        """Open (or create) the library in ``root``."""
        self.root = root
        (root / "images").mkdir(parents=True, exist_ok=True)
        (root / "thumbs").mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            root / INDEX_FILE, check_same_thread=False, isolation_level=None, timeout=OPEN_BUSY_SECONDS
        )
        _prepare_index(self._db)

    @classmethod
    def open_default(cls) -> ReferenceLibrary:
        """The library in the data folder (``KLING_STUDIO_DATA_DIR`` moves it)."""
        return cls(paths.data_dir() / LIBRARY_FOLDER)

    def close(self) -> None:
        """Close the index."""
        with self._lock:
            self._db.close()

    # ---- import ---------------------------------------------------------------------------------------

    def check_path(self, path: Path) -> tuple[bytes, ImageCheck]:
        """Read a file and check it against fal's limits (does not import).

        Raises:
            UserError: The file cannot be read or is far too large to be an image worth fixing.
        """
        try:
            size = path.stat().st_size
            if size > MAX_IMPORT_BYTES:
                raise UserError(
                    f"{path.name} is {size / 1e6:.0f} MB; reference images must be under "
                    f"{MAX_IMPORT_BYTES // 1_000_000} MB even before fixing. Export a smaller copy."
                )
            data = path.read_bytes()
        except OSError as exc:
            raise UserError(
                f"Cannot read {path}: {exc.strerror or exc}. Check the file and try again."
            ) from exc
        return data, check_image(data, path.name)

    def import_path(self, path: Path, *, tags: Iterable[str] = ()) -> ImportResult:
        """Import an image file; its name becomes the file name without extension.

        Raises:
            ImageRejectedError: fal would refuse it; ``error.check`` has the reasons and fixes.
            UserError: The file cannot be read.
        """
        data, check = self.check_path(path)
        return self._import_checked(data, check, name=path.stem, source=str(path), tags=tags)

    def import_bytes(
        self, data: bytes, *, name: str, source: str = "pasted", tags: Iterable[str] = ()
    ) -> ImportResult:
        """Import image bytes (a paste, a drop of raw data).

        Raises:
            ImageRejectedError: fal would refuse it; ``error.check`` has the reasons and fixes.
        """
        return self._import_checked(data, check_image(data, name), name=name, source=source, tags=tags)

    def import_fixed(
        self, data: bytes, check: ImageCheck, *, name: str, source: str = "", tags: Iterable[str] = ()
    ) -> ImportResult:
        """Apply the fixes ``check`` offers and import the result (the original file is not touched).

        Raises:
            ImageRejectedError: No fix makes the image acceptable.
        """
        fixed = fix_image(data, check)
        return self._import_checked(fixed, check_image(fixed, name), name=name, source=source, tags=tags)

    def _import_checked(
        self, data: bytes, check: ImageCheck, *, name: str, source: str, tags: Iterable[str]
    ) -> ImportResult:
        if not check.ok:
            raise ImageRejectedError(check)
        data = normalized(data, check)
        header = read_header(data)
        sha = hashlib.sha256(data).hexdigest()
        existing = self.get(sha)
        if existing is not None:
            return ImportResult(existing, created=False)
        fmt = ImageFormat(header.format)
        target = self.image_path(sha, fmt.value)
        _write_atomic(target, data)
        _write_atomic(self._thumb_path(sha), make_thumbnail(data))
        width, height = header.display_size
        item = LibraryItem(
            sha256=sha,
            name=(name.strip() or sha[:12])[:200],
            tags=_clean_tags(tags),
            format=fmt.value,
            width=width,
            height=height,
            size_bytes=len(data),
            source=source,
            imported_at=datetime.now(UTC).replace(microsecond=0),
        )
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO items VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    item.sha256,
                    item.name,
                    _tags_text(item.tags),
                    item.format,
                    item.width,
                    item.height,
                    item.size_bytes,
                    item.source,
                    item.imported_at.isoformat(),
                ),
            )
        return ImportResult(item, created=True)

    # ---- reading ---------------------------------------------------------------------------------------

    def get(self, sha256: str) -> LibraryItem | None:
        """The item with this hash, or None."""
        with self._lock:
            row = self._db.execute("SELECT * FROM items WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else _item(row)

    def require(self, sha256: str, name: str = "") -> LibraryItem:
        """The item with this hash whose file is present.

        Raises:
            ReferenceMissingError: Not in the library, or its file is gone.
        """
        item = self.get(sha256)
        if item is None or not self.image_path(sha256, item.format).is_file():
            raise ReferenceMissingError(sha256, name or (item.name if item else ""))
        return item

    def missing_references(self, references: Iterable[Reference]) -> list[Reference]:
        """The references whose image is not in the library (to tell the user which, and offer a relink)."""
        missing: list[Reference] = []
        for ref in references:
            item = self.get(ref.sha256)
            if (item is None or not self.image_path(ref.sha256, item.format).is_file()) and ref not in missing:
                missing.append(ref)
        return missing

    def items(self) -> list[LibraryItem]:
        """Every item, newest first."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM items ORDER BY imported_at DESC, name").fetchall()
        return [_item(row) for row in rows]

    def search(self, text: str = "") -> list[LibraryItem]:
        """Items whose name contains every word of ``text`` or has a tag starting with it (``#tag`` too)."""
        return [item for item in self.items() if item.matches(text)]

    def tags(self) -> list[str]:
        """Every tag in use, sorted."""
        return sorted({tag for item in self.items() for tag in item.tags})

    def read_bytes(self, sha256: str, name: str = "") -> bytes:
        """The stored image's bytes.

        Raises:
            ReferenceMissingError: The image is not in the library.
        """
        item = self.require(sha256, name)
        return self.image_path(sha256, item.format).read_bytes()

    def image_path(self, sha256: str, fmt: str | None = None) -> Path:
        """Where the image with this hash is (or would be) stored."""
        if fmt is None:
            item = self.get(sha256)
            fmt = item.format if item else "jpeg"
        return self.root / "images" / sha256[:2] / f"{sha256}{EXTENSIONS[ImageFormat(fmt)]}"

    def thumbnail_path(self, sha256: str) -> Path:
        """The thumbnail's path, made again from the image when it is missing.

        Raises:
            ReferenceMissingError: The image itself is gone.
        """
        path = self._thumb_path(sha256)
        if not path.is_file():
            _write_atomic(path, make_thumbnail(self.read_bytes(sha256)))
        return path

    def _thumb_path(self, sha256: str) -> Path:
        return self.root / "thumbs" / sha256[:2] / f"{sha256}.jpg"

    # ---- editing --------------------------------------------------------------------------------------

    def rename(self, sha256: str, name: str) -> LibraryItem:
        """Rename an item (projects keep the name they picked it under until relinked)."""
        self._set(sha256, "name", name.strip()[:200] or sha256[:12])
        return self.require(sha256)

    def set_tags(self, sha256: str, tags: Iterable[str]) -> LibraryItem:
        """Replace an item's tags (lowercased, trimmed, without duplicates)."""
        self._set(sha256, "tags", _tags_text(_clean_tags(tags)))
        return self.require(sha256)

    def remove(self, sha256: str) -> None:
        """Delete an item, its file, thumbnail and cached uploads (projects using it report it missing)."""
        item = self.get(sha256)
        with self._lock:
            self._db.execute("DELETE FROM items WHERE sha256 = ?", (sha256,))
            self._db.execute("DELETE FROM uploads WHERE sha256 = ?", (sha256,))
        if item is not None:
            self.image_path(sha256, item.format).unlink(missing_ok=True)
        self._thumb_path(sha256).unlink(missing_ok=True)

    def _set(self, sha256: str, column: str, value: str) -> None:
        with self._lock:
            cursor = self._db.execute(f"UPDATE items SET {column} = ? WHERE sha256 = ?", (value, sha256))
        if cursor.rowcount == 0:
            raise ReferenceMissingError(sha256)

    # ---- upload cache ---------------------------------------------------------------------------------

    def cached_upload(self, sha256: str, storage_url: str) -> CachedUpload | None:
        """The URL this image was last uploaded to on ``storage_url``'s storage, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT url, uploaded_at FROM uploads WHERE sha256 = ? AND storage_url = ?",
                (sha256, storage_url),
            ).fetchone()
        return None if row is None else CachedUpload(row[0], datetime.fromisoformat(row[1]))

    def record_upload(self, sha256: str, storage_url: str, url: str, uploaded_at: datetime) -> None:
        """Remember where an image was uploaded (one URL per storage host)."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO uploads VALUES (?,?,?,?)",
                (sha256, storage_url, url, uploaded_at.isoformat()),
            )


def _prepare_index(db: sqlite3.Connection) -> None:
    """WAL mode and the schema, retried while another process (a second `kling-studio submit`) does the same.

    SQLite answers "database is locked" at once, without waiting, when two connections switch a new file to WAL
    together (about 1 open in 450 with three processes here), so the busy timeout alone does not cover it.
    """
    deadline = time.monotonic() + OPEN_BUSY_SECONDS
    delay = 0.01
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            return
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def _item(row: tuple) -> LibraryItem:
    sha, name, tags, fmt, width, height, size, source, imported = row
    return LibraryItem(
        sha, name, tuple(tags.split()), fmt, width, height, size, source, datetime.fromisoformat(imported)
    )


def _clean_tags(tags: Iterable[str]) -> tuple[str, ...]:
    words = {"-".join(tag.strip().lstrip("#").lower().split()) for tag in tags}
    return tuple(sorted(w for w in words if w))


def _tags_text(tags: tuple[str, ...]) -> str:
    return " ".join(tags)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise

"""Library thumbnails as pixmaps, loaded on worker threads and kept in a bounded cache."""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QPixmap

from kling_studio.services.reference_library import ReferenceLibrary
from kling_studio.ui.references.background import BackgroundWork

#: Pixmaps kept in memory: a 256 px thumbnail is ~150 KB, so 600 is under 100 MB.
CACHE_CAPACITY = 600


class ThumbnailCache(QObject):
    """Gives a thumbnail when it is ready and announces the ones that arrive later.

    ``thumbnail_ready(sha256)`` follows each load started by :meth:`pixmap`.
    """

    thumbnail_ready = Signal(str)

    def __init__(
        self,
        library: ReferenceLibrary,
        work: BackgroundWork,
        parent: QObject | None = None,
        *,
        capacity: int = CACHE_CAPACITY,
    ) -> None:
        super().__init__(parent)
        self._library = library
        self._work = work
        self._capacity = capacity
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()
        self._loading: set[str] = set()
        self._failed: set[str] = set()
        self.loads = 0  # thumbnails read from disk so far (tests check the cache works)

    def pixmap(self, sha256: str) -> QPixmap | None:
        """The thumbnail if cached; otherwise None, and a load starts (announced by ``thumbnail_ready``)."""
        found = self._pixmaps.get(sha256)
        if found is not None:
            self._pixmaps.move_to_end(sha256)
            return found
        if sha256 not in self._loading and sha256 not in self._failed:
            self._loading.add(sha256)
            self._work.run(
                lambda: self._read(sha256),
                lambda image: self._on_work_loaded(sha256, image),
                lambda _error: self._on_work_failed(sha256),
            )
        return None

    def forget(self, sha256: str) -> None:
        """Drop a cached thumbnail (the image was removed or replaced)."""
        self._pixmaps.pop(sha256, None)
        self._failed.discard(sha256)

    def _read(self, sha256: str) -> QImage:
        # QImage (unlike QPixmap) may be made off the UI thread.
        image = QImage(str(self._library.thumbnail_path(sha256)))
        if image.isNull():
            raise ValueError(f"thumbnail of {sha256[:12]} is unreadable")
        return image

    def _on_work_loaded(self, sha256: str, image: QImage) -> None:
        self._loading.discard(sha256)
        self.loads += 1
        self._pixmaps[sha256] = QPixmap.fromImage(image)
        while len(self._pixmaps) > self._capacity:
            self._pixmaps.popitem(last=False)
        self.thumbnail_ready.emit(sha256)

    def _on_work_failed(self, sha256: str) -> None:
        self._loading.discard(sha256)
        self._failed.add(sha256)
        self.thumbnail_ready.emit(sha256)

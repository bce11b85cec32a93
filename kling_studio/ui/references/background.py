"""Blocking work (hashing, decoding, SQLite, thumbnails) on a thread pool, answered on the UI thread.

The owner keeps the :class:`BackgroundWork` and closes it with its widget: pending jobs are dropped, running
ones finish but their answers are ignored, so no callback reaches a deleted widget.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class _Relay(QObject):
    """Lives on the UI thread; signals emitted from a worker are delivered there (queued)."""

    finished = Signal(object)
    failed = Signal(object)


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._fn = fn
        self._relay = relay

    def run(self) -> None:
        try:
            result = self._fn()
        except Exception as exc:  # handed to the UI thread, which shows the message
            self._relay.failed.emit(exc)
        else:
            self._relay.finished.emit(result)


class BackgroundWork(QObject):
    """A small pool of worker threads whose results come back as calls on the UI thread."""

    def __init__(self, parent: QObject | None = None, *, threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._relays: set[_Relay] = set()
        self._closed = False

    @property
    def pending(self) -> int:
        """Jobs whose answer has not been delivered yet."""
        return len(self._relays)

    def run(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_failed: Callable[[Exception], None] | None = None,
    ) -> None:
        """Run ``fn`` on a worker; then ``on_done(result)`` or ``on_failed(error)`` on the UI thread."""
        if self._closed:
            return
        relay = _Relay()
        self._relays.add(relay)

        def finish(result: Any) -> None:
            self._relays.discard(relay)
            if not self._closed:
                on_done(result)

        def fail(error: Exception) -> None:
            self._relays.discard(relay)
            if self._closed:
                return
            if on_failed is None:
                log.error("background job failed: %s", error, exc_info=error)
            else:
                on_failed(error)

        relay.finished.connect(finish)
        relay.failed.connect(fail)
        self._pool.start(_Job(fn, relay))

    def close(self, timeout_ms: int = 3000) -> None:
        """Drop queued jobs, wait briefly for running ones, and ignore every later answer."""
        self._closed = True
        self._pool.clear()
        self._pool.waitForDone(timeout_ms)
        self._relays.clear()

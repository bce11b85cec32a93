"""Blocking work (decoding, probing, thumbnails, exports) on worker threads, results back on the UI thread.

The UI thread never waits on a file: a :class:`Background` runs callables on its own thread pool and hands
each result (or error) to a callback on the thread that owns it. Its owner closes it; results arriving after
that are dropped, so a closed widget is never called back.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


class Background(QObject):
    """A small thread pool whose results come back as calls on the owner's thread.

    Args:
        workers: Threads (keep it low: the machine is shared with video decoding).
        name: Thread name prefix, for debugging.
        parent: The owning QObject; the pool shuts down when :meth:`close` is called.
    """

    _finished = Signal(object, object, object, object)  # done, failed, result, error

    def __init__(self, workers: int = 1, name: str = "background", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._closed = False
        self._finished.connect(self._on_finished)

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        done: Done | None = None,
        failed: Failed | None = None,
    ) -> Future[Any] | None:
        """Run ``fn(*args)`` on a worker; then ``done(result)`` or ``failed(error)`` on the owner's thread.

        Returns the future (None once closed), so a caller can cancel work that has not started.
        """
        if self._closed:
            return None
        future = self._pool.submit(fn, *args)
        future.add_done_callback(lambda f: self._deliver(f, done, failed))
        return future

    def close(self) -> None:
        """Drop queued work and further results; running work finishes on its own (not waited for)."""
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _deliver(self, future: Future[Any], done: Done | None, failed: Failed | None) -> None:
        if self._closed or future.cancelled():
            return
        error = future.exception()
        with contextlib.suppress(RuntimeError):  # the QObject is already deleted: nobody is left to tell
            self._finished.emit(done, failed, None if error else future.result(), error)

    def _on_finished(self, done: Done | None, failed: Failed | None, result: Any, error: Any) -> None:
        if self._closed:
            return
        if error is not None:
            if failed is not None:
                failed(error)
            else:
                log.error("background work failed", exc_info=error)
            return
        if done is not None:
            done(result)

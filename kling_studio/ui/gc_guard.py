"""Python's cyclic garbage collection, run on the UI thread only.

Left automatic, the collector runs in whichever thread happens to allocate: a worker thread (a download, a
thumbnail, the frame cache) can then free a Qt object whose only owner was a Python reference cycle, deleting
it outside its own thread. Its timers stay registered with the UI thread's event loop and later fire on freed
memory (a segfault in ``QTimerInfoList::activateTimers``). The usual remedy in Qt apps (pyqtgraph's
GarbageCollector does the same): turn automatic collection off and collect on a UI-thread timer.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

#: How often the UI thread looks whether a collection is due (a collection of the young generation is ~0.1 ms).
CHECK_MS = 250


class MainThreadGarbageCollector(QObject):
    """Turns automatic collection off while it is started and collects from a timer on its thread."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_MS) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._was_enabled = gc.isenabled()

    def start(self) -> None:
        """Collect only from here on."""
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Give collection back to Python (as it was before :meth:`start`)."""
        self._timer.stop()
        if self._was_enabled:
            gc.enable()

    def check(self) -> None:
        """Collect the generations whose allocation counts passed Python's own thresholds."""
        thresholds = gc.get_threshold()
        counts = gc.get_count()
        if counts[0] <= thresholds[0]:
            return
        generation = 0
        if counts[1] > thresholds[1]:
            generation = 2 if counts[2] > thresholds[2] else 1
        gc.collect(generation)

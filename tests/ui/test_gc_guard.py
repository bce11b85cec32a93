"""Garbage collection runs on the UI thread only, while the app runs."""

from __future__ import annotations

import gc
import threading

from kling_studio.ui.gc_guard import MainThreadGarbageCollector


class _Cycle:
    def __init__(self, freed: list[str]) -> None:
        self.me = self
        self._freed = freed

    def __del__(self) -> None:
        self._freed.append(threading.current_thread().name)


def test_cycles_made_and_dropped_in_a_worker_thread_are_freed_on_the_ui_thread(qtbot):
    collector = MainThreadGarbageCollector(interval_ms=10)
    was_enabled = gc.isenabled()
    freed: list[str] = []
    collector.start()
    try:
        assert not gc.isenabled()

        def churn() -> None:
            for _ in range(5000):  # far past generation 0's threshold: automatic collection would run here
                _Cycle(freed)

        worker = threading.Thread(target=churn, name="worker")
        worker.start()
        worker.join()
        assert freed == []  # nothing was collected in the worker
        qtbot.waitUntil(lambda: len(freed) > 0, timeout=5_000)
        assert set(freed) == {threading.main_thread().name}
    finally:
        collector.stop()
    assert gc.isenabled() == was_enabled

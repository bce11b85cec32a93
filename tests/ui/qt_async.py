"""Running the app's asyncio code in UI tests: on a qasync loop over the test's QApplication, as the app does."""

from __future__ import annotations

import asyncio
import time

from PySide6.QtWidgets import QApplication

from kling_studio.ui.qt_loop import qt_asyncio_loop


def run_on_qt_loop(coro_factory):
    """Run ``coro_factory()`` to the end on the app's kind of loop and return its result."""
    with qt_asyncio_loop(QApplication.instance()) as loop:
        return loop.run_until_complete(coro_factory())


async def wait_for(condition, seconds: float, what: str) -> None:
    """Wait (letting the loop run) until ``condition()`` holds; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)

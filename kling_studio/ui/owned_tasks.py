"""The asyncio tasks one object started: it cancels them, and waits for them, when it closes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


class OwnedTasks:
    """A set of running tasks with one owner (a session, the Generate action, the outputs workspace).

    Args:
        on_done: called with each task when it ends (e.g. to log a failure).
    """

    def __init__(self, on_done: Callable[[asyncio.Task[Any]], object] | None = None) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._on_done = on_done

    def start(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as a task of this owner (on the running loop)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if self._on_done is not None:
            task.add_done_callback(self._on_done)
        return task

    @property
    def running(self) -> int:
        """Tasks not finished yet."""
        return sum(1 for task in self._tasks if not task.done())

    def cancel(self) -> None:
        """Cancel every task still running (without waiting)."""
        for task in list(self._tasks):
            task.cancel()

    async def aclose(self) -> None:
        """Cancel every task still running and wait until they have all stopped."""
        tasks = list(self._tasks)
        self.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

"""asyncio on Qt's event loop (qasync), set up the same way wherever the app's loop runs."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator

import qasync
from PySide6.QtCore import QCoreApplication


@contextlib.contextmanager
def qt_asyncio_loop(app: QCoreApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop over ``app``, current for the ``with`` block, closed (its worker threads stopped) after.

    asyncio's own loops install the async-generator hooks in ``run_forever``; qasync does not. Without them an
    async generator left unfinished (httpcore's body iterators, each time a status stream ends at COMPLETED) is
    finalised by the garbage collector outside any task: "async generator ignored GeneratorExit".
    """
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    hooks = sys.get_asyncgen_hooks()
    sys.set_asyncgen_hooks(firstiter=loop._asyncgen_firstiter_hook, finalizer=loop._asyncgen_finalizer_hook)
    try:
        with loop:
            yield loop
    finally:
        sys.set_asyncgen_hooks(*hooks)
        asyncio.set_event_loop(None)

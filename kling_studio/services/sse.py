"""A small server-sent events reader (``text/event-stream``), bounded so a bad server cannot fill memory.

Follows the WHATWG rules that matter for fal's status stream: ``data:`` lines accumulate until a blank
line ends the event, lines starting with ``:`` are comments (keep-alive pings), one optional space after
the colon is dropped, and ``\\n``, ``\\r\\n`` and ``\\r`` all end a line.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

MAX_EVENT_BYTES = 4 * 1024 * 1024


class SSEError(Exception):
    """The stream broke the event-stream format or a size limit."""


@dataclass(frozen=True)
class ServerSentEvent:
    """One dispatched event: its type (``message`` unless the server named one), data and id."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


async def aiter_events(
    chunks: AsyncIterable[bytes], *, max_event_bytes: int = MAX_EVENT_BYTES
) -> AsyncIterator[ServerSentEvent]:
    """Decode events from raw body chunks; comment-only and empty events are skipped.

    Raises:
        SSEError: One line or event grew past ``max_event_bytes``.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    data: list[str] = []
    size = 0
    event, last_id, retry = "", None, None
    async for chunk in chunks:
        pending += decoder.decode(chunk)
        hold = ""
        if pending.endswith("\r"):  # a lone CR may be the first half of a CRLF still on its way
            pending, hold = pending[:-1], "\r"
        lines = pending.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        pending = lines.pop() + hold
        if len(pending) > max_event_bytes:
            raise SSEError(f"An event-stream line is longer than {max_event_bytes} bytes.")
        for line in lines:
            if line == "":
                if data:
                    yield ServerSentEvent(event or "message", "\n".join(data), last_id, retry)
                data, size, event = [], 0, ""
                continue
            if line.startswith(":"):
                continue
            name, colon, value = line.partition(":")
            if colon and value.startswith(" "):
                value = value[1:]
            if name == "data":
                size += len(value) + 1
                if size > max_event_bytes:
                    raise SSEError(f"An event-stream event is larger than {max_event_bytes} bytes.")
                data.append(value)
            elif name == "event":
                event = value
            elif name == "id" and "\0" not in value:
                last_id = value
            elif name == "retry" and value.isdigit():
                retry = int(value)

"""Fuzzing what fal (or anything at the queue address) answers: bodies for submit, status, result and cancel
served by a real HTTP server on 127.0.0.1, and raw server-sent event streams.

Every answer must become the call's own result or a typed :class:`FalError` with a message; the event-stream
parser may only raise :class:`SSEError`. Nothing else may escape (no KeyError, TypeError, ValueError...).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fuzz_profile import JSON_LEAVES, JSON_VALUES, fuzz_settings
from hypothesis import example, given
from hypothesis import strategies as st

from kling_studio.services.fal_errors import FalError, FalValidationError
from kling_studio.services.fal_queue import FalQueueClient, QueueStatus, SubmitReceipt
from kling_studio.services.retry import RetryPolicy
from kling_studio.services.sse import ServerSentEvent, SSEError, aiter_events

KEY = "fuzzid:fuzz-secret-000000"
MODEL = "fal-ai/kling-video/v3/pro/text-to-video"
STATUSES = (200, 201, 202, 204, 301, 400, 401, 403, 404, 405, 409, 410, 413, 418, 422, 429, 500, 502, 503, 504)
HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
FAL_KEYS = (
    "status", "request_id", "queue_position", "logs", "status_url", "response_url", "cancel_url",
    "detail", "error", "error_type", "metrics", "video",
)  # fmt: skip
STATES = st.sampled_from(("IN_QUEUE", "IN_PROGRESS", "COMPLETED", "in_queue", "", "DONE"))


@st.composite
def fal_shaped(draw: st.DrawFn) -> Any:
    """A dict with fal's keys holding plausible or random values (reaches deeper into the parsers)."""
    body: dict[str, Any] = {}
    keys = draw(st.lists(st.sampled_from(FAL_KEYS), max_size=6, unique=True))
    if draw(st.booleans()):  # the key every parser looks at first
        keys = ["status", "request_id", *keys]
    for key in dict.fromkeys(keys):
        if key == "status":
            body[key] = draw(STATES | JSON_LEAVES)
        elif key == "request_id":
            body[key] = draw(st.uuids().map(str) | JSON_LEAVES)
        elif key == "logs":
            body[key] = draw(st.lists(st.fixed_dictionaries({"message": JSON_LEAVES}) | JSON_LEAVES, max_size=3))
        elif key == "detail":
            item = st.fixed_dictionaries({"loc": st.lists(JSON_LEAVES, max_size=3), "msg": JSON_LEAVES})
            body[key] = draw(st.lists(item | JSON_LEAVES, max_size=3) | JSON_LEAVES)
        elif key == "video":
            video = st.fixed_dictionaries({"url": JSON_LEAVES, "file_size": JSON_LEAVES})
            body[key] = draw(video | JSON_LEAVES)
        else:
            body[key] = draw(JSON_VALUES)
    return body


BODIES = st.one_of(
    fal_shaped().map(lambda b: json.dumps(b, allow_nan=True).encode()),
    JSON_VALUES.map(lambda v: json.dumps(v, allow_nan=True).encode()),
    st.binary(max_size=200),
)
HEADERS = st.dictionaries(
    st.sampled_from(("x-fal-error-type", "x-fal-retryable", "retry-after", "x-fal-request-id", "content-type")),
    HEADER_TEXT,
    max_size=3,
)
ANSWERS = st.tuples(st.sampled_from((200, 202)) | st.sampled_from(STATUSES), HEADERS, BODIES)


class _Canned(BaseHTTPRequestHandler):
    """Answers every request with the server's current canned answer."""

    protocol_version = "HTTP/1.1"
    server: _CannedServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle + delayed ACK add 40 ms per answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        status, headers, body = self.server.answer
        self.send_response(status)
        headers = {"content-type": "application/json", **headers}
        for name, value in headers.items():
            self.send_header(name, value)
        no_body = status in (204, 304) or self.command == "HEAD"
        self.send_header("Content-Length", "0" if no_body else str(len(body)))
        self.end_headers()
        if not no_body:
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer


class _CannedServer(ThreadingHTTPServer):
    daemon_threads = True
    answer: tuple[int, dict[str, str], bytes] = (200, {}, b"{}")


@pytest.fixture(scope="module")
def canned() -> Iterator[_CannedServer]:
    server = _CannedServer(("127.0.0.1", 0), _Canned)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _fuzz_call(figures, canned: _CannedServer, name: str, call, accepts) -> None:
    """Serve every fuzzed answer to ``call(client, receipt)``; it must return ``accepts`` or raise FalError."""
    base = f"http://127.0.0.1:{canned.server_address[1]}"
    receipt = SubmitReceipt(
        request_id="0b7f6c1e-5a8e-4f57-9d2e-3c1d2f6b9a10",
        status_url=f"{base}/fal-ai/kling-video/requests/x/status",
        response_url=f"{base}/fal-ai/kling-video/requests/x",
        cancel_url=f"{base}/fal-ai/kling-video/requests/x/cancel",
    )
    outcomes: Counter = Counter()
    with asyncio.Runner() as runner:
        http = runner.run(_make_client())
        client = FalQueueClient(http, queue_url=base, key=KEY, retry=RetryPolicy(attempts=1))

        @fuzz_settings()
        @given(ANSWERS)
        @example((422, {}, b"[]"))  # found at 10,000 examples: a validation error naming nothing
        @example((422, {}, b'{"detail": []}'))
        def fuzz(answer: tuple[int, dict[str, str], bytes]) -> None:
            canned.answer = answer
            try:
                value = runner.run(call(client, receipt))
            except FalError as exc:
                assert exc.message and exc.message == str(exc)
                assert KEY not in exc.message and "Traceback" not in exc.message
                if isinstance(exc, FalValidationError):
                    assert exc.problems
                outcomes[type(exc).__name__] += 1
                return
            assert accepts(value), value
            outcomes["answered"] += 1

        try:
            fuzz()
        finally:
            runner.run(http.aclose())
    figures.record("fuzzing", **{name: f"{sum(outcomes.values())} examples, 0 crashes"})
    assert outcomes["answered"] and len(outcomes) > 3, outcomes  # both paths were exercised


async def _make_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=10.0)


def test_fuzzed_submit_answers_give_a_receipt_or_a_typed_error(figures, canned):
    _fuzz_call(
        figures,
        canned,
        "submit answers",
        lambda client, _: client.submit(MODEL, {"prompt": "a lighthouse", "duration": "5"}),
        lambda value: isinstance(value, SubmitReceipt) and value.request_id,
    )


def test_fuzzed_status_answers_give_a_status_or_a_typed_error(figures, canned):
    _fuzz_call(
        figures,
        canned,
        "status answers",
        lambda client, receipt: client.status(receipt),
        lambda value: isinstance(value, QueueStatus) and value.state in ("IN_QUEUE", "IN_PROGRESS", "COMPLETED"),
    )


def test_fuzzed_result_answers_give_a_dict_or_a_typed_error(figures, canned):
    _fuzz_call(
        figures,
        canned,
        "result answers",
        lambda client, receipt: client.result(receipt),
        lambda value: isinstance(value, dict),
    )


def test_fuzzed_cancel_answers_give_an_outcome_or_a_typed_error(figures, canned):
    _fuzz_call(
        figures,
        canned,
        "cancel answers",
        lambda client, receipt: client.cancel(receipt),
        lambda value: value in ("CANCELLATION_REQUESTED", "ALREADY_COMPLETED", "NOT_FOUND", "OK"),
    )


# ---- server-sent events -----------------------------------------------------------------------------------

SSE_LINES = st.lists(
    st.sampled_from(
        (b"data: {\"status\": \"IN_QUEUE\"}", b"data:", b": ping", b"event: status", b"id: 7", b"retry: 10",
         b"data: \xff\xfe", b"", b"\r", b"garbage", b"data: " + b"x" * 300)
    )
    | st.binary(max_size=40),
    max_size=12,
)  # fmt: skip


@st.composite
def sse_chunks(draw: st.DrawFn) -> list[bytes]:
    """An event stream (good lines, junk, mixed line endings) cut into random chunks."""
    ending = draw(st.sampled_from((b"\n", b"\r\n", b"\r")))
    stream = ending.join(draw(SSE_LINES)) + draw(st.sampled_from((b"", ending, ending * 2)))
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    edges = [0, *cuts, len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(edges)]


async def _chunks(parts: list[bytes]):
    for part in parts:
        yield part


def _events(runner: asyncio.Runner, parts: list[bytes], limit: int = 256) -> list[ServerSentEvent]:
    async def collect() -> list[ServerSentEvent]:
        return [event async for event in aiter_events(_chunks(parts), max_event_bytes=limit)]

    return runner.run(collect())


def test_fuzzed_event_streams_parse_or_raise_an_sse_error(figures):
    outcomes: Counter = Counter()

    @fuzz_settings()
    @given(sse_chunks())
    def fuzz(parts: list[bytes]) -> None:
        try:
            events = _events(runner, parts)
        except SSEError as exc:
            assert str(exc)
            outcomes["refused"] += 1
            return
        for event in events:
            assert isinstance(event.data, str) and event.event
            assert len(event.data) <= 256
        # Chunking never changes what is parsed.
        try:
            assert _events(runner, [b"".join(parts)]) == events
        except SSEError:
            raise AssertionError("the whole stream was refused but its chunks were not") from None
        outcomes["parsed"] += 1

    with asyncio.Runner() as runner:
        fuzz()
    figures.record("fuzzing", **{"sse streams": f"{sum(outcomes.values())} examples, 0 crashes"})
    assert outcomes["parsed"]

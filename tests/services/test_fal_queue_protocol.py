"""The fal queue client against a scripted server: odd, broken and hostile answers end as typed errors.

The server is a real HTTP server on 127.0.0.1 whose answer each test scripts; hypothesis fuzzes the JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kling_studio.services.fal_errors import (
    FalAuthError,
    FalError,
    FalNetworkError,
    FalProtocolError,
    FalUnavailableError,
    FalValidationError,
    error_for_status,
)
from kling_studio.services.fal_queue import FalQueueClient, SubmitReceipt
from kling_studio.services.retry import RetryPolicy, retry_after_seconds
from kling_studio.services.sse import ServerSentEvent, SSEError, aiter_events

MODEL = "fal-ai/kling-video/v3/4k/text-to-video"
KEY = "fuzz-id:FUZZ-SECRET-93a7e1"
NO_RETRY = RetryPolicy(attempts=1)

# (status, headers, body) or None to close the connection without answering.
Answer = tuple[int, dict[str, str], bytes] | None


class ScriptedServer:
    """A real HTTP/1.1 server on a free 127.0.0.1 port answering with whatever ``answer`` is set to."""

    def __init__(self) -> None:
        self.answer: Callable[[BaseHTTPRequestHandler], Answer] = lambda handler: (200, {}, b"{}")
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        script = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                script.requests.append((self.command, self.path, dict(self.headers.items())))
                answer = script.answer(self)
                if answer is None:
                    self.close_connection = True
                    return
                status, headers, body = answer
                self.send_response(status)
                headers = {"Content-Type": "application/json", **headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()

    def json(self, status: int, body: Any, **headers: str) -> None:
        """Answer every request with ``status`` and ``body`` as JSON."""
        data = json.dumps(body).encode()
        self.answer = lambda handler: (status, dict(headers), data)

    def raw(self, status: int, data: bytes, **headers: str) -> None:
        self.answer = lambda handler: (status, dict(headers), data)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


def receipt_for(server: ScriptedServer) -> SubmitReceipt:
    base = f"{server.url}/fal-ai/kling-video/requests/req-1"
    return SubmitReceipt("req-1", f"{base}/status", base, f"{base}/cancel")


def call(server: ScriptedServer, what: str, *, key: str | None = KEY) -> Any:
    async def main() -> Any:
        async with httpx.AsyncClient(timeout=5) as http:
            client = FalQueueClient(http, queue_url=server.url, key=key, retry=NO_RETRY, poll_interval=0.01)
            receipt = receipt_for(server)
            if what == "submit":
                return await client.submit(MODEL, {"prompt": "x"})
            if what == "status":
                return await client.status(receipt)
            if what == "result":
                return await client.result(receipt)
            if what == "cancel":
                return await client.cancel(receipt)
            return [s async for s in client.follow(receipt)]

    return asyncio.run(main())


def test_a_key_echoed_back_by_the_server_is_scrubbed_from_the_error(server):
    server.answer = lambda handler: (
        401,
        {},
        json.dumps({"detail": f"bad key {handler.headers['Authorization']}"}).encode(),
    )
    with pytest.raises(FalAuthError) as caught:
        call(server, "submit")
    error = caught.value
    for text in (str(error), repr(error), json.dumps(error.detail), repr(error.args)):
        assert "FUZZ-SECRET" not in text
    assert "***" in str(error)


def test_submit_answered_with_non_json_may_have_been_submitted(server):
    server.raw(200, b"<html>gateway</html>", **{"x-fal-request-id": "hdr-42"})
    with pytest.raises(FalProtocolError) as caught:
        call(server, "submit")
    assert "may have been submitted" in str(caught.value) and caught.value.fal_request_id == "hdr-42"


def test_submit_answered_without_a_request_id_keeps_fal_s_header_id(server):
    server.json(200, {"status": "IN_QUEUE"}, **{"x-fal-request-id": "hdr-43"})
    with pytest.raises(FalProtocolError) as caught:
        call(server, "submit")
    assert "hdr-43" in str(caught.value) and "check your fal dashboard" in str(caught.value)


def test_a_connection_closed_after_the_post_may_have_been_submitted(server):
    server.answer = lambda handler: None
    with pytest.raises(FalNetworkError) as caught:
        call(server, "submit")
    assert caught.value.may_have_reached_fal is True
    assert "may have been submitted" in str(caught.value)
    posts = [r for r in server.requests if r[0] == "POST"]
    assert posts, "the POST reached the server"


def test_submit_without_urls_builds_them_from_the_request_id(server):
    server.json(200, {"request_id": "abc-123", "status": "IN_QUEUE", "queue_position": "3"})
    receipt = call(server, "submit")
    assert receipt.status_url == f"{server.url}/fal-ai/kling-video/requests/abc-123/status"
    assert receipt.queue_position is None, "a position that is not a number is dropped"


def test_an_unknown_state_is_a_protocol_error_not_a_crash(server):
    server.json(202, {"status": "SLEEPING"})
    with pytest.raises(FalProtocolError, match="no known state"):
        call(server, "status")


def test_follow_polls_when_the_stream_is_not_an_event_stream(server):
    def answer(handler: BaseHTTPRequestHandler) -> Answer:
        if handler.path.split("?")[0].endswith("/stream"):
            return 200, {"Content-Type": "text/html"}, b"<html/>"
        return 200, {}, json.dumps({"status": "COMPLETED", "logs": None}).encode()

    server.answer = answer
    statuses = call(server, "follow")
    assert [s.state for s in statuses] == ["COMPLETED"] and statuses[0].logs == []


def test_follow_reads_crlf_events_split_across_packets_and_skips_pings(server):
    stream = (
        b": ping\r\n\r\n"
        b'data: {"status": "IN_QUEUE", "queue_position": 1}\r\n\r\n'
        b'data: {"status": "IN_PROGRESS",\r\ndata: "logs": [{"message": "hi"}, 5]}\r\n\r\n'
        b'data: {"status": "COMPLETED", "metrics": {"inference_time": 2.5}}\r\n\r\n'
    )
    server.raw(200, stream, **{"Content-Type": "text/event-stream"})
    statuses = call(server, "follow")
    assert [s.state for s in statuses] == ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]
    assert statuses[0].queue_position == 1 and statuses[1].logs == [{"message": "hi"}]
    assert statuses[2].metrics == {"inference_time": 2.5}


def test_a_500_with_a_plain_text_body_is_still_a_readable_unavailable_error(server):
    server.raw(
        500, b"upstream exploded", **{"Content-Type": "text/plain", "X-Fal-Error-Type": "runner_disconnected"}
    )
    with pytest.raises(FalUnavailableError) as caught:
        call(server, "result")
    assert caught.value.error_type == "runner_disconnected" and "upstream exploded" in str(caught.value)


def test_cancel_reads_fal_s_outcomes(server):
    for status, body, expected in [
        (202, {"status": "CANCELLATION_REQUESTED"}, "CANCELLATION_REQUESTED"),
        (400, {"status": "ALREADY_COMPLETED"}, "ALREADY_COMPLETED"),
        (404, {"detail": "not found"}, "NOT_FOUND"),
        (200, {}, "OK"),
    ]:
        server.json(status, body)
        assert call(server, "cancel") == expected


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (["body", "multi_prompt", 1, "prompt"], "shots[1].prompt"),
        (["body", "multi_prompt", 1, "duration"], "shots[1].duration"),
        (["body", "prompt"], "prompt"),
        (["body", "elements", 0, "frontal_image_url"], "elements[0].frontal_image_url"),
        (["body", "cfg_scale"], "cfg_scale"),
        (["body", "aspect_ratio"], "aspect_ratio"),
        ("not-a-list", ""),
    ],
)
def test_fal_locations_map_to_our_field_paths(loc, path):
    body = {"detail": [{"loc": loc, "msg": "is wrong", "type": "value_error"}]}
    error = error_for_status(422, body, action="submitting the job")
    assert isinstance(error, FalValidationError)
    assert [(p.field_path, p.message) for p in error.problems] == [(path, "is wrong")]


def test_an_admin_lock_is_not_called_an_empty_balance():
    error = error_for_status(
        403, {"detail": "User is locked. Reason: Admin lock"}, action="submitting the job"
    )
    assert error.admin_lock and "admin lock" in str(error) and "balance is empty" not in str(error)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
fal_like = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["IN_QUEUE", "IN_PROGRESS", "COMPLETED", "OK", "NOT_FOUND"]) | json_values,
        "request_id": st.sampled_from(["r-1", "", "../x", "a" * 200]) | json_values,
        "queue_position": json_values,
        "logs": json_values,
        "detail": json_values,
        "error": json_values,
        "error_type": json_values,
        "metrics": json_values,
        "status_url": st.sampled_from(["http://127.0.0.1:9/s", "ftp://x", "not a url"]) | json_values,
        "video": json_values,
    },
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    what=st.sampled_from(["submit", "status", "result", "cancel"]),
    status=st.sampled_from([200, 202, 400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504]),
    body=fal_like | json_values | st.binary(max_size=40).map(lambda b: b),
)
def test_any_answer_ends_as_a_value_or_a_fal_error(server, what, status, body):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    server.raw(status, data)
    with contextlib.suppress(FalError):
        call(server, what)


def events_from(chunks: list[bytes], **kw: Any) -> list[ServerSentEvent]:
    async def source() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    async def main() -> list[ServerSentEvent]:
        return [event async for event in aiter_events(source(), **kw)]

    return asyncio.run(main())


def test_sse_lines_split_anywhere_even_inside_a_crlf_or_a_utf8_character():
    stream = 'data: {"a": "é"}\r\n\r\n: ping\n\nevent: status\ndata:x\ndata: y\n\n'.encode()
    for cut in range(1, len(stream)):
        events = events_from([stream[:cut], stream[cut:]])
        assert events == [ServerSentEvent(data='{"a": "é"}'), ServerSentEvent(event="status", data="x\ny")], (
            cut
        )


def test_sse_refuses_an_endless_line():
    with pytest.raises(SSEError, match="longer than"):
        events_from([b"data: " + b"x" * 5000], max_event_bytes=1000)


def test_retry_after_in_seconds_or_as_an_http_date():
    later = formatdate(time.time() + 30, usegmt=True)
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "2"})) == 2
    assert 25 < (retry_after_seconds(httpx.Response(429, headers={"Retry-After": later})) or 0) <= 30
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert retry_after_seconds(httpx.Response(429)) is None


def test_a_retry_policy_gives_up_after_its_attempts_or_a_too_long_retry_after():
    budget = RetryPolicy(attempts=3, base_delay=0.1, max_delay=0.2).start()
    delays = [budget.next_delay(), budget.next_delay(), budget.next_delay()]
    assert all(d is not None and 0 <= d <= 0.2 for d in delays[:2]) and delays[2] is None
    assert RetryPolicy(max_retry_after=5).start().next_delay(retry_after=3600) is None
    assert RetryPolicy().start().next_delay(retry_after=1.5) == 1.5

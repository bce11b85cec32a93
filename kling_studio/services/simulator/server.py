"""The simulator's HTTP server: fal's queue protocol, file downloads with Range, storage uploads.

Runs a stdlib ``ThreadingHTTPServer`` (HTTP/1.1, one daemon thread per connection) in a background thread,
so it fits next to an asyncio loop in a test or the app, and behind the ``kling-studio simulate`` command.

Routes (``{app}`` is ``fal-ai/kling-video``):

=======  ==========================================  ==================================================
POST     ``/{model_id}``                             submit (the six Kling V3 endpoints)
GET      ``/{app}/requests/{id}/status?logs=1``      202 while queued/running, 200 when completed
GET      ``/{app}/requests/{id}/status/stream``      SSE: a ``data:`` line per change, ``: ping`` lines
GET      ``/{app}/requests/{id}``                    the result, 400 while in progress
PUT      ``/{app}/requests/{id}/cancel``             ``CANCELLATION_REQUESTED`` (202) / ``ALREADY_COMPLETED``
GET      ``/files/{name}``                           videos and uploads, with HTTP Range (206/416)
GET      ``/files/_blob/{bytes}``                    a deterministic file of that size (benchmarks)
POST     ``/storage/auth/token``                     a storage token, like ``rest.fal.ai``
POST     ``/storage/files/upload``                   stores the body, answers ``{"access_url"}``
=======  ==========================================  ==================================================

Keys: ``Authorization: Key id:secret``. A missing or malformed header is a 401, a key whose id is ``unknown``
is fal's 401 "No user found", a key whose id is ``locked`` (or any key under the ``lock`` fault) is a 403.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import mimetypes
import re
import secrets
import shutil
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kling_studio.services.simulator.faults import Fault, FaultPlan
from kling_studio.services.simulator.jobs import COMPLETED, FileStore, Job, JobBook, Timeline
from kling_studio.services.simulator.render import Resolution
from kling_studio.services.simulator.validation import (
    MODEL_IDS,
    InputInvalid,
    parse_model_id,
    validate_input,
)

log = logging.getLogger(__name__)

MALFORMED_KEY = "Invalid Key Authorization header format. Expected '<key_id>:<key_secret>'."
MISSING_KEY = "Missing authorization header. Expected 'Authorization: Key <key_id>:<key_secret>'."
UNKNOWN_KEY = "No user found for Key ID and Secret"
LOCKED = "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing."
STILL_RUNNING = "Request is still in progress"

_INFRA_ERRORS = {
    500: ("Internal server error", "internal_server_error"),
    502: ("Runner disconnected", "runner_disconnected"),
    503: ("Runner scheduling failure", "runner_scheduling_failure"),
    504: ("Request timed out", "request_timeout"),
}
_REQUEST_PATH = re.compile(
    r"^/fal-ai/kling-video/requests/(?P<id>[0-9a-f-]{36})(?P<rest>/status|/status/stream|/cancel)?$"
)
_BLOB_PATH = re.compile(r"^/files/_blob/(?P<size>\d{1,12})$")
_COPY_CHUNK = 1 << 20
_SLOW_CHUNK = 16 * 1024
_SLOW_PAUSE = 0.25
_MAX_BODY = 64 * 1024 * 1024


@dataclass(frozen=True)
class SimulatorConfig:
    """How the simulator behaves.

    Args:
        speed: Divides every simulated wait; tests use large values (e.g. 200) so jobs finish at once.
        resolution: ``"full"`` renders native 4K; ``"preview"`` renders a 640 px long side.
        faults: Faults to inject (see :mod:`kling_studio.services.simulator.faults`).
        work_dir: Where renders, uploads and blobs go; None means a temporary directory removed on stop.
        concurrency: Requests that run at once; the rest wait in the queue.
        queue_seconds: Simulated seconds each request spends queued.
        queue_ahead: Simulated other users' requests ahead of each new one.
        sse_ping_seconds: Real seconds between ``: ping`` keep-alive lines on the status stream.
        seed: Seeds the fault plan's random draws when the plan itself has no ``seed=``.
    """

    speed: float = 1.0
    resolution: Resolution = "preview"
    faults: FaultPlan = field(default_factory=FaultPlan)
    work_dir: Path | None = None
    concurrency: int = 2
    queue_seconds: float = 3.0
    queue_ahead: int = 2
    sse_ping_seconds: float = 15.0
    seed: int | None = None


@dataclass(frozen=True)
class RequestRecord:
    """One request the simulator answered, for tests to assert on.

    Attributes:
        method: HTTP method.
        path: Path with query string.
        headers: Request headers (last value wins for repeated names).
        body_length: Bytes of request body read.
        request_id: The fal request id the path is about (submit: the id it created), or None.
        range: The ``Range`` header, or None.
        time: Wall-clock arrival time (``time.time()``).
        status: The HTTP status sent back (0 if the connection died before one was sent).
        model_id: For submits, the model posted to.
        fault: The injected fault, as ``"kind@site"``, or None.
    """

    method: str
    path: str
    headers: dict[str, str]
    body_length: int
    request_id: str | None
    range: str | None
    time: float
    status: int
    model_id: str | None = None
    fault: str | None = None


class SimulatorServer:
    """A fal-compatible queue server for the Kling V3 endpoints, running in a background thread.

    Use as a context manager, or call :meth:`start` and :meth:`stop`::

        with SimulatorServer(SimulatorConfig(speed=200)) as sim:
            os.environ["KLING_STUDIO_QUEUE_URL"] = sim.url
    """

    def __init__(
        self, config: SimulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or SimulatorConfig()
        faults = self.config.faults
        self.faults = (
            faults.with_seed(self.config.seed)
            if faults.seed is None and self.config.seed is not None
            else faults
        )
        self._host, self._port = host, port
        self._httpd: _Httpd | None = None
        self._thread: threading.Thread | None = None
        self._owned_dir: Path | None = None
        self._log_lock = threading.Lock()
        self._log: list[RequestRecord] = []
        self._files = FileStore()
        self._tokens: set[str] = set()
        self._blob_lock = threading.Lock()
        self.work_dir = Path()
        self.jobs: JobBook | None = None

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> SimulatorServer:
        """Bind the port and start serving; returns self."""
        if self._httpd is not None:
            return self
        if self.config.work_dir is None:
            self._owned_dir = Path(tempfile.mkdtemp(prefix="kling-sim-"))
            self.work_dir = self._owned_dir
        else:
            self.work_dir = Path(self.config.work_dir)
            self.work_dir.mkdir(parents=True, exist_ok=True)
        timeline = Timeline(
            speed=self.config.speed,
            queue_seconds=self.config.queue_seconds,
            queue_ahead=self.config.queue_ahead,
            concurrency=self.config.concurrency,
        )
        self.jobs = JobBook(timeline, self.config.resolution, self.work_dir, self._files, self.faults)
        self._httpd = _Httpd((self._host, self._port), _Handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="kling-simulator",
            daemon=True,
        )
        self._thread.start()
        log.info("simulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving, end the job timelines and remove a temporary work directory."""
        if self._httpd is None:
            return
        assert self.jobs is not None
        self.jobs.close()
        self._httpd.shutdown()
        self._httpd.close_all()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        if self._owned_dir is not None:
            shutil.rmtree(self._owned_dir, ignore_errors=True)
            self._owned_dir = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The queue base URL, e.g. ``http://127.0.0.1:51234`` (what ``KLING_STUDIO_QUEUE_URL`` is set to)."""
        if self._httpd is None:
            raise RuntimeError("The simulator is not running; call start() or use it in a with block.")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # -- what tests look at --------------------------------------------------------------------------

    def request_log(self) -> list[RequestRecord]:
        """A snapshot of every request answered so far, in arrival order."""
        with self._log_lock:
            return sorted(self._log, key=lambda r: r.time)

    def submits_for(self, model_id: str | None = None) -> int:
        """How many submit POSTs arrived (for one model, or for any), whatever their answer."""
        return sum(
            1
            for r in self.request_log()
            if r.method == "POST" and r.model_id is not None and (model_id is None or r.model_id == model_id)
        )

    def requests_for(self, request_id: str) -> list[RequestRecord]:
        """Every request about one fal request id (its submit, polls, result, cancel)."""
        return [r for r in self.request_log() if r.request_id == request_id]

    def downloads_of(self, name: str) -> list[RequestRecord]:
        """Every GET of ``/files/{name}``, e.g. to see that a resume sent a Range header."""
        return [
            r for r in self.request_log() if r.method == "GET" and urlsplit(r.path).path == f"/files/{name}"
        ]

    def add_file(self, path: Path, name: str | None = None) -> str:
        """Serve an existing file at ``/files/{name}`` (default: its file name); returns its URL."""
        name = name or Path(path).name
        self._files.add(name, Path(path))
        return f"{self.url}/files/{name}"

    def blob_url(self, size: int) -> str:
        """URL of a deterministic ``size``-byte file (created on first request), for download benchmarks."""
        return f"{self.url}/files/_blob/{size}"

    # -- used by the handler -------------------------------------------------------------------------

    def _record(self, record: RequestRecord) -> None:
        with self._log_lock:
            self._log.append(record)

    def _blob_path(self, size: int) -> Path:
        path = self.work_dir / f"blob-{size}.bin"
        with self._blob_lock:
            if not path.exists():
                pattern = hashlib.sha256(str(size).encode()).digest() * (_COPY_CHUNK // 32)
                tmp = path.with_suffix(".part")
                with tmp.open("wb") as out:
                    left = size
                    while left > 0:
                        out.write(pattern[: min(left, len(pattern))])
                        left -= min(left, len(pattern))
                tmp.replace(path)
        return path

    def _resolve_image(self, url: str) -> bytes | None:
        """Bytes of a start image we can reach without the internet: our uploads or a data: URI."""
        if url.startswith("data:") and "," in url:
            header, payload = url.split(",", 1)
            try:
                return base64.b64decode(payload) if header.endswith(";base64") else payload.encode()
            except ValueError:
                return None
        prefix = f"{self.url}/files/"
        if url.startswith(prefix):
            path = self._files.get(url.removeprefix(prefix))
            if path is not None and path.exists():
                return path.read_bytes()
        return None


class _Httpd(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # the default 5 refuses bursts such as 20 concurrent submits

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], sim: SimulatorServer):
        self.sim = sim
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_all(self) -> None:
        """Close open connections (long polls, SSE streams) so stop() does not wait on clients."""
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("simulator connection from %s ended with an error", client_address, exc_info=True)


class _Dropped(Exception):
    """The handler closed the connection on purpose (an injected fault)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kling-studio-simulator"
    sys_version = ""
    server: _Httpd

    # -- plumbing ------------------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        # Headers and body are separate writes: with Nagle's algorithm on, the client's delayed ACK holds
        # every small answer on a kept-alive connection for 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("simulator: " + format, *args)

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def send_response(self, code: int, message: str | None = None) -> None:
        self._status = code
        super().send_response(code, message)

    def end_headers(self) -> None:
        # Record before the client can see the answer, so a test reading the log right after never races it.
        self._record()
        super().end_headers()

    def _dispatch(self) -> None:
        self._status = 0
        self._body = b""
        self._request_id: str | None = None
        self._model_id: str | None = None
        self._fault: str | None = None
        self._recorded = False
        self._arrived = time.time()
        sim = self.server.sim
        split = urlsplit(self.path)
        self._route_path, self._query = split.path, parse_qs(split.query)
        try:
            self._body = self._read_body()
            if sim.faults.latency:
                time.sleep(sim.faults.latency)
            self._route()
        except (_Dropped, BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
        except Exception as exc:  # a simulator bug: answer it like fal's infrastructure would, and say so
            log.exception("simulator failed on %s %s", self.command, self.path)
            self.close_connection = True
            if not self._status:
                body = {
                    "detail": f"Simulator bug: {type(exc).__name__}: {exc}",
                    "error_type": "internal_server_error",
                }
                with contextlib.suppress(OSError):
                    self._send_json(500, body, [("X-Fal-Error-Type", "internal_server_error")])
        finally:
            self._record()  # a request that died before its answer is logged too, with status 0

    def _record(self) -> None:
        if self._recorded:
            return
        self._recorded = True
        self.server.sim._record(
            RequestRecord(
                method=self.command,
                path=self.path,
                headers=dict(self.headers.items()),
                body_length=len(self._body),
                request_id=self._request_id,
                range=self.headers.get("Range"),
                time=self._arrived,
                status=self._status,
                model_id=self._model_id,
                fault=self._fault,
            )
        )

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            self._send_json(413, {"detail": f"Request body over {_MAX_BODY // 2**20} MB"})
            raise _Dropped
        return self.rfile.read(length) if length else b""

    def _send_json(self, status: int, body: object, headers: Iterable[tuple[str, str]] = ()) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _request_headers(self) -> list[tuple[str, str]]:
        return [("x-fal-request-id", self._request_id)] if self._request_id else []

    def _inject(self, site: str, key: str = "") -> Fault | None:
        """Pick a fault for this request; an HTTP-status fault is answered here and raises ``_Answered``."""
        fault = self.server.sim.faults.pick(site, key)
        if fault is None:
            return None
        self._fault = f"{fault.kind}@{fault.site}"
        code = fault.status_code
        if code is None:
            return fault
        if code == 429:
            self._send_json(
                429,
                {"detail": "Too many requests. Retry after 1 second.", "error_type": "rate_limited"},
                [("Retry-After", "1"), ("X-Fal-Error-Type", "rate_limited")],
            )
        else:
            detail, error_type = _INFRA_ERRORS[code]
            self._send_json(
                code, {"detail": detail, "error_type": error_type}, [("X-Fal-Error-Type", error_type)]
            )
        raise _Answered

    def _check_key(self) -> bool:
        header = self.headers.get("Authorization")
        if not header:
            self._send_json(401, {"detail": MISSING_KEY})
            return False
        scheme, _, key = header.partition(" ")
        key_id, sep, secret = key.strip().partition(":")
        if scheme != "Key" or not sep or not key_id or not secret:
            self._send_json(401, {"detail": MALFORMED_KEY})
            return False
        if key_id == "unknown":
            self._send_json(401, {"detail": UNKNOWN_KEY})
            return False
        if key_id == "locked" or self.server.sim.faults.lock_all:
            self._send_json(403, {"detail": LOCKED})
            return False
        return True

    # -- routing -------------------------------------------------------------------------------------

    def _route(self) -> None:
        path, method = self._route_path, self.command
        try:
            if path.startswith("/files/"):
                if method not in ("GET", "HEAD"):
                    return self._send_json(405, {"detail": "Method Not Allowed"})
                return self._serve_file(path.removeprefix("/files/"))
            if path.startswith("/storage/"):
                return self._storage(path)
            match = _REQUEST_PATH.match(path)
            if match:
                self._request_id = match["id"]
                return self._request(match["rest"] or "", method)
            model_id = path.strip("/")
            if method == "POST" and parse_model_id(model_id):
                self._model_id = model_id
                return self._submit(model_id)
            if method == "GET" and path == "/":
                return self._send_json(200, {"simulator": "kling-studio", "models": list(MODEL_IDS)})
            self._send_json(404, {"detail": f"Application or route {path!r} not found"})
        except _Answered:
            return None

    def _submit(self, model_id: str) -> None:
        if not self._check_key():
            return
        self._inject("submit")
        try:
            body = json.loads(self._body or b"null")
        except json.JSONDecodeError as exc:
            detail = [{"loc": ["body", exc.pos], "msg": "JSON decode error", "type": "json_invalid"}]
            return self._send_json(422, {"detail": detail}, [("X-Fal-Retryable", "false")])
        try:
            generation = validate_input(model_id, body)
        except InputInvalid as exc:
            return self._send_json(422, {"detail": exc.detail}, [("X-Fal-Retryable", "false")])
        sim = self.server.sim
        start_image = sim._resolve_image(generation.start_image_url) if generation.start_image_url else None
        assert sim.jobs is not None
        job = sim.jobs.submit(model_id, generation, start_image, start_timeout=self._start_timeout())
        self._request_id = job.request_id
        status, _ = sim.jobs.status(job.request_id, with_logs=False) or ({}, 0)
        body_out = {**status, **self._urls(job)}
        body_out.pop("logs", None)
        self._send_json(200, body_out, self._request_headers())

    def _start_timeout(self) -> float | None:
        value = self.headers.get("X-Fal-Request-Timeout")
        try:
            return float(value) if value else None
        except ValueError:
            return None

    def _urls(self, job: Job) -> dict[str, str]:
        base = f"{self.server.sim.url}/{job.base_path}"
        return {"response_url": base, "status_url": f"{base}/status", "cancel_url": f"{base}/cancel"}

    def _request(self, rest: str, method: str) -> None:
        if not self._check_key():
            return
        sim = self.server.sim
        assert sim.jobs is not None and self._request_id is not None
        job = sim.jobs.get(self._request_id)
        expected = "PUT" if rest == "/cancel" else "GET"
        if method != expected and not (method == "HEAD" and expected == "GET"):
            return self._send_json(405, {"detail": "Method Not Allowed"})
        if rest == "/cancel":
            self._inject("cancel")
            outcome = sim.jobs.cancel(self._request_id)
            code = {"CANCELLATION_REQUESTED": 202, "ALREADY_COMPLETED": 400, "NOT_FOUND": 404}[outcome]
            return self._send_json(code, {"status": outcome}, self._request_headers())
        if job is None:
            return self._send_json(404, {"detail": f"Request {self._request_id} not found"})
        if rest == "/status/stream":
            return self._stream(job)
        if rest == "/status":
            self._inject("status")
            status, _ = sim.jobs.status(job.request_id, with_logs=self._with_logs()) or ({}, 0)
            code = 200 if status.get("status") == COMPLETED else 202
            return self._send_json(code, {**status, **self._urls(job)}, self._request_headers())
        self._result(job)

    def _with_logs(self) -> bool:
        return self._query.get("logs", ["0"])[-1].lower() in ("1", "true", "yes")

    def _result(self, job: Job) -> None:
        fault = self._inject("result")
        if fault is not None and fault.kind == "expire":
            detail = f"Request {job.request_id} not found. Results are kept for 1 hour after completion"
            return self._send_json(404, {"detail": detail}, self._request_headers())
        sim = self.server.sim
        assert sim.jobs is not None
        now = sim.jobs.snapshot(job.request_id)
        assert now is not None
        if now.state != COMPLETED:
            return self._send_json(400, {"detail": STILL_RUNNING}, self._request_headers())
        if now.error:
            body = {"detail": now.error, "error_type": now.error_type}
            headers = [*self._request_headers(), ("X-Fal-Error-Type", now.error_type or "")]
            if now.error_type == "request_cancelled":
                return self._send_json(400, body, self._request_headers())
            if now.error_type == "request_timeout":
                return self._send_json(504, body, [*headers, ("X-Fal-Request-Timeout-Type", "user")])
            return self._send_json(500, body, headers)
        video = {
            "url": f"{sim.url}/files/{now.file_name}",
            "content_type": "video/mp4",
            "file_name": "output.mp4",
            "file_size": now.file_size,
        }
        self._send_json(200, {"video": video}, self._request_headers())

    def _stream(self, job: Job) -> None:
        sim = self.server.sim
        assert sim.jobs is not None
        fault = self._inject("stream", job.request_id)  # drop is once per key: per request, not per server
        with_logs = self._with_logs()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        for name, value in self._request_headers():
            self.send_header(name, value)
        self.end_headers()
        self.close_connection = True
        seen = -1
        sent = 0
        urls = self._urls(job)
        while True:
            status, version = sim.jobs.wait_for_change(
                job.request_id, seen, sim.config.sse_ping_seconds, with_logs=with_logs
            )
            if version == seen:
                if sim.jobs.closed:
                    return
                self.wfile.write(b": ping\n\n")
                self.wfile.flush()
                continue
            seen = version
            self.wfile.write(b"data: " + json.dumps({**status, **urls}).encode() + b"\n\n")
            self.wfile.flush()
            sent += 1
            if status["status"] == COMPLETED:
                return
            if fault is not None and fault.kind == "drop":
                raise _Dropped

    # -- files -----------------------------------------------------------------------------------------

    def _serve_file(self, name: str) -> None:
        sim = self.server.sim
        blob = _BLOB_PATH.match(self._route_path)
        content_type = "application/octet-stream"
        if blob:
            path: Path | None = sim._blob_path(int(blob["size"]))
        else:
            path = sim._files.get(name)
            content_type = mimetypes.guess_type(name)[0] or content_type
        if path is None or not path.exists():
            return self._send_json(404, {"detail": f"File {name!r} not found"})
        fault = self._inject("download", name) if self.command == "GET" else None
        stat = path.stat()
        size = stat.st_size
        etag = f'"{size:x}-{stat.st_mtime_ns:x}"'
        start, end = 0, size - 1
        partial = False
        range_header = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if range_header and (if_range is None or if_range == etag):
            try:
                parsed = _parse_range(range_header, size)
            except ValueError:  # a range we do not serve (several ranges, other units): send it all
                parsed = (0, size - 1)
            else:
                partial = True
            if parsed is None:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start, end = parsed
        length = max(0, end - start + 1)
        self.send_response(206 if partial else 200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        if partial:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if self.command == "HEAD" or length == 0:
            return
        self.wfile.flush()
        with path.open("rb") as source:
            if fault is None:
                self.connection.sendfile(source, offset=start, count=length)
            elif fault.kind == "drop":
                self.connection.sendfile(source, offset=start, count=max(1, length // 2))
                self._abort()
            elif fault.kind == "truncate":
                self.connection.sendfile(source, offset=start, count=max(1, length - max(1, length // 10)))
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_WR)
                raise _Dropped
            elif fault.kind == "slow":
                source.seek(start)
                left = length
                while left > 0:
                    chunk = source.read(min(_SLOW_CHUNK, left))
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    left -= len(chunk)
                    time.sleep(_SLOW_PAUSE)

    def _abort(self) -> None:
        """Reset the connection (RST, not a clean close), like a network drop mid-body."""
        with contextlib.suppress(OSError):  # the linger struct differs on Windows: a plain close still cuts
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.wfile.close()
        self.connection.close()  # the last reference: the kernel sends RST
        raise _Dropped

    # -- storage -------------------------------------------------------------------------------------

    def _storage(self, path: str) -> None:
        sim = self.server.sim
        if path == "/storage/auth/token" and self.command == "POST":
            if not self._check_key():
                return
            self._inject("upload")
            token = secrets.token_urlsafe(24)
            sim._tokens.add(token)
            expires = datetime.now(UTC) + timedelta(hours=1)
            return self._send_json(
                200,
                {
                    "token": token,
                    "token_type": "Bearer",
                    "base_url": f"{sim.url}/storage",
                    "expires_at": expires.isoformat(),
                },
            )
        if path == "/storage/files/upload" and self.command == "POST":
            scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
            if scheme != "Bearer" or token not in sim._tokens:
                return self._send_json(401, {"detail": "Invalid or expired storage token"})
            self._inject("upload")
            return self._send_json(200, {"access_url": self._store_upload()})
        self._send_json(404, {"detail": f"Storage route {path!r} not found"})

    def _store_upload(self) -> str:
        sim = self.server.sim
        file_name = self.headers.get("X-Fal-File-Name") or ""
        content_type = (self.headers.get("Content-Type") or "application/octet-stream").split(";")[0].strip()
        ext = Path(file_name).suffix.lower() or mimetypes.guess_extension(content_type) or ".bin"
        digest = hashlib.sha256(self._body).hexdigest()[:32]
        uploads = sim.work_dir / "uploads"
        uploads.mkdir(exist_ok=True)
        target = uploads / f"{digest}{ext}"
        if not target.exists():
            tmp = target.with_suffix(target.suffix + ".part")
            tmp.write_bytes(self._body)
            tmp.replace(target)
        name = f"uploads/{target.name}"
        return sim.add_file(target, name)


class _Answered(Exception):
    """An injected HTTP error has already been sent; stop handling this request."""


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(start, end)`` inclusive for a single ``bytes=`` range, or None when it cannot be satisfied.

    Raises:
        ValueError: The header is not a single byte range; the caller then sends the whole file.
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        raise ValueError(header)
    first, _, last = spec.strip().partition("-")
    if first == "":
        suffix = int(last)
        if suffix <= 0 or size == 0:
            return None
        return max(0, size - suffix), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)

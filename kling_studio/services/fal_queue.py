"""fal's queue API on asyncio: submit a job, follow its status, fetch its result, cancel it.

The owner (the job runner, a CLI command, a test) creates one ``httpx.AsyncClient`` and passes it in; the
client never creates or closes one. Only the URLs fal's submit answer returns are used afterwards.

Money rules: the submit POST is never retried (fal has no idempotency key, so a blind retry can charge
twice); GETs and the cancel PUT retry with exponential backoff and full jitter, honouring ``Retry-After``.
The key is sent only in the ``Authorization`` header and appears in no message, repr or log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal, TypeVar

import httpx

from kling_studio.services.fal_errors import (
    FalError,
    FalNetworkError,
    FalProtocolError,
    FalRequestCancelledError,
    FalResultExpiredError,
    FalResultNotReadyError,
    detail_text,
    error_for_status,
)
from kling_studio.services.retry import RetryPolicy, retry_after_seconds
from kling_studio.services.sse import SSEError, aiter_events

log = logging.getLogger(__name__)

_E = TypeVar("_E", bound=FalError)

QUEUE_URL_ENV: Final = "KLING_STUDIO_QUEUE_URL"
DEFAULT_QUEUE_URL: Final = "https://queue.fal.run"

IN_QUEUE: Final = "IN_QUEUE"
IN_PROGRESS: Final = "IN_PROGRESS"
COMPLETED: Final = "COMPLETED"
QueueState = Literal["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]
CancelOutcome = Literal["CANCELLATION_REQUESTED", "ALREADY_COMPLETED", "NOT_FOUND", "OK"]
_STATES: Final = (IN_QUEUE, IN_PROGRESS, COMPLETED)
_CANCEL_OUTCOMES: Final = ("CANCELLATION_REQUESTED", "ALREADY_COMPLETED", "NOT_FOUND", "OK")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_MODEL_ID = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
_CONNECT_PHASE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
# fal pings the status stream every 15 s; three missed pings mean the stream is dead.
_STREAM_READ_TIMEOUT = 50.0


def queue_url_from_env() -> str:
    """The queue base URL: env ``KLING_STUDIO_QUEUE_URL`` (a proxy, the simulator) or fal's own host."""
    value = os.environ.get(QUEUE_URL_ENV, "").strip()
    return (value or DEFAULT_QUEUE_URL).rstrip("/")


@dataclass(frozen=True)
class SubmitReceipt:
    """What fal answered to a submit: the request id and the URLs to follow it with.

    Persist it at once (``to_dict``/``from_dict``): the request id is the only handle on a paid job.

    Attributes:
        request_id: fal's id for the request.
        status_url: Where its status is polled (``…/requests/{id}/status``).
        response_url: Where its result is fetched.
        cancel_url: Where it is cancelled.
        queue_position: The position fal reported at submit time (0 = next), if any.
        fal_request_id: The ``x-fal-request-id`` header of the submit answer, if any.
        model_id: The model the job was submitted to.
    """

    request_id: str
    status_url: str
    response_url: str
    cancel_url: str
    queue_position: int | None = None
    fal_request_id: str | None = None
    model_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SubmitReceipt:
        """Rebuild a receipt saved with :meth:`to_dict`.

        Raises:
            ValueError: A required field is missing or has the wrong type.
        """
        values: dict[str, Any] = {}
        for name in ("request_id", "status_url", "response_url", "cancel_url"):
            value = data.get(name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"The saved fal receipt has no usable {name!r}; it cannot be followed.")
            values[name] = value
        position = data.get("queue_position")
        values["queue_position"] = position if _is_count(position) else None
        for name in ("fal_request_id", "model_id"):
            value = data.get(name)
            values[name] = value if isinstance(value, str) else None
        return cls(**values)


@dataclass(frozen=True)
class QueueStatus:
    """One status report of a fal request.

    Attributes:
        state: ``IN_QUEUE``, ``IN_PROGRESS`` or ``COMPLETED``.
        queue_position: 0-based position while queued, else None.
        logs: fal's log entries so far (``{message, level, source, timestamp}``).
        error: Why a COMPLETED request failed, if it did.
        error_type: fal's kind of failure, if it said.
        metrics: fal's metrics on completion, e.g. ``{"inference_time": 41.2}``.
    """

    state: QueueState
    queue_position: int | None = None
    logs: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    error_type: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        """True once fal is done with the request (successfully or not)."""
        return self.state == COMPLETED


class _StreamFailed(Exception):
    """The status stream could not be used; the caller falls back to polling."""


class FalQueueClient:
    """Talks to fal's queue (or anything speaking its protocol) through the owner's ``httpx.AsyncClient``.

    Args:
        http: The shared client; its owner closes it.
        queue_url: The queue base URL (see :func:`queue_url_from_env`).
        key: The fal key (``key_id:key_secret``), or None to send none.
        retry: Backoff policy for GETs and cancel (never for submit).
        poll_interval: First seconds between polls when the status stream is unavailable.
        max_poll_interval: Longest seconds between polls while nothing changes.
        stream_read_timeout: Seconds of silence after which the status stream counts as dead.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        queue_url: str,
        key: str | None,
        retry: RetryPolicy | None = None,
        poll_interval: float = 1.0,
        max_poll_interval: float = 5.0,
        stream_read_timeout: float = _STREAM_READ_TIMEOUT,
    ) -> None:
        self._http = http
        self._queue_url = queue_url.rstrip("/")
        self._key = key or None
        self._retry = retry or RetryPolicy()
        self._poll_interval = poll_interval
        self._max_poll_interval = max(poll_interval, max_poll_interval)
        self._stream_read_timeout = stream_read_timeout

    def __repr__(self) -> str:
        return f"FalQueueClient(queue_url={self._queue_url!r}, key={'set' if self._key else 'none'})"

    @property
    def queue_url(self) -> str:
        """The queue base URL requests go to."""
        return self._queue_url

    # -- the four calls -------------------------------------------------------------------------------

    async def submit(self, model_id: str, arguments: dict[str, Any]) -> SubmitReceipt:
        """Send a job to fal's queue. Never retried: a second POST could be charged twice.

        Raises:
            ValueError: ``model_id`` is not a model path such as ``fal-ai/kling-video/v3/4k/text-to-video``.
            FalError: A typed subclass for each failure; a :class:`FalNetworkError` or
                :class:`FalProtocolError` after the request was sent means it *may* have been submitted.
        """
        if not _MODEL_ID.match(model_id) or ".." in model_id:
            raise ValueError(
                f"{model_id!r} is not a fal model id such as 'fal-ai/kling-video/v3/4k/text-to-video'."
            )
        action = "submitting the job"
        response = await self._send(
            "POST", f"{self._queue_url}/{model_id}", action=action, retry=False, json=arguments
        )
        header_id = response.headers.get("x-fal-request-id")
        if not response.is_success:
            raise self._error(response, action)
        body = self._json(response, action, maybe_submitted=True)
        request_id = body.get("request_id") if isinstance(body, dict) else None
        if not isinstance(request_id, str) or not _REQUEST_ID.match(request_id):
            raise self._protect(
                FalProtocolError(
                    "fal accepted the job but its answer has no usable request id, so Kling Studio "
                    "cannot follow it. The job may have been submitted (and charged): check your fal "
                    "dashboard"
                    + (f" for request {header_id}" if header_id else "")
                    + " before sending it again.",
                    status=response.status_code,
                    fal_request_id=header_id,
                )
            )
        assert isinstance(body, dict)
        fallback = f"{self._queue_url}/{_app_path(model_id)}/requests/{request_id}"
        position = body.get("queue_position")
        return SubmitReceipt(
            request_id=request_id,
            status_url=_url_or(body.get("status_url"), f"{fallback}/status"),
            response_url=_url_or(body.get("response_url"), fallback),
            cancel_url=_url_or(body.get("cancel_url"), f"{fallback}/cancel"),
            queue_position=position if _is_count(position) else None,
            fal_request_id=header_id,
            model_id=model_id,
        )

    async def status(
        self, receipt_or_urls: SubmitReceipt | Mapping[str, Any], *, logs: bool = True
    ) -> QueueStatus:
        """Ask fal once (with retries) where a request stands.

        Raises:
            FalError: A typed subclass; e.g. :class:`FalRequestNotFoundError` when fal does not know the id.
        """
        receipt = _as_receipt(receipt_or_urls)
        action = "checking the job's status"
        response = await self._send(
            "GET",
            receipt.status_url,
            action=action,
            params={"logs": "1"} if logs else None,
            request_id=receipt.request_id,
        )
        if not response.is_success:
            raise self._error(response, action, receipt.request_id)
        return self._parse_status(self._json(response, action, receipt.request_id), receipt.request_id)

    async def follow(
        self, receipt: SubmitReceipt | Mapping[str, Any], *, logs: bool = True
    ) -> AsyncIterator[QueueStatus]:
        """Each change of a request's status until it is COMPLETED (the last item yielded).

        Uses fal's SSE status stream; when the stream cannot be opened, breaks or ends early, polls the
        status URL instead, slowing down while nothing changes.

        Raises:
            FalError: From polling (after its retries), or a 401/403 on the stream.
        """
        receipt = _as_receipt(receipt)
        last: QueueStatus | None = None
        try:
            async with contextlib.aclosing(self._stream(receipt, logs)) as statuses:
                async for current in statuses:
                    if current != last:
                        last = current
                        yield current
                    if current.completed:
                        return
            log.info("fal status stream for %s ended before COMPLETED; polling instead", receipt.request_id)
        except _StreamFailed as exc:
            log.info("fal status stream for %s failed (%s); polling instead", receipt.request_id, exc)
        interval = self._poll_interval
        while True:
            current = await self.status(receipt, logs=logs)
            if current != last:
                last = current
                interval = self._poll_interval
                yield current
            else:
                interval = min(interval * 1.5, self._max_poll_interval)
            if current.completed:
                return
            await asyncio.sleep(interval)

    async def result(self, receipt: SubmitReceipt | Mapping[str, Any]) -> dict[str, Any]:
        """The model's output for a COMPLETED request, e.g. ``{"video": {"url", "file_size", ...}}``.

        Raises:
            FalResultExpiredError: fal no longer keeps the result.
            FalResultNotReadyError: The request has not completed yet.
            FalRequestCancelledError: The request was cancelled.
            FalError: Another typed failure (the model's own 422/5xx included).
        """
        receipt = _as_receipt(receipt)
        action = "fetching the result"
        rid = receipt.request_id
        response = await self._send("GET", receipt.response_url, action=action, request_id=rid)
        if response.is_success:
            body = self._json(response, action, rid)
            if not isinstance(body, dict):
                raise self._protect(
                    FalProtocolError(
                        f"fal's result for request {rid} is not a JSON object, so Kling Studio cannot find "
                        "the video in it. Look the request up in your fal dashboard.",
                        status=response.status_code,
                        request_id=rid,
                        fal_request_id=response.headers.get("x-fal-request-id"),
                    )
                )
            return body
        error = self._error(response, action, rid)
        facts = _facts(error)
        text = detail_text(error.detail).lower()
        if response.status_code == 404:
            error = FalResultExpiredError(
                f"fal no longer has the result of request {rid}: fal keeps results for 1 hour after the job "
                "finishes (only 6 minutes for large results). The video cannot be fetched any more; "
                "quote the request id to fal support if it was charged.",
                **facts,
            )
        elif response.status_code == 400 and (error.error_type == "request_cancelled" or "cancel" in text):
            error = FalRequestCancelledError(
                f"Request {rid} was cancelled before it finished, so it has no video.", **facts
            )
        elif response.status_code == 400 and "progress" in text:
            error = FalResultNotReadyError(
                f"Request {rid} has not finished yet; Kling Studio fetches the result once fal says "
                "it is done.",
                **facts,
            )
        raise self._protect(error)

    async def cancel(self, receipt: SubmitReceipt | Mapping[str, Any]) -> CancelOutcome:
        """Ask fal to cancel a request; returns fal's answer.

        ``CANCELLATION_REQUESTED``: it will stop (a request already running may still finish and be charged);
        ``ALREADY_COMPLETED``: too late; ``NOT_FOUND``: fal does not know it; ``OK``: cancelled.

        Raises:
            FalError: A typed failure other than those answers.
        """
        receipt = _as_receipt(receipt)
        action = "cancelling the job"
        response = await self._send("PUT", receipt.cancel_url, action=action, request_id=receipt.request_id)
        body: Any = None
        with contextlib.suppress(ValueError, RecursionError):
            body = response.json()
        outcome = body.get("status") if isinstance(body, dict) else None
        if outcome in _CANCEL_OUTCOMES and (response.is_success or response.status_code in (400, 404, 409)):
            return outcome  # type: ignore[return-value]
        if response.status_code == 404:
            return "NOT_FOUND"
        if response.is_success:
            return "OK"
        raise self._error(response, action, receipt.request_id)

    # -- plumbing -------------------------------------------------------------------------------------

    def _headers(self, accept: str = "application/json") -> dict[str, str]:
        headers = {"Accept": accept}
        if self._key:
            headers["Authorization"] = f"Key {self._key}"
        return headers

    async def _send(
        self,
        method: str,
        url: str,
        *,
        action: str,
        retry: bool = True,
        request_id: str | None = None,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """One request, retried per the policy when ``retry``; transport failures become FalNetworkError."""
        budget = self._retry.start()
        while True:
            try:
                response = await self._http.request(
                    method, url, json=json, params=params, headers=self._headers()
                )
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                raise self._protect(
                    FalProtocolError(
                        f"fal gave Kling Studio an address it cannot use while {action} ({exc}). "
                        "Check the queue address setting (KLING_STUDIO_QUEUE_URL).",
                        request_id=request_id,
                    )
                ) from exc
            except httpx.DecodingError as exc:
                raise self._protect(
                    FalProtocolError(
                        f"fal's answer could not be decoded while {action} ({exc}).", request_id=request_id
                    )
                ) from exc
            except httpx.TransportError as exc:
                reached = not isinstance(exc, _CONNECT_PHASE)
                delay = budget.next_delay() if retry else None
                if delay is not None:
                    log.info(
                        "fal %s %s failed (%s); retrying in %.2f s", method, _loggable(url), _name(exc), delay
                    )
                    await asyncio.sleep(delay)
                    continue
                raise self._network_error(exc, action, reached=reached, request_id=request_id) from exc
            log.debug("fal %s %s -> %d", method, _loggable(url), response.status_code)
            if retry and response.status_code in self._retry.statuses:
                delay = budget.next_delay(retry_after_seconds(response))
                if delay is not None:
                    log.info(
                        "fal %s %s answered %d; retrying in %.2f s",
                        method,
                        _loggable(url),
                        response.status_code,
                        delay,
                    )
                    await asyncio.sleep(delay)
                    continue
            return response

    async def _stream(self, receipt: SubmitReceipt, logs: bool) -> AsyncIterator[QueueStatus]:
        """Statuses from the SSE stream; raises _StreamFailed for anything polling could do better."""
        url = _stream_url(receipt.status_url)
        timeout = httpx.Timeout(self._stream_read_timeout, connect=min(10.0, self._stream_read_timeout))
        action = "following the job's status"
        try:
            async with self._http.stream(
                "GET",
                url,
                params={"logs": "1"} if logs else None,
                headers=self._headers("text/event-stream"),
                timeout=timeout,
            ) as response:
                if response.status_code in (401, 403):
                    await response.aread()
                    raise self._error(response, action, receipt.request_id)
                if response.status_code != 200:
                    raise _StreamFailed(f"HTTP {response.status_code}")
                content_type = response.headers.get("content-type", "")
                if not content_type.startswith("text/event-stream"):
                    raise _StreamFailed(f"content type {content_type!r}")
                async for event in aiter_events(response.aiter_raw()):
                    try:  # like fal's own client, every event's data is a status, whatever its type
                        body = json.loads(event.data)
                    except (ValueError, RecursionError) as exc:
                        raise _StreamFailed("an event that is not JSON") from exc
                    try:
                        yield self._parse_status(body, receipt.request_id)
                    except FalProtocolError as exc:
                        raise _StreamFailed(str(exc)) from exc
        except (httpx.HTTPError, httpx.InvalidURL, SSEError) as exc:
            raise _StreamFailed(_name(exc)) from exc

    def _json(
        self,
        response: httpx.Response,
        action: str,
        request_id: str | None = None,
        *,
        maybe_submitted: bool = False,
    ) -> Any:
        try:
            return response.json()
        except (ValueError, RecursionError) as exc:
            hint = (
                " The job may have been submitted (and charged): check your fal dashboard before "
                "sending it again."
                if maybe_submitted
                else " Try again; if it keeps happening, check the queue address setting "
                "(KLING_STUDIO_QUEUE_URL)."
            )
            raise self._protect(
                FalProtocolError(
                    f"fal's answer while {action} is not valid JSON (HTTP {response.status_code}).{hint}",
                    status=response.status_code,
                    request_id=request_id,
                    fal_request_id=response.headers.get("x-fal-request-id"),
                )
            ) from exc

    def _parse_status(self, body: Any, request_id: str) -> QueueStatus:
        state = body.get("status") if isinstance(body, dict) else None
        if state not in _STATES:
            raise self._protect(
                FalProtocolError(
                    f"fal's status answer for request {request_id} has no known state "
                    f"(expected one of {', '.join(_STATES)}). Try again in a moment.",
                    request_id=request_id,
                )
            )
        assert isinstance(body, dict)
        position = body.get("queue_position")
        raw_logs = body.get("logs")
        error = body.get("error")
        error_type = body.get("error_type")
        metrics = body.get("metrics")
        return QueueStatus(
            state=state,
            queue_position=position if _is_count(position) else None,
            logs=[entry for entry in raw_logs if isinstance(entry, dict)]
            if isinstance(raw_logs, list)
            else [],
            error=self._scrub(error if isinstance(error, str) else detail_text(error)) or None,
            error_type=error_type if isinstance(error_type, str) else None,
            metrics=metrics if isinstance(metrics, dict) else {},
        )

    def _error(self, response: httpx.Response, action: str, request_id: str | None = None) -> FalError:
        body: Any = None
        with contextlib.suppress(ValueError, RecursionError):
            body = response.json()
        if body is None and response.content:
            body = {"detail": response.text[:300]}
        error = error_for_status(
            response.status_code,
            body,
            error_type_header=response.headers.get("x-fal-error-type"),
            retryable_header=response.headers.get("x-fal-retryable"),
            action=action,
            request_id=request_id,
            fal_request_id=response.headers.get("x-fal-request-id"),
            key_sent=self._key is not None,
        )
        return self._protect(error)

    def _network_error(
        self, exc: httpx.TransportError, action: str, *, reached: bool, request_id: str | None
    ) -> FalNetworkError:
        host = _host(exc)
        if action == "submitting the job":
            if reached:
                message = (
                    f"The connection to fal ({host}) broke while submitting the job ({_name(exc)}). "
                    "The job may have been submitted (and charged): check your fal dashboard before "
                    "sending it again."
                )
            else:
                message = (
                    f"Kling Studio could not reach fal ({host}) to submit the job ({_name(exc)}); "
                    "nothing was sent or charged. Check your internet connection and try again."
                )
        elif reached:
            message = (
                f"The connection to fal ({host}) kept breaking while {action} ({_name(exc)}). The job itself "
                "carries on at fal; check your internet connection, and Kling Studio will pick it up again."
            )
        else:
            message = (
                f"Kling Studio could not reach fal ({host}) while {action} ({_name(exc)}). The job itself "
                "carries on at fal; check your internet connection, and Kling Studio will pick it up again."
            )
        return self._protect(FalNetworkError(message, may_have_reached_fal=reached, request_id=request_id))

    def _scrub(self, text: str) -> str:
        """``text`` without the key or its secret half (in case a server echoes it back)."""
        if not self._key or not text:
            return text
        text = text.replace(self._key, "***")
        secret = self._key.partition(":")[2]
        return text.replace(secret, "***") if len(secret) >= 6 else text

    def _protect(self, error: _E) -> _E:
        """Scrub the key out of an error's message and detail before it leaves the client."""
        if not self._key:
            return error
        error.message = self._scrub(error.message)
        error.args = (error.message,)
        if error.detail is not None:
            dumped = json.dumps(error.detail, default=str)
            scrubbed = self._scrub(dumped)
            if scrubbed != dumped:
                error.detail = json.loads(scrubbed)
        return error


def _as_receipt(value: SubmitReceipt | Mapping[str, Any]) -> SubmitReceipt:
    return value if isinstance(value, SubmitReceipt) else SubmitReceipt.from_dict(value)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31


def _url_or(value: Any, fallback: str) -> str:
    """A URL fal returned, if it is a plausible http(s) URL; else the one built from the request id."""
    if isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) < 2048:
        return value
    return fallback


def _app_path(model_id: str) -> str:
    """``owner/app`` of a model id: status and result URLs use only those two parts."""
    return "/".join(model_id.split("/")[:2])


def _stream_url(status_url: str) -> str:
    url = httpx.URL(status_url)
    return str(url.copy_with(path=url.path.rstrip("/") + "/stream"))


def _loggable(url: str) -> str:
    """A URL for a log line: without its query string."""
    return url.split("?", 1)[0]


def _host(exc: httpx.TransportError) -> str:
    try:
        return exc.request.url.host or "the queue address"
    except RuntimeError:
        return "the queue address"


def _name(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _facts(error: FalError) -> dict[str, Any]:
    return {
        "status": error.status,
        "detail": error.detail,
        "request_id": error.request_id,
        "fal_request_id": error.fal_request_id,
        "error_type": error.error_type,
    }

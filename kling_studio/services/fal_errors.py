"""What can go wrong talking to fal, as types with messages for people.

Every error keeps fal's HTTP status, its ``detail``, the request id it is about and the ``x-fal-request-id``
header, so the log has the facts while the UI shows only the message. No message ever contains the key.

Hierarchy::

    FalError
    ├── FalAuthError                 401: the key was refused
    ├── FalBalanceLockedError        403: balance exhausted (or an admin lock)
    ├── FalValidationError           422: the input was refused, with per-field problems
    ├── FalUnavailableError          5xx: fal's infrastructure failed; nothing was charged
    │   └── FalRateLimitedError      429: fal asked us to slow down, and kept asking
    ├── FalRequestNotFoundError      404 on status/cancel: fal does not know this request
    │   └── FalResultExpiredError    404 on the result: it is gone (fal keeps results 1 h, or 6 min)
    ├── FalResultNotReadyError       the result was asked for before the request completed
    ├── FalRequestCancelledError     the request was cancelled, so there is no result
    ├── FalNetworkError              no answer: the connection failed or dropped
    └── FalProtocolError             an answer we cannot read (malformed or unexpected body)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kling_studio.core.request import fal_field_to_path

TOP_UP_URL = "https://fal.ai/dashboard/billing"
KEYS_URL = "https://fal.ai/dashboard/keys"
_DETAIL_LIMIT = 300


class FalError(Exception):
    """Base of every error from the fal queue client.

    Attributes:
        status: The HTTP status fal answered with, or None when there was no answer.
        detail: fal's ``detail`` (a string, or the raw list for validation errors), or None.
        request_id: The fal request id the call was about, when known.
        fal_request_id: The ``x-fal-request-id`` response header, when fal sent one.
        error_type: fal's ``error_type`` (body or ``X-Fal-Error-Type`` header), when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        detail: Any = None,
        request_id: str | None = None,
        fal_request_id: str | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.detail = detail
        self.request_id = request_id
        self.fal_request_id = fal_request_id
        self.error_type = error_type

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, request_id={self.request_id!r}, {self.message!r})"
        )


class FalAuthError(FalError):
    """fal refused the key (401): missing, malformed or unknown."""


class FalBalanceLockedError(FalError):
    """fal locked the account (403), usually because the balance is exhausted.

    Attributes:
        top_up_url: Where the user adds credit.
        admin_lock: True when fal locked the account for another reason than the balance.
    """

    top_up_url = TOP_UP_URL

    def __init__(self, message: str, *, admin_lock: bool = False, **facts: Any) -> None:
        super().__init__(message, **facts)
        self.admin_lock = admin_lock


@dataclass(frozen=True)
class FieldProblem:
    """One refused input field, named by Kling Studio's field path.

    Attributes:
        field_path: Our path, e.g. ``shots[1].prompt``, ``cfg_scale``, or ``""`` for the input as a whole.
        message: fal's explanation, e.g. ``"String should have at most 2500 characters"``.
        fal_type: fal's machine-readable kind, e.g. ``"string_too_long"``, when it sent one.
    """

    field_path: str
    message: str
    fal_type: str | None = None

    def __str__(self) -> str:
        return f"{self.field_path or 'input'}: {self.message}"


class FalValidationError(FalError):
    """fal refused the input (422); ``problems`` says which fields and why.

    Attributes:
        problems: One entry per refused field, mapped to our field paths.
        retryable: fal's ``X-Fal-Retryable`` header, when sent.
    """

    def __init__(
        self, message: str, *, problems: Sequence[FieldProblem], retryable: bool | None = None, **facts: Any
    ) -> None:
        super().__init__(message, **facts)
        self.problems = list(problems)
        self.retryable = retryable


class FalUnavailableError(FalError):
    """fal's infrastructure failed (5xx) and kept failing; server errors are never charged."""


class FalRateLimitedError(FalUnavailableError):
    """fal answered 429 (too many requests) until we stopped trying."""


class FalRequestNotFoundError(FalError):
    """fal does not know the request id (404)."""


class FalResultExpiredError(FalRequestNotFoundError):
    """The result is no longer kept by fal (1 hour after completion, or 6 minutes for large results)."""


class FalResultNotReadyError(FalError):
    """The result was fetched before the request completed."""


class FalRequestCancelledError(FalError):
    """The request was cancelled before it finished, so it has no result."""


class FalNetworkError(FalError):
    """No usable answer arrived: the connection failed, timed out or dropped.

    Attributes:
        may_have_reached_fal: False only when the connection never opened, so fal cannot have seen it.
    """

    def __init__(self, message: str, *, may_have_reached_fal: bool, **facts: Any) -> None:
        super().__init__(message, **facts)
        self.may_have_reached_fal = may_have_reached_fal


class FalProtocolError(FalError):
    """fal (or whatever answered at the queue address) sent a body we cannot read."""


# -- building errors from answers ------------------------------------------------------------------------


def detail_text(detail: Any) -> str:
    """fal's ``detail`` as one short line of text, whatever its shape."""
    if detail is None:
        return ""
    if isinstance(detail, str):
        text = detail
    elif isinstance(detail, list):
        text = "; ".join(detail_text(item.get("msg") if isinstance(item, dict) else item) for item in detail)
    elif isinstance(detail, dict):
        text = detail_text(detail.get("msg", detail.get("message", "")))
    else:
        text = str(detail)
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"


def field_problems(detail: Any) -> list[FieldProblem]:
    """fal's 422 ``detail`` list mapped to our field paths; tolerates any shape without raising."""
    if isinstance(detail, str):
        return [FieldProblem("", detail_text(detail))]
    if not isinstance(detail, list):
        return [FieldProblem("", detail_text(detail) or "fal refused the input without saying why.")]
    problems: list[FieldProblem] = []
    for item in detail:
        if not isinstance(item, dict):
            problems.append(FieldProblem("", detail_text(item)))
            continue
        loc = item.get("loc")
        parts = [p for p in loc if isinstance(p, str | int)] if isinstance(loc, list) else []
        fal_type = item.get("type") if isinstance(item.get("type"), str) else None
        message = detail_text(item.get("msg")) or "is not accepted"
        problems.append(FieldProblem(fal_field_to_path(parts), message, fal_type))
    # An empty list would read "fal refused the input: ." with nothing to fix.
    return problems or [FieldProblem("", "no reason given")]


def error_for_status(
    status: int,
    body: Any,
    *,
    error_type_header: str | None = None,
    retryable_header: str | None = None,
    action: str,
    request_id: str | None = None,
    fal_request_id: str | None = None,
    key_sent: bool = True,
) -> FalError:
    """The typed error for an unsuccessful fal answer.

    Args:
        status: The HTTP status.
        body: The parsed JSON body (any shape), or None when it was not JSON.
        error_type_header: The ``X-Fal-Error-Type`` header.
        retryable_header: The ``X-Fal-Retryable`` header.
        action: What we were doing, in words that fit "while ...": ``"submitting the job"``.
        request_id: The fal request id, when known.
        fal_request_id: The ``x-fal-request-id`` header.
        key_sent: Whether a key was sent at all (changes the 401 message).
    """
    detail = body.get("detail") if isinstance(body, dict) else body
    body_type = body.get("error_type") if isinstance(body, dict) else None
    error_type = body_type if isinstance(body_type, str) else error_type_header
    text = detail_text(detail)
    facts: dict[str, Any] = {
        "status": status,
        "detail": detail,
        "request_id": request_id,
        "fal_request_id": fal_request_id,
        "error_type": error_type,
    }
    if status == 401:
        if not key_sent:
            message = (
                "No fal key is set, so fal refused the request. Add your key in Settings "
                f"(create one at {KEYS_URL})."
            )
        else:
            message = (
                f"Your fal key was refused ({text or 'not accepted'}). Check the key in Settings: "
                f"it looks like key_id:key_secret, and you can create a new one at {KEYS_URL}."
            )
        return FalAuthError(message, **facts)
    if status == 403:
        if "admin lock" in text.lower():
            message = (
                "Your fal account is locked by fal (admin lock), so nothing can be generated. "
                "Contact fal support to unlock it."
            )
            return FalBalanceLockedError(message, admin_lock=True, **facts)
        message = (
            f"Your fal balance is empty, so fal locked the account while {action}. "
            f"Top up at {TOP_UP_URL}, then try again."
        )
        return FalBalanceLockedError(message, **facts)
    if status == 422:
        problems = field_problems(detail)
        listed = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        message = f"fal refused the input: {listed}{more}. Fix these fields and submit again."
        retryable = None if retryable_header is None else retryable_header.strip().lower() == "true"
        return FalValidationError(message, problems=problems, retryable=retryable, **facts)
    if status == 429:
        message = (
            f"fal is rate-limiting requests and kept asking us to slow down while {action}. "
            "Nothing was charged for this; wait a minute and try again."
        )
        return FalRateLimitedError(message, **facts)
    if status >= 500:
        kind = f" ({error_type})" if error_type else ""
        message = (
            f"fal's servers failed{kind} while {action}: {text or f'HTTP {status}'}. "
            "Server errors are never charged; try again in a few minutes."
        )
        return FalUnavailableError(message, **facts)
    if status == 404:
        message = (
            f"fal does not know this request ({text or 'not found'}) while {action}. "
            "It may have expired; check your fal dashboard for it."
        )
        return FalRequestNotFoundError(message, **facts)
    message = f"fal answered HTTP {status} while {action}: {text or 'no explanation given'}."
    return FalError(message, **facts)

"""When to try an HTTP request again, and how long to wait first: exponential backoff with full jitter.

Shared by the fal queue client (status, result and cancel; never the submit POST) and the downloader.
``Retry-After`` from the server wins over our own backoff, but never past the policy's time budget.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failed request is tried again.

    Attributes:
        attempts: Tries in all, the first one included (1 means never retry).
        base_delay: Seconds of the first backoff window; each later window doubles.
        max_delay: Longest backoff window in seconds.
        max_elapsed: Seconds after the first try past which no new try starts.
        max_retry_after: Longest ``Retry-After`` we are willing to wait; a longer one ends the retries.
        statuses: HTTP statuses worth another try (connection errors always are).
    """

    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_elapsed: float = 120.0
    max_retry_after: float = 60.0
    statuses: frozenset[int] = RETRYABLE_STATUSES

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based): uniform in ``[0, window]``."""
        window = min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1)))
        return random.uniform(0.0, window)

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """The wait before the next try, or None when the policy says to give up.

        Args:
            attempt: How many tries have failed so far.
            retry_after: The server's ``Retry-After`` in seconds, if it sent one.
        """
        if attempt >= self.attempts:
            return None
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            return max(retry_after, 0.0)
        return self.backoff(attempt)

    def start(self) -> RetryBudget:
        """A fresh budget for one logical request (one call of ``status()``, one download...)."""
        return RetryBudget(self, time.monotonic())


@dataclass
class RetryBudget:
    """The tries and time left for one logical request under a :class:`RetryPolicy`."""

    policy: RetryPolicy
    started: float
    failures: int = 0

    def next_delay(self, retry_after: float | None = None) -> float | None:
        """Count one failure; the seconds to wait before trying again, or None when out of tries or time."""
        self.failures += 1
        delay = self.policy.delay(self.failures, retry_after)
        if delay is None:
            return None
        if time.monotonic() + delay - self.started > self.policy.max_elapsed:
            return None
        return delay

    def made_progress(self) -> None:
        """Forget earlier failures: the last try moved forward (a download that resumed and got bytes)."""
        self.failures = 0
        self.started = time.monotonic()


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The response's ``Retry-After`` in seconds (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    if seconds != seconds or seconds < 0:  # NaN or in the past
        return 0.0
    return seconds

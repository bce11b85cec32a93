"""What a generation job is: its states, the moves allowed between them, and the record the job store keeps.

The life of a job::

    submitting ──► queued ──► running ──► completed ──► downloading ──► downloaded
        │            │           │            │  ▲            │
        │            └───────────┴────────────┤  └────────────┘  (a failed download waits for another try)
        ▼                                     ▼
    maybe_submitted          failed / cancelled / expired

``submitting`` is written *before* the POST to fal; a crash before the request id is saved leaves a job that
may or may not be on fal's side: it becomes ``maybe_submitted`` and is never sent again by itself (that could
pay twice).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from kling_studio.core.errors import UserError


class JobState(StrEnum):
    """Where a job is in its life; the values are what the database and ``jobs --json`` show."""

    SUBMITTING = "submitting"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    DOWNLOADING = "downloading"
    DOWNLOADED = "downloaded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    MAYBE_SUBMITTED = "maybe_submitted"

    @property
    def is_terminal(self) -> bool:
        """True when nothing more will happen to the job."""
        return not ALLOWED_TRANSITIONS[self]

    @property
    def label(self) -> str:
        """The state in words for people (``maybe_submitted`` → ``may have been submitted``)."""
        return _LABELS[self]


_S = JobState

#: The one table of legal moves. Staying in the same state (a new queue position, more bytes) is always
#: allowed for non-terminal states and is not listed here.
ALLOWED_TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    _S.SUBMITTING: frozenset(
        {_S.QUEUED, _S.RUNNING, _S.COMPLETED, _S.FAILED, _S.CANCELLED, _S.MAYBE_SUBMITTED}
    ),
    # The user may attach the request id found on fal's dashboard, or settle the job by hand.
    _S.MAYBE_SUBMITTED: frozenset({_S.QUEUED, _S.RUNNING, _S.COMPLETED, _S.FAILED, _S.CANCELLED}),
    _S.QUEUED: frozenset({_S.RUNNING, _S.COMPLETED, _S.FAILED, _S.CANCELLED, _S.EXPIRED}),
    _S.RUNNING: frozenset({_S.COMPLETED, _S.FAILED, _S.CANCELLED, _S.EXPIRED}),
    _S.COMPLETED: frozenset({_S.DOWNLOADING, _S.DOWNLOADED, _S.FAILED, _S.EXPIRED}),
    # Back to completed: the download broke, but the result is paid for and fal still holds it: retry.
    _S.DOWNLOADING: frozenset({_S.DOWNLOADED, _S.COMPLETED, _S.FAILED, _S.EXPIRED}),
    _S.DOWNLOADED: frozenset(),
    _S.FAILED: frozenset(),
    _S.CANCELLED: frozenset(),
    _S.EXPIRED: frozenset(),
}

#: States the runner must carry on with after a restart (each has a request id to follow).
UNFINISHED_STATES: frozenset[JobState] = frozenset({_S.QUEUED, _S.RUNNING, _S.COMPLETED, _S.DOWNLOADING})

_LABELS = {
    _S.SUBMITTING: "submitting",
    _S.QUEUED: "queued",
    _S.RUNNING: "running",
    _S.COMPLETED: "completed, not downloaded yet",
    _S.DOWNLOADING: "downloading",
    _S.DOWNLOADED: "downloaded",
    _S.FAILED: "failed",
    _S.CANCELLED: "cancelled",
    _S.EXPIRED: "expired on fal before it was downloaded",
    _S.MAYBE_SUBMITTED: "may have been submitted — check your fal dashboard",
}


class ChargeStatus(StrEnum):
    """What the ledger believes about a job's cost."""

    RESERVED = "reserved"  # recorded at submit; counts toward budgets until the job settles
    CHARGED = "charged"  # the generation ran
    MAYBE_CHARGED = "maybe_charged"  # e.g. a 422 (fal may charge it) or a submit that may have gone through
    REFUNDED = "refunded"  # fal never charged it (5xx, cancelled while queued, never sent)

    @property
    def counts(self) -> bool:
        """True when the amount counts toward spend and budgets."""
        return self is not ChargeStatus.REFUNDED


class JobStoreError(UserError):
    """Base class for job store errors a person can act on."""


class IllegalTransitionError(JobStoreError):
    """A state change the job's life does not allow (e.g. a downloaded job going back to running)."""

    def __init__(self, job_id: str, current: JobState, requested: JobState) -> None:
        self.job_id = job_id
        self.current = current
        self.requested = requested
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[current])) or "nothing (it is finished)"
        super().__init__(
            f"Job {job_id} is {current.label}; it cannot become {requested.value}. "
            f"From {current.value} it can become: {allowed}."
        )


class JobNotFoundError(JobStoreError):
    """No job has the id (or id prefix) given."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"No job with id {job_id!r}. `kling-studio jobs` lists the jobs and their ids.")


class AmbiguousJobIdError(JobStoreError):
    """An id prefix matches more than one job."""

    def __init__(self, prefix: str, matches: list[str]) -> None:
        self.prefix = prefix
        self.matches = matches
        shown = ", ".join(matches[:5]) + (", …" if len(matches) > 5 else "")
        super().__init__(f"{prefix!r} matches several jobs ({shown}); type more of the id.")


def check_transition(job_id: str, current: JobState, requested: JobState) -> None:
    """Raise :class:`IllegalTransitionError` unless ``current → requested`` is allowed.

    Staying in the same non-terminal state is allowed (progress updates).
    """
    if requested == current and not current.is_terminal:
        return
    if requested not in ALLOWED_TRANSITIONS[current]:
        raise IllegalTransitionError(job_id, current, requested)


@dataclass(frozen=True)
class NewJob:
    """What the caller knows before the POST: enough to send it again by hand and to price it.

    Attributes:
        project_name: the project's name as the user typed it.
        model_id: the fal endpoint, e.g. ``fal-ai/kling-video/v3/4k/text-to-video``.
        tier: the price tier (``4k``, ``pro``, ``standard``).
        input: the exact body that will be POSTed to fal.
        estimated_cost: the price shown to the user, in ``currency``.
        simulated: sent to the built-in simulator; nothing is charged and it never counts as real spend.
        project_path: the project file, if saved.
        project_slug: the outputs folder name; derived from ``project_name`` when not given.
        origin_job_id: the job this one retries, if any.
        references: the reference images in ``input``, as
            :func:`~kling_studio.core.references.provenance_entries` lists them (sha256, name, URL, use).
    """

    project_name: str
    model_id: str
    tier: str
    input: dict[str, Any]
    estimated_cost: Decimal
    currency: str = "USD"
    simulated: bool = False
    project_path: Path | None = None
    project_slug: str | None = None
    origin_job_id: str | None = None
    references: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class JobError:
    """Why a job failed: a short kind (``validation``, ``server``, ``network``…) and words for people."""

    kind: str
    message: str


@dataclass(frozen=True)
class Job:
    """One row of the job store, as of the moment it was read. Timestamps are timezone-aware UTC."""

    id: str
    project_name: str
    project_slug: str
    project_path: Path | None
    model_id: str
    tier: str
    input_json: str
    estimated_cost: Decimal
    currency: str
    state: JobState
    charge: ChargeStatus
    simulated: bool
    attempt: int
    origin_job_id: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None = None
    completed_at: datetime | None = None
    downloaded_at: datetime | None = None
    request_id: str | None = None
    status_url: str | None = None
    response_url: str | None = None
    cancel_url: str | None = None
    queue_position: int | None = None
    logs: tuple[dict[str, Any], ...] = ()
    error: JobError | None = None
    video_url: str | None = None
    file_size: int | None = None
    bytes_downloaded: int = 0
    output_path: Path | None = None
    references: tuple[dict[str, Any], ...] = ()
    change_seq: int = field(default=0, compare=False)

    @property
    def input(self) -> dict[str, Any]:
        """The input that was (or will be) sent, parsed."""
        return json.loads(self.input_json)

    @property
    def is_terminal(self) -> bool:
        """True when nothing more will happen to the job."""
        return self.state.is_terminal

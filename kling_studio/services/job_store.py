"""The durable job store: one SQLite file (WAL) shared by the app and the CLI, with the spend ledger.

Every write is a ``BEGIN IMMEDIATE`` transaction with ``synchronous=FULL``: when a method returns, the change
is on disk, and concurrent writers (threads or processes) take turns. The store is synchronous and quick (a
few ms per call); call it through ``asyncio.to_thread`` from the event loop when a stall matters. Each thread
gets its own connection, so the store can be shared by threads.

Money rules live in :mod:`kling_studio.services.ledger`; the state machine in
:mod:`kling_studio.services.jobs`.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kling_studio.services import ledger as ledger_rows
from kling_studio.services.jobs import (
    UNFINISHED_STATES,
    AmbiguousJobIdError,
    ChargeStatus,
    Job,
    JobError,
    JobNotFoundError,
    JobState,
    JobStoreError,
    NewJob,
    check_transition,
)
from kling_studio.services.ledger import BudgetPolicy, Ledger, parse_amount
from kling_studio.services.migrations import migrate
from kling_studio.services.paths import DATA_DIR_ENV, DataFolderError, slugify

BUSY_TIMEOUT_S = 15.0
MAX_LOG_ENTRIES = 200
MAX_LOG_MESSAGE = 2000
#: A ``submitting`` row whose process is still alive is left alone this long after a restart elsewhere.
SUBMIT_GRACE = timedelta(minutes=10)

_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
_MIN_PREFIX = 4

JobList = list[Job]


class DatabaseDamagedError(JobStoreError):
    """The database file is not a readable SQLite database; it was moved aside, untouched."""

    def __init__(self, path: Path, detail: str, moved_to: Path | None) -> None:
        self.path = path
        self.detail = detail
        self.moved_to = moved_to
        where = (
            f"It was moved, untouched, to {moved_to}; a new empty job database will be made next time."
            if moved_to
            else "It could not be moved aside; move or delete it by hand to start a new one."
        )
        super().__init__(
            f"The job database {path} is damaged ({detail}). {where} Jobs it tracked can still be found on "
            "fal.ai/dashboard (requests)."
        )


def local_now() -> datetime:
    """The current time, timezone-aware, in the computer's local zone (the ledger's notion of "today")."""
    return datetime.now().astimezone()


class JobStore:
    """Jobs and their spend in one SQLite file.

    Args:
        path: the database file (usually :func:`kling_studio.services.paths.database_path`); created if
            missing.
        clock: returns the current time, timezone-aware, in the user's local zone (tests pass a fixed one).

    Raises:
        DatabaseDamagedError: the file is not a readable database (it has been moved aside).
        NewerDatabaseError: a newer Kling Studio wrote it.
        DataFolderError: its folder cannot be created or written.
    """

    def __init__(self, path: Path, *, clock: Callable[[], datetime] = local_now) -> None:
        self.path = Path(path)
        self._clock = clock
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._in_flight: set[str] = set()  # ids this instance is submitting right now
        # close() waits for calls still running on worker threads: closing a connection another thread is
        # using crashes the process (a runner closed mid-call leaves such a thread behind).
        self._usage = threading.Condition()
        self._active = 0
        self._closing = False
        self._open()
        self.ledger = Ledger(self, clock)

    # --- connections and transactions -----------------------------------------------------------------------

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataFolderError(self.path.parent, exc.strerror or str(exc), DATA_DIR_ENV) from exc
        try:
            conn = self._connection()
            conn.execute("PRAGMA journal_mode = WAL")
            problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
            if problems != ["ok"]:
                raise _Damaged("; ".join(problems))
            migrate(conn, self.path)
        except sqlite3.DatabaseError as exc:
            if not _is_damage(exc):
                self.close()
                if isinstance(exc, sqlite3.OperationalError):
                    raise JobStoreError(
                        f"Cannot open the job database {self.path} ({exc}). If another Kling Studio is "
                        f"busy, try again; otherwise check the file's permissions or set {DATA_DIR_ENV}."
                    ) from exc
                raise
            self._move_aside(str(exc), exc)
        except _Damaged as exc:
            self._move_aside(str(exc), exc)
        except BaseException:
            self.close()
            raise

    def _move_aside(self, detail: str, cause: BaseException) -> None:
        self.close()
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        n = 1
        while target.exists():
            target = self.path.with_name(f"{self.path.name}.damaged-{stamp}-{n}")
            n += 1
        try:
            os.rename(self.path, target)
            for suffix in ("-wal", "-shm"):
                side = Path(f"{self.path}{suffix}")
                if side.exists():
                    os.rename(side, Path(f"{target}{suffix}"))
        except OSError:
            raise DatabaseDamagedError(self.path, detail, None) from cause
        raise DatabaseDamagedError(self.path, detail, target) from cause

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA synchronous = FULL")  # the rows guard money: a commit is on disk at return
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` write transaction on this thread's connection, committed when the block ends.

        Joins the transaction already open on this thread, if any.
        """
        with self._in_use():
            conn = self._connection()
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query in the block sees the same committed state."""
        with self._in_use():
            conn = self._connection()
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    @contextmanager
    def _in_use(self) -> Iterator[None]:
        with self._usage:
            self._usage.wait_for(lambda: not self._closing)
            self._active += 1
        try:
            yield
        finally:
            with self._usage:
                self._active -= 1
                self._usage.notify_all()

    def close(self) -> None:
        """Close every connection this store opened (from any thread); a later call opens new ones.

        Waits (up to the busy timeout) for calls still running on other threads to finish first; calls
        arriving meanwhile wait for the close.
        """
        with self._usage:
            self._closing = True
            self._usage.wait_for(lambda: self._active == 0, timeout=BUSY_TIMEOUT_S)
        try:
            with self._connections_lock:
                connections, self._connections = self._connections, []
            for conn in connections:
                conn.close()
            self._local = threading.local()
        finally:
            with self._usage:
                self._closing = False
                self._usage.notify_all()

    def __enter__(self) -> JobStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check_budget(self, spec: NewJob, *, budget: BudgetPolicy | None = None) -> None:
        """Raise :class:`~kling_studio.services.ledger.BudgetExceededError` if ``spec`` would pass a budget now.

        Read-only: for work that must not start when the job cannot be sent (uploading its images).
        :meth:`create_submitting` checks again, atomically with recording the job.
        """
        price = parse_amount(spec.estimated_cost, "estimated cost")
        with self.snapshot() as conn:
            _check_budget(conn, spec, price, budget, self._clock())

    # --- writes ---------------------------------------------------------------------------------------------

    def create_submitting(self, spec: NewJob, *, budget: BudgetPolicy | None = None) -> Job:
        """Record a job as ``submitting`` and its cost in the ledger, before anything is sent.

        The row, the spend line and the budget check are one ``BEGIN IMMEDIATE`` transaction, so concurrent
        submits (threads or processes) cannot together slip past a budget.

        Args:
            spec: what will be sent.
            budget: the limits to check; ``None`` means the saved policy (:meth:`Ledger.budget`),
                ``BudgetPolicy()`` means no limits.

        Raises:
            BudgetExceededError: the job would pass a budget; nothing was recorded.
        """
        price = parse_amount(spec.estimated_cost, "estimated cost")
        input_json = json.dumps(spec.input, ensure_ascii=False)
        references_json = json.dumps(list(spec.references), ensure_ascii=False)
        slug = spec.project_slug or slugify(spec.project_name)
        now = self._clock()
        stamp = _utc_text(now)
        for _ in range(8):
            job_id = secrets.token_hex(4)
            try:
                with self.transaction() as conn:
                    _check_budget(conn, spec, price, budget, now)
                    attempt = 1
                    if spec.origin_job_id:
                        row = conn.execute(
                            "SELECT attempt FROM jobs WHERE id = ?", (spec.origin_job_id,)
                        ).fetchone()
                        if row is None:
                            raise JobNotFoundError(spec.origin_job_id)
                        attempt = row[0] + 1
                    conn.execute(
                        "INSERT INTO jobs(id, project_name, project_slug, project_path, model_id, tier, "
                        "input_json, estimated_cost, currency, state, simulated, attempt, origin_job_id, "
                        "owner_pid, created_at, updated_at, references_json, change_seq) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                        "(SELECT COALESCE(MAX(change_seq), 0) + 1 FROM jobs))",
                        (
                            job_id,
                            spec.project_name,
                            slug,
                            None if spec.project_path is None else str(spec.project_path),
                            spec.model_id,
                            spec.tier,
                            input_json,
                            str(price),
                            spec.currency,
                            JobState.SUBMITTING.value,
                            int(spec.simulated),
                            attempt,
                            spec.origin_job_id,
                            os.getpid(),
                            stamp,
                            stamp,
                            references_json,
                        ),
                    )
                    ledger_rows.record_spend(
                        conn,
                        job_id=job_id,
                        amount=price,
                        currency=spec.currency,
                        model_id=spec.model_id,
                        tier=spec.tier,
                        project_name=spec.project_name,
                        simulated=spec.simulated,
                        now=now,
                    )
                    job = self._read(conn, job_id)
            except sqlite3.IntegrityError:
                continue  # the random id was taken: draw another
            self._in_flight.add(job_id)
            return job
        raise JobStoreError("Could not find a free job id after 8 tries; the job database may be damaged.")

    def mark_submitted(self, job_id: str, receipt: Mapping[str, Any]) -> Job:
        """Commit fal's submit answer (request id and URLs) at once; the job becomes ``queued``.

        Also heals a job marked ``maybe_submitted`` by a restart elsewhere while this process was still
        sending it.

        Raises:
            ValueError: ``receipt`` has no ``request_id``.
        """
        request_id = receipt.get("request_id")
        if not request_id:
            raise ValueError("fal's submit answer has no request_id")
        status = receipt.get("status")
        state = {"IN_PROGRESS": JobState.RUNNING, "COMPLETED": JobState.COMPLETED}.get(
            str(status), JobState.QUEUED
        )
        fields: dict[str, Any] = {
            "request_id": str(request_id),
            "status_url": receipt.get("status_url"),
            "response_url": receipt.get("response_url"),
            "cancel_url": receipt.get("cancel_url"),
            "queue_position": _optional_int(receipt.get("queue_position")),
            "submitted_at": _utc_text(self._clock()),
            "error_kind": None,
            "error_message": None,
        }
        try:
            return self._update(job_id, state, fields, charge=ChargeStatus.RESERVED)
        finally:
            self._in_flight.discard(job_id)

    def update_progress(
        self,
        job_id: str,
        *,
        state: JobState | None = None,
        queue_position: int | None = None,
        logs: Iterable[Mapping[str, Any]] | None = None,
        bytes_downloaded: int | None = None,
        file_size: int | None = None,
        video_url: str | None = None,
        error: JobError | None = None,
    ) -> Job:
        """Record progress; arguments left as ``None`` keep their stored value.

        Moving to ``running`` clears the queue position. Entering ``completed``, ``downloaded`` or ``expired``
        settles the ledger as charged, ``maybe_submitted`` as maybe charged; end a job with
        :meth:`mark_failed` / :meth:`mark_cancelled` instead, since they say whether it was charged.
        ``logs`` replaces the stored logs (fal sends them all each time), keeping the last 200 entries.
        ``error`` records a problem that did not end the job (e.g. a download that will be retried).

        Raises:
            IllegalTransitionError: ``state`` is not allowed from the job's current state.
        """
        fields: dict[str, Any] = {}
        if queue_position is not None:
            fields["queue_position"] = queue_position
        if state is JobState.RUNNING:
            fields["queue_position"] = None
        if logs is not None:
            fields["logs_json"] = json.dumps(_bounded_logs(logs), ensure_ascii=False)
        if bytes_downloaded is not None:
            fields["bytes_downloaded"] = bytes_downloaded
        if file_size is not None:
            fields["file_size"] = file_size
        if video_url is not None:
            fields["video_url"] = video_url
        if error is not None:
            fields["error_kind"], fields["error_message"] = error.kind, error.message
        if state is not None and state is not JobState.SUBMITTING:
            self._in_flight.discard(job_id)
        return self._update(job_id, state, fields, charge=_CHARGE_ON_ENTRY.get(state))

    def mark_completed(
        self, job_id: str, *, video_url: str | None = None, file_size: int | None = None
    ) -> Job:
        """fal finished the generation (it is now charged); the result must be downloaded soon."""
        return self.update_progress(
            job_id, state=JobState.COMPLETED, video_url=video_url, file_size=file_size
        )

    def mark_downloaded(self, job_id: str, output_path: Path, *, file_size: int) -> Job:
        """The video is complete at ``output_path`` (already renamed into place)."""
        fields = {
            "output_path": str(output_path),
            "file_size": file_size,
            "bytes_downloaded": file_size,
            "error_kind": None,
            "error_message": None,
        }
        return self._update(job_id, JobState.DOWNLOADED, fields, charge=ChargeStatus.CHARGED)

    def mark_failed(self, job_id: str, kind: str, message: str, *, charged: bool | None) -> Job:
        """The job failed for good.

        Args:
            kind: a short machine word (``validation``, ``server``, ``auth``, ``network``…).
            message: what happened, for people.
            charged: ``False`` refunds the ledger (fal never charges 5xx or unsent jobs); ``True`` keeps it as
                charged (the generation ran); ``None`` keeps it as *maybe charged* (e.g. a 422).
        """
        try:
            return self._update(
                job_id,
                JobState.FAILED,
                {"error_kind": kind, "error_message": message},
                charge=_charge_for(charged),
            )
        finally:
            self._in_flight.discard(job_id)

    def mark_cancelled(self, job_id: str, *, charged: bool | None = False, message: str | None = None) -> Job:
        """The job was cancelled (``charged`` as in :meth:`mark_failed`; fal does not charge a queued job)."""
        fields = {"error_kind": "cancelled", "error_message": message} if message else {}
        try:
            return self._update(job_id, JobState.CANCELLED, fields, charge=_charge_for(charged))
        finally:
            self._in_flight.discard(job_id)

    def mark_expired(self, job_id: str, message: str) -> Job:
        """fal no longer holds the result; the generation ran, so it stays charged."""
        return self._update(
            job_id,
            JobState.EXPIRED,
            {"error_kind": "expired", "error_message": message},
            charge=ChargeStatus.CHARGED,
        )

    def recover_after_crash(self, *, grace: timedelta = SUBMIT_GRACE) -> JobList:
        """Settle what a crash left behind, and return the unfinished jobs the runner must resume.

        A ``submitting`` job without a request id may or may not have reached fal: it becomes
        ``maybe_submitted`` (its cost stays counted as *maybe charged*) and is never sent again by itself.
        Jobs still being sent by a live process (this store, or another process within ``grace``) are left
        alone.
        """
        now = self._clock()
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT id, owner_pid, created_at FROM jobs WHERE state = ? AND request_id IS NULL",
                (JobState.SUBMITTING.value,),
            ).fetchall()
            for row in rows:
                if self._still_sending(
                    row["id"], row["owner_pid"], _parse_time(row["created_at"]), now, grace
                ):
                    continue
                self._update(
                    row["id"],
                    JobState.MAYBE_SUBMITTED,
                    {
                        "error_kind": "maybe_submitted",
                        "error_message": "Kling Studio stopped while sending this job, so it may have "
                        "reached fal (and may be charged). Check fal.ai/dashboard before sending it again.",
                    },
                    charge=ChargeStatus.MAYBE_CHARGED,
                )
        return self.unfinished()

    def _still_sending(
        self, job_id: str, pid: int | None, created: datetime, now: datetime, grace: timedelta
    ) -> bool:
        if pid == os.getpid():
            return job_id in self._in_flight
        # abs(): after the clock jumps back, a stale row must not look newly created for as long as the jump.
        return pid is not None and abs(now - created) < grace and _process_alive(pid)

    def _update(
        self, job_id: str, state: JobState | None, fields: Mapping[str, Any], *, charge: ChargeStatus | None
    ) -> Job:
        with self.transaction() as conn:
            current = self._read(conn, job_id)
            values = dict(fields)
            if state is not None:
                check_transition(job_id, current.state, state)
                values["state"] = state.value
                now_text = _utc_text(self._clock())
                if state in (JobState.COMPLETED, JobState.DOWNLOADED) and current.completed_at is None:
                    values["completed_at"] = now_text
                if state is JobState.DOWNLOADED:
                    values["downloaded_at"] = now_text
            elif current.is_terminal and values:
                raise JobStoreError(f"Job {job_id} is {current.state.label}; it can no longer change.")
            values["updated_at"] = _utc_text(self._clock())
            assignments = ", ".join(f"{name} = ?" for name in values)
            conn.execute(
                f"UPDATE jobs SET {assignments}, change_seq = (SELECT MAX(change_seq) + 1 FROM jobs) "
                "WHERE id = ?",
                (*values.values(), job_id),
            )
            if charge is not None:
                ledger_rows.settle(conn, job_id, charge)
            return self._read(conn, job_id)

    # --- reads ----------------------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        """The job with this id, or the only job whose id starts with it (at least 4 characters).

        Raises:
            JobNotFoundError: no such job.
            AmbiguousJobIdError: the prefix matches several jobs.
        """
        key = job_id.strip().lower()
        with self.snapshot() as conn:
            row = conn.execute(_SELECT + " WHERE jobs.id = ?", (key,)).fetchone()
            if row is not None:
                return _job(row)
            if len(key) < _MIN_PREFIX or not all(c in "0123456789abcdef" for c in key):
                raise JobNotFoundError(job_id)
            rows = conn.execute(
                _SELECT + " WHERE jobs.id >= ? AND jobs.id < ? ORDER BY jobs.id LIMIT 6", (key, key + "g")
            ).fetchall()
        if not rows:
            raise JobNotFoundError(job_id)
        if len(rows) > 1:
            raise AmbiguousJobIdError(job_id, [r["id"] for r in rows])
        return _job(rows[0])

    def list(
        self,
        *,
        states: Iterable[JobState] | None = None,
        project_slug: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> JobList:
        """Jobs, newest first, optionally only in ``states`` and/or one project; paged by limit/offset."""
        where, params = _filters(states, project_slug)
        sql = list_sql(where) + " LIMIT ? OFFSET ?"
        with self.snapshot() as conn:
            rows = conn.execute(sql, (*params, -1 if limit is None else limit, offset)).fetchall()
        return [_job(row) for row in rows]

    def count(self, *, states: Iterable[JobState] | None = None, project_slug: str | None = None) -> int:
        """How many jobs match (same filters as :meth:`list`)."""
        where, params = _filters(states, project_slug)
        with self.snapshot() as conn:
            return conn.execute(f"SELECT COUNT(*) FROM jobs {where}", params).fetchone()[0]

    def unfinished(self) -> JobList:
        """Jobs the runner must carry on with (queued, running, completed, downloading), oldest first."""
        jobs = self.list(states=UNFINISHED_STATES)
        return jobs[::-1]

    def changed_since(self, change_seq: int) -> tuple[JobList, int]:
        """Jobs changed (by any process) after ``change_seq``, and the sequence number to pass next time.

        Start with 0 (everything). Cheap when nothing changed: one indexed lookup.
        """
        with self.snapshot() as conn:
            rows = conn.execute(
                _SELECT + " WHERE jobs.change_seq > ? ORDER BY jobs.change_seq", (change_seq,)
            ).fetchall()
        jobs = [_job(row) for row in rows]
        return jobs, (jobs[-1].change_seq if jobs else change_seq)

    def _read(self, conn: sqlite3.Connection, job_id: str) -> Job:
        row = conn.execute(_SELECT + " WHERE jobs.id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(job_id)
        return _job(row)


class _Damaged(Exception):
    """Internal: quick_check found damage."""


_SELECT = (
    "SELECT jobs.*, COALESCE(spend.status, 'refunded') AS charge "
    "FROM jobs LEFT JOIN spend ON spend.job_id = jobs.id"
)


def list_sql(where: str = "") -> str:
    """The query :meth:`JobStore.list` runs (without LIMIT); public so a test can check it uses indexes."""
    return f"{_SELECT} {where} ORDER BY jobs.created_at DESC, jobs.rowid DESC"


def _filters(states: Iterable[JobState] | None, project_slug: str | None) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = []
    params: list[Any] = []
    if states is not None:
        wanted = sorted(JobState(s).value for s in states)
        clauses.append(f"jobs.state IN ({', '.join('?' * len(wanted))})" if wanted else "0")
        params.extend(wanted)
    if project_slug is not None:
        clauses.append("jobs.project_slug = ?")
        params.append(project_slug)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


def _job(row: sqlite3.Row) -> Job:
    error = JobError(row["error_kind"], row["error_message"] or "") if row["error_kind"] else None
    return Job(
        id=row["id"],
        project_name=row["project_name"],
        project_slug=row["project_slug"],
        project_path=Path(row["project_path"]) if row["project_path"] else None,
        model_id=row["model_id"],
        tier=row["tier"],
        input_json=row["input_json"],
        estimated_cost=parse_amount(row["estimated_cost"]),
        currency=row["currency"],
        state=JobState(row["state"]),
        charge=ChargeStatus(row["charge"]),
        simulated=bool(row["simulated"]),
        attempt=row["attempt"],
        origin_job_id=row["origin_job_id"],
        created_at=_parse_time(row["created_at"]),
        updated_at=_parse_time(row["updated_at"]),
        submitted_at=_optional_time(row["submitted_at"]),
        completed_at=_optional_time(row["completed_at"]),
        downloaded_at=_optional_time(row["downloaded_at"]),
        request_id=row["request_id"],
        status_url=row["status_url"],
        response_url=row["response_url"],
        cancel_url=row["cancel_url"],
        queue_position=row["queue_position"],
        logs=tuple(json.loads(row["logs_json"])),
        error=error,
        video_url=row["video_url"],
        file_size=row["file_size"],
        bytes_downloaded=row["bytes_downloaded"],
        output_path=Path(row["output_path"]) if row["output_path"] else None,
        references=tuple(json.loads(row["references_json"])),
        change_seq=row["change_seq"],
    )


def _bounded_logs(logs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    kept = list(logs)[-MAX_LOG_ENTRIES:]
    bounded = []
    for entry in kept:
        item = dict(entry)
        message = item.get("message")
        if isinstance(message, str) and len(message) > MAX_LOG_MESSAGE:
            item["message"] = message[: MAX_LOG_MESSAGE - 1] + "…"
        bounded.append(item)
    return bounded


_CHARGE_ON_ENTRY = {
    JobState.COMPLETED: ChargeStatus.CHARGED,
    JobState.DOWNLOADED: ChargeStatus.CHARGED,
    JobState.EXPIRED: ChargeStatus.CHARGED,
    JobState.MAYBE_SUBMITTED: ChargeStatus.MAYBE_CHARGED,
}


def _charge_for(charged: bool | None) -> ChargeStatus:
    if charged is None:
        return ChargeStatus.MAYBE_CHARGED
    return ChargeStatus.CHARGED if charged else ChargeStatus.REFUNDED


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text


def _process_alive(pid: int) -> bool:
    if os.name != "posix":
        return False  # no cheap, safe probe; a live sender heals the row with mark_submitted anyway
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _optional_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _optional_int(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _check_budget(conn, spec: NewJob, price, budget: BudgetPolicy | None, now) -> None:
    """Raise BudgetExceededError if ``spec`` at ``price`` would pass ``budget`` (None: the saved policy)."""
    policy = budget if budget is not None else ledger_rows.load_policy(conn)
    ledger_rows.check_budget(
        conn,
        policy,
        project_name=spec.project_name,
        price=price,
        currency=spec.currency,
        simulated=spec.simulated,
        now=now,
    )

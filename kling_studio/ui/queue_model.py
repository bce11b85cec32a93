"""The job queue as a Qt table model: newest first, fetched a page at a time, updated from the runner's events.

* **Lazy**: rows come from :meth:`JobStore.list` a page at a time as the view scrolls (``canFetchMore`` /
  ``fetchMore``), so 10,000 jobs open as fast as 200.
* **Pushed, not polled**: :meth:`QueueModel.on_job_event` is the runner's listener; events are coalesced and
  applied once per frame (one ``dataChanged`` for all changed rows, one insert for all new jobs). The only
  timer refreshes the *elapsed* column of running jobs from the clock, never the database.
* **Posters**: downloaded takes get a thumbnail decoded off the UI thread when their row is first shown.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage

from kling_studio.core.money import format_usd
from kling_studio.services.frame_cache import CachedFrame, poster_frame
from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import Job, JobState, NewJob
from kling_studio.ui.player.background import Background

_Index = QModelIndex | QPersistentModelIndex

JobRole = Qt.ItemDataRole.UserRole + 1
#: Download progress 0.0–1.0 for a downloading job, else None (the progress bar delegate reads it).
ProgressRole = Qt.ItemDataRole.UserRole + 2
StateRole = Qt.ItemDataRole.UserRole + 3

PAGE_SIZE = 200
FLUSH_MS = 16  # one frame: events arriving within it become one update
POSTER_BOX = (96, 54)

COLUMNS = ("Take", "Tier", "Price", "State", "Elapsed")
TAKE, TIER, PRICE, STATE, ELAPSED = range(len(COLUMNS))

_ACTIVE = frozenset(
    {JobState.SUBMITTING, JobState.QUEUED, JobState.RUNNING, JobState.COMPLETED, JobState.DOWNLOADING}
)
_STATE_COLORS = {
    JobState.DOWNLOADED: "#3ecf8e",
    JobState.FAILED: "#ff5d5d",
    JobState.EXPIRED: "#ff5d5d",
    JobState.MAYBE_SUBMITTED: "#f0b429",
    JobState.CANCELLED: "#9a9ca5",
}


# A loaded row is a plain tuple of strings, numbers and datetimes. The garbage collector stops tracking such
# tuples, so 10,000 loaded rows add nothing to its full collections — with Job objects those ran ~40 ms and
# stalled scrolling. The full Job is read back from the store when an action needs it.
(_ID, _PROJECT, _TIER, _PRICE, _STATE, _QUEUE, _SIZE, _DONE, _CREATED, _START, _END, _UPDATED, _SIMULATED,
 _ATTEMPT, _ERROR, _OUTPUT, _REQUEST) = range(17)


def summarize(job: Job) -> tuple[Any, ...]:
    """The row the model keeps for ``job`` (see the note above)."""
    return (
        job.id, job.project_name, job.tier, format_usd(job.estimated_cost), job.state.value,
        job.queue_position, job.file_size, job.bytes_downloaded, job.created_at,
        job.submitted_at or job.created_at, job.downloaded_at or job.completed_at, job.updated_at,
        job.simulated, job.attempt, job.error.message if job.error else None,
        str(job.output_path) if job.output_path else None, job.request_id,
    )


def state_text(job: Job) -> str:
    """The state column: ``queued · #3 in line``, ``downloading 42 %``, ``failed: <why>``…"""
    return _state_text(summarize(job))


def download_share(job: Job) -> float | None:
    """How much of the video is downloaded (0–1), when the size is known."""
    return _share(summarize(job))


def elapsed_text(job: Job, now: datetime | None = None) -> str:
    """How long the job took (finished) or has taken so far: ``42 s``, ``3 min 05 s``."""
    return _elapsed(summarize(job), now or datetime.now(UTC))


def _state_text(row: tuple[Any, ...]) -> str:
    state = JobState(row[_STATE])
    if state is JobState.QUEUED and row[_QUEUE] is not None:
        return f"queued · #{row[_QUEUE] + 1} in line"
    if state is JobState.DOWNLOADING:
        share = _share(row)
        return "downloading" if share is None else f"downloading {share * 100:.0f} %"
    if state is JobState.MAYBE_SUBMITTED:
        return "may have been submitted"
    if state in (JobState.FAILED, JobState.EXPIRED) and row[_ERROR]:
        return f"{state.value}: {row[_ERROR]}"
    return state.label


def _share(row: tuple[Any, ...]) -> float | None:
    if row[_STATE] == JobState.DOWNLOADED:
        return 1.0
    if not row[_SIZE]:
        return None
    return max(0.0, min(1.0, row[_DONE] / row[_SIZE]))


def _elapsed(row: tuple[Any, ...], now: datetime) -> str:
    end = row[_END]
    if end is None:
        end = now if row[_STATE] in _ACTIVE else row[_UPDATED]
    seconds = max(0, int((end - row[_START]).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def retry_spec(job: Job) -> NewJob:
    """A new job asking for exactly what ``job`` asked (same input, price and project); it retries it."""
    return NewJob(
        project_name=job.project_name,
        model_id=job.model_id,
        tier=job.tier,
        input=job.input,
        estimated_cost=job.estimated_cost,
        currency=job.currency,
        simulated=job.simulated,
        project_path=job.project_path,
        project_slug=job.project_slug,
        origin_job_id=job.id,
        references=job.references,
    )


def _read_page(store: JobStore, offset: int, limit: int) -> list[tuple[Any, ...]]:
    return [summarize(job) for job in store.list(limit=limit, offset=offset)]


class QueueModel(QAbstractTableModel):
    """Jobs from a :class:`JobStore`, newest first.

    Args:
        store: The job store (read a page at a time on the UI thread: a few ms per page).
        page_size: Rows per fetch.
        clock: Current time (tests pass a fixed one).
        parent: Owner.

    Wire it to the runner with ``runner.subscribe(model.on_job_event)``.
    """

    job_event_received = Signal(object)  # internal: hops runner events onto the model's thread
    poster_ready = Signal(str)  # job id

    def __init__(
        self,
        store: JobStore,
        *,
        page_size: int = PAGE_SIZE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._page_size = page_size
        self._clock = clock
        self._jobs: list[tuple[Any, ...]] = []  # summaries, see summarize()
        self._live: dict[str, Job] = {}  # the latest Job of rows changed by events
        self._rows: dict[str, int] = {}
        self._total = store.count()
        self._pending: dict[str, Job] = {}
        self._posters: dict[str, QImage | None] = {}  # None: being made, or no poster possible
        self._poster_frames: dict[str, CachedFrame] = {}
        self._background = Background(workers=1, name="queue-posters", parent=self)
        # The next page is read ahead on its own thread: SQLite's OFFSET walks every row before the page
        # (~12 ms deep in 10,000 jobs), which must not happen on the UI thread while scrolling.
        self._pages = Background(workers=1, name="queue-pages", parent=self)
        self._prefetched: tuple[int, int, list[tuple[Any, ...]]] | None = None  # offset, total, rows
        self._prefetching = False
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self._on_flush_timer_timeout)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._on_tick_timeout)
        self._tick.start()
        self.job_event_received.connect(self._on_job_event_received)
        self.flushes = 0  # how many batched updates ran (for tests and benchmarks)

    # ---- events ---------------------------------------------------------------------------------------
    def on_job_event(self, job: Job) -> None:
        """The runner's listener: note the changed job; it is shown within a frame. Any thread."""
        self.job_event_received.emit(job)

    def _on_job_event_received(self, job: Job) -> None:
        self._pending[job.id] = job
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> None:
        """Apply the pending events now (normally the frame timer does it)."""
        self._flush_timer.stop()
        self._on_flush_timer_timeout()

    def _on_flush_timer_timeout(self) -> None:
        pending, self._pending = self._pending, {}
        if not pending:
            return
        self.flushes += 1
        changed: list[int] = []
        new: list[tuple[Any, ...]] = []
        for job in pending.values():
            row = self._rows.get(job.id)
            if row is not None:
                self._jobs[row] = summarize(job)
                self._live[job.id] = job
                changed.append(row)
            elif self._is_newer_than_loaded(job):
                new.append(summarize(job))
                self._live[job.id] = job
        if changed:
            self.dataChanged.emit(
                self.index(min(changed), 0), self.index(max(changed), len(COLUMNS) - 1)
            )
        if new:
            new.sort(key=lambda j: (j[_CREATED], j[_ID]), reverse=True)
            self.beginInsertRows(QModelIndex(), 0, len(new) - 1)
            self._jobs[:0] = new
            self._total += len(new)
            self._reindex()
            self.endInsertRows()

    def _is_newer_than_loaded(self, job: Job) -> bool:
        if not self._jobs:
            return True
        top = self._jobs[0]
        return (job.created_at, job.id) > (top[_CREATED], top[_ID])

    def _on_tick_timeout(self) -> None:
        rows = [row for row, job in enumerate(self._jobs[: self._page_size]) if job[_STATE] in _ACTIVE]
        if rows:
            self.dataChanged.emit(self.index(min(rows), ELAPSED), self.index(max(rows), ELAPSED))

    def close(self) -> None:
        """Stop timers and poster work."""
        self._tick.stop()
        self._flush_timer.stop()
        self._background.close()
        self._pages.close()

    # ---- paging ---------------------------------------------------------------------------------------
    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008 - Qt's signature
        """True while the store holds older jobs than those loaded."""
        return not parent.isValid() and len(self._jobs) < self._total

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008 - Qt's signature
        """Load the next page of older jobs (read ahead off the UI thread when possible)."""
        if parent.isValid():
            return
        offset = len(self._jobs)
        ready = self._prefetched
        self._prefetched = None
        if ready is not None and ready[0] == offset and ready[1] == self._total:
            rows = ready[2]
        else:
            rows = _read_page(self._store, offset, self._page_size)
        rows = [row for row in rows if row[_ID] not in self._rows]
        if not rows:
            self._total = len(self._jobs)
            return
        first = len(self._jobs)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._jobs.extend(rows)
        for row in range(first, len(self._jobs)):
            self._rows[self._jobs[row][_ID]] = row
        self.endInsertRows()
        self._read_ahead()

    def _read_ahead(self) -> None:
        if self._prefetching or len(self._jobs) >= self._total:
            return
        self._prefetching = True
        offset, total = len(self._jobs), self._total
        self._pages.submit(
            _read_page,
            self._store,
            offset,
            self._page_size,
            done=lambda rows: self._on_page_read(offset, total, rows),
            failed=lambda _error: self._on_page_read(offset, total, []),
        )

    def _on_page_read(self, offset: int, total: int, rows: list[tuple[Any, ...]]) -> None:
        self._prefetching = False
        if rows:
            self._prefetched = (offset, total, rows)

    def _reindex(self) -> None:
        self._rows = {job[_ID]: row for row, job in enumerate(self._jobs)}

    # ---- reading --------------------------------------------------------------------------------------
    def job_at(self, row: int) -> Job:
        """The job shown in ``row``, as of its latest event (else read from the store: ~1 ms)."""
        job_id = self._jobs[row][_ID]
        job = self._live.get(job_id)
        if job is None:
            job = self._store.get(job_id)
        return job

    def row_of(self, job_id: str) -> int | None:
        """The row showing ``job_id``, if loaded."""
        return self._rows.get(job_id)

    def total_jobs(self) -> int:
        """Jobs in the store (loaded or not)."""
        return self._total

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        """Loaded jobs."""
        return 0 if parent.isValid() else len(self._jobs)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        """Take, tier, price, state, elapsed."""
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles."""
        horizontal = orientation == Qt.Orientation.Horizontal
        if role == Qt.ItemDataRole.DisplayRole and horizontal and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """What each cell shows (see the module docstring)."""
        if not index.isValid() or not 0 <= index.row() < len(self._jobs):
            return None
        row = self._jobs[index.row()]
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._text(row, column)
        if role == ProgressRole:
            return _share(row) if row[_STATE] == JobState.DOWNLOADING else None
        if role == Qt.ItemDataRole.DecorationRole and column == TAKE:
            return self._poster(row)
        if role == Qt.ItemDataRole.ForegroundRole and column == STATE:
            color = _STATE_COLORS.get(row[_STATE])  # type: ignore[call-overload]
            return QColor(color) if color else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (PRICE, ELAPSED):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == JobRole:
            return self.job_at(index.row())
        if role == StateRole:
            return row[_STATE]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        return None

    def _text(self, row: tuple[Any, ...], column: int) -> str:
        if column == TAKE:
            mark = " · simulated" if row[_SIMULATED] else ""
            retry = f" · attempt {row[_ATTEMPT]}" if row[_ATTEMPT] > 1 else ""
            return f"{row[_PROJECT]}\n{row[_ID]}{mark}{retry}"
        if column == TIER:
            return row[_TIER]
        if column == PRICE:
            return row[_PRICE]
        if column == STATE:
            return _state_text(row)
        return _elapsed(row, self._clock())

    def _tooltip(self, row: tuple[Any, ...], column: int) -> str | None:
        if column == STATE and row[_ERROR]:
            return row[_ERROR]
        if column == TAKE:
            return row[_OUTPUT] or f"job {row[_ID]}, request {row[_REQUEST] or '—'}"
        return None

    # ---- posters --------------------------------------------------------------------------------------
    def _poster(self, row: tuple[Any, ...]) -> QImage | None:
        job_id = row[_ID]
        if job_id in self._posters:
            return self._posters[job_id]
        if row[_STATE] != JobState.DOWNLOADED or not row[_OUTPUT]:
            return None
        self._posters[job_id] = None
        self._background.submit(
            poster_frame,
            Path(row[_OUTPUT]),
            POSTER_BOX,
            done=lambda frame: self._on_poster_made(job_id, frame),
            failed=lambda _error: None,
        )
        return None

    def _on_poster_made(self, job_id: str, frame: CachedFrame) -> None:
        self._poster_frames[job_id] = frame  # the QImage shares these bytes
        self._posters[job_id] = QImage(
            frame.pixels, frame.width, frame.height, frame.width * 4, QImage.Format.Format_RGB32
        )
        row = self._rows.get(job_id)
        if row is not None:
            index = self.index(row, TAKE)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])
        self.poster_ready.emit(job_id)

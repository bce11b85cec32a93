"""The queue panel: the jobs the runner knows about, newest first, updated from the runner's events.

A simple list for now (the queue issue makes it rich). The runner publishes the updated
:class:`~kling_studio.services.jobs.Job` after every change; :class:`JobListModel` replaces that row.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QLabel, QListView, QStackedLayout, QWidget

from kling_studio.core.money import format_usd
from kling_studio.services.jobs import Job, JobState

JobRole = Qt.ItemDataRole.UserRole + 1
_Index = QModelIndex | QPersistentModelIndex


def job_text(job: Job) -> str:
    """``Spot · 4k · $5.04 — queued (position 2)`` plus a simulated mark and the error, when any."""
    state = job.state.label
    if job.state is JobState.QUEUED and job.queue_position is not None:
        state += f" (position {job.queue_position + 1})"
    if job.state is JobState.DOWNLOADING and job.file_size:
        state += f" {min(100, round(100 * job.bytes_downloaded / job.file_size))} %"
    text = f"{job.project_name} · {job.tier} · {format_usd(job.estimated_cost)} — {state}"
    if job.simulated:
        text += " · simulated"
    if job.error is not None:
        text += f"\n{job.error.message}"
    return text


class JobListModel(QAbstractListModel):
    """Jobs, newest first; :meth:`upsert` adds a job or replaces the row with the same id."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[Job] = []

    def jobs(self) -> list[Job]:
        """The jobs as shown."""
        return list(self._jobs)

    def set_jobs(self, jobs: Iterable[Job]) -> None:
        """Show exactly ``jobs`` (newest first)."""
        self.beginResetModel()
        self._jobs = list(jobs)
        self.endResetModel()

    def upsert(self, job: Job) -> None:
        """Insert a new job at the top, or replace the row of the same job."""
        for row, existing in enumerate(self._jobs):
            if existing.id == job.id:
                self._jobs[row] = job
                index = self.index(row)
                self.dataChanged.emit(index, index)
                return
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._jobs.insert(0, job)
        self.endInsertRows()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's own signature
        """Number of jobs (a flat list has no children)."""
        return 0 if parent.isValid() else len(self._jobs)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """The job's line, its output path as tooltip, and the Job itself."""
        if not index.isValid() or not 0 <= index.row() < len(self._jobs):
            return None
        job = self._jobs[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return job_text(job)
        if role == Qt.ItemDataRole.ToolTipRole:
            return str(job.output_path) if job.output_path else f"job {job.id}"
        if role == JobRole:
            return job
        return None


class QueuePanel(QWidget):
    """The job list, and a hint while it is empty (the window puts it in its Queue dock).

    Args:
        model: the jobs to show.
        parent: Qt parent.
    """

    def __init__(self, model: JobListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.view = QListView(self)
        self.view.setModel(model)
        self.view.setWordWrap(True)
        self.view.setAccessibleName("Jobs")
        self._empty = QLabel("No jobs yet. Press Generate: the job shows up here.", self)
        self._empty.setProperty("role", "muted")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setWordWrap(True)
        self._stack = QStackedLayout(self)
        self._stack.addWidget(self._empty)
        self._stack.addWidget(self.view)
        model.rowsInserted.connect(self._on_model_rows_changed)
        model.modelReset.connect(self._on_model_rows_changed)
        self._on_model_rows_changed()

    def _on_model_rows_changed(self, *_args: object) -> None:
        self._stack.setCurrentIndex(1 if self.model.rowCount() else 0)

"""The queue panel: every job with its poster, price and state, the actions a job allows, and notifications.

The panel never spends money or talks to fal itself: cancel, retry and "submit again" are *requests* (signals)
that the window answers — retrying and re-submitting confirm the price first, like any generate. Revealing a
take opens its folder in the system's file manager.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QRect, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QIcon, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QSystemTrayIcon,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from kling_studio.services.jobs import Job, JobState
from kling_studio.ui.icons import icon
from kling_studio.ui.queue_model import COLUMNS, ELAPSED, PRICE, STATE, TAKE, TIER, JobRole, ProgressRole, QueueModel

FAL_DASHBOARD_URL = "https://fal.ai/dashboard/requests"
ROW_HEIGHT = 62

UrlOpener = Callable[[QUrl], bool]

_CANCELLABLE = frozenset({JobState.SUBMITTING, JobState.QUEUED, JobState.RUNNING, JobState.MAYBE_SUBMITTED})
_RETRYABLE = frozenset({JobState.FAILED, JobState.CANCELLED, JobState.EXPIRED})


class ProgressDelegate(QStyledItemDelegate):
    """Draws the state cell of a downloading job as a real progress bar with its percentage."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        """A progress bar when the row has download progress, the usual text otherwise."""
        share = index.data(ProgressRole)
        if share is None:
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = QRect(option.rect.adjusted(6, option.rect.height() // 2 - 9, -6, 0))  # type: ignore[attr-defined]
        bar.rect.setHeight(18)
        bar.minimum, bar.maximum = 0, 1000
        bar.progress = int(share * 1000)
        bar.text = f"downloading {share * 100:.0f} %"
        bar.textVisible = True
        bar.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Horizontal
        style = option.widget.style() if option.widget else QApplication.style()  # type: ignore[attr-defined]
        if option.state & QStyle.StateFlag.State_Selected:  # type: ignore[attr-defined]
            painter.fillRect(option.rect, option.palette.highlight())  # type: ignore[attr-defined]
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)  # type: ignore[attr-defined]


class JobNotifier(QObject):
    """Tells the user when a job finishes or fails, through the system tray where the platform has one.

    Args:
        tray: The app's tray icon, or None (then only :attr:`notified` is emitted).
        parent: Owner.

    Connect :meth:`on_job_event` as a runner listener (through the model, or directly).
    """

    notified = Signal(str, str)  # title, message

    def __init__(self, tray: QSystemTrayIcon | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tray = tray
        self._told: set[tuple[str, str]] = set()

    @staticmethod
    def tray_if_available(app_icon: QIcon, parent: QObject | None = None) -> QSystemTrayIcon | None:
        """A shown tray icon when the desktop has a system tray, else None."""
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return None
        tray = QSystemTrayIcon(app_icon, parent)
        tray.setToolTip("Kling Studio")
        tray.show()
        return tray

    def on_job_event(self, job: Job) -> None:
        """Notify once per job when it is downloaded, failed or expired."""
        if job.state not in (JobState.DOWNLOADED, JobState.FAILED, JobState.EXPIRED):
            return
        key = (job.id, job.state.value)
        if key in self._told:
            return
        self._told.add(key)
        if job.state is JobState.DOWNLOADED:
            title = f"Take ready — {job.project_name}"
            message = f"{job.tier} take downloaded: {job.output_path.name if job.output_path else job.id}"
            kind = QSystemTrayIcon.MessageIcon.Information
        else:
            title = f"Job {job.state.value} — {job.project_name}"
            message = job.error.message if job.error else f"Job {job.id} {job.state.label}."
            kind = QSystemTrayIcon.MessageIcon.Warning
        if self._tray is not None:
            self._tray.showMessage(title, message, kind, 8000)
        self.notified.emit(title, message)


class QueuePanel(QWidget):
    """The job table with its actions and a details area (logs on demand, the maybe-submitted explanation).

    Args:
        model: The queue model.
        url_opener: Opens folders and links (``QDesktopServices.openUrl``; tests pass their own).
        parent: Owner.
    """

    cancel_requested = Signal(str)  # job id
    retry_requested = Signal(object)  # Job: the window confirms the price, then submits retry_spec(job)
    resubmit_requested = Signal(object)  # Job (maybe submitted): confirm the price, then submit again
    open_take_requested = Signal(object)  # Job (downloaded)

    def __init__(
        self, model: QueueModel, *, url_opener: UrlOpener = QDesktopServices.openUrl, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("queuePanel")
        self.model = model
        self._open_url = url_opener
        color = self.palette().color(QPalette.ColorRole.ButtonText).name()
        self.view = QTableView()
        self.view.setObjectName("queueTable")
        self.view.setAccessibleName("Jobs")
        self.view.setModel(model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setShowGrid(False)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setIconSize(QSize(96, 54))
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.view.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(TAKE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(STATE, QHeaderView.ResizeMode.Stretch)
        for column, width in ((TIER, 70), (PRICE, 80), (ELAPSED, 100)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            self.view.setColumnWidth(column, width)
        header.setStretchLastSection(False)
        self.view.setItemDelegateForColumn(STATE, ProgressDelegate(self.view))
        self.view.doubleClicked.connect(self._on_view_double_clicked)

        self.cancel_button = self._button(icon("cancel", color), "Cancel", self._on_cancel_clicked)
        self.retry_button = self._button(icon("retry", color), "Retry…", self._on_retry_clicked)
        self.open_button = self._button(icon("play", color), "Open take", self._on_open_clicked)
        self.reveal_button = self._button(icon("folder", color), "Show in folder", self._on_reveal_clicked)
        self.logs_button = self._button(QIcon(), "Logs", self._on_logs_clicked)
        self.logs_button.setCheckable(True)
        actions = QHBoxLayout()
        actions.setContentsMargins(8, 6, 8, 6)
        for button in (self.cancel_button, self.retry_button, self.open_button, self.reveal_button):
            actions.addWidget(button)
        actions.addStretch(1)
        self.count_label = QLabel()
        self.count_label.setProperty("role", "muted")
        actions.addWidget(self.count_label)
        actions.addWidget(self.logs_button)

        self.maybe_box = QFrame()
        self.maybe_box.setObjectName("maybeSubmittedBox")
        self.maybe_box.setFrameShape(QFrame.Shape.StyledPanel)
        self.maybe_text = QLabel(
            "<b>This job may have reached fal.</b> Kling Studio stopped while sending it, so it may be running — "
            "and charged — on fal's side. Look for it on your "
            f"<a href='{FAL_DASHBOARD_URL}'>fal request dashboard</a> before sending it again: "
            "submitting again can pay twice."
        )
        self.maybe_text.setWordWrap(True)
        self.maybe_text.setTextFormat(Qt.TextFormat.RichText)
        self.maybe_text.setOpenExternalLinks(False)
        self.maybe_text.linkActivated.connect(lambda url: self._open_url(QUrl(url)))
        self.resubmit_button = QPushButton("Submit again…")
        self.resubmit_button.setToolTip("Sends the same request again after you confirm its price")
        self.resubmit_button.clicked.connect(self._on_resubmit_clicked)
        box = QHBoxLayout(self.maybe_box)
        box.addWidget(self.maybe_text, 1)
        box.addWidget(self.resubmit_button)
        self.maybe_box.hide()

        self.logs = QPlainTextEdit()
        self.logs.setObjectName("jobLogs")
        self.logs.setAccessibleName("Job logs")
        self.logs.setReadOnly(True)
        self.logs.setMaximumHeight(160)
        self.logs.hide()
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.view)
        splitter.addWidget(self.logs)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(actions)
        layout.addWidget(self.maybe_box)
        layout.addWidget(splitter, 1)

        self.view.selectionModel().currentRowChanged.connect(self._on_selection_current_row_changed)
        model.dataChanged.connect(self._on_model_data_changed)
        model.rowsInserted.connect(self._update_count)
        self._update_count()
        self._update_actions()

    # ---- API ----------------------------------------------------------------------------------------------
    def selected_job(self) -> Job | None:
        """The job of the current row (as of the latest event)."""
        index = self.view.currentIndex()
        return index.data(JobRole) if index.isValid() else None

    def select_job(self, job_id: str) -> bool:
        """Make ``job_id``'s row current (when loaded); True when it is."""
        row = self.model.row_of(job_id)
        if row is None:
            return False
        self.view.setCurrentIndex(self.model.index(row, TAKE))
        return True

    # ---- internals ----------------------------------------------------------------------------------------
    def _button(self, button_icon: QIcon, text: str, slot: Callable[[], None]) -> QPushButton:
        button = QPushButton(button_icon, text)
        button.setAccessibleName(text.rstrip("…"))
        button.clicked.connect(slot)
        return button

    def _update_count(self, *_args: object) -> None:
        total = self.model.total_jobs()
        self.count_label.setText(f"{total} job{'s' if total != 1 else ''}")

    def _update_actions(self) -> None:
        job = self.selected_job()
        state = job.state if job else None
        self.cancel_button.setEnabled(state in _CANCELLABLE)
        self.retry_button.setEnabled(state in _RETRYABLE)
        downloaded = state is JobState.DOWNLOADED and job is not None and job.output_path is not None
        self.open_button.setEnabled(downloaded)
        self.reveal_button.setEnabled(downloaded)
        self.logs_button.setEnabled(job is not None)
        self.maybe_box.setVisible(state is JobState.MAYBE_SUBMITTED)
        if self.logs.isVisible():
            self._show_logs(job)

    def _show_logs(self, job: Job | None) -> None:
        if job is None:
            self.logs.setPlainText("")
            return
        lines = [f"{entry.get('timestamp', '')}  {entry.get('message', '')}".strip() for entry in job.logs]
        if job.error is not None:
            lines.append(f"[{job.error.kind}] {job.error.message}")
        self.logs.setPlainText("\n".join(lines) or f"No logs from fal for job {job.id} yet.")

    def _on_selection_current_row_changed(self, *_args: object) -> None:
        self._update_actions()

    def _on_model_data_changed(self, top: QModelIndex, bottom: QModelIndex, *_args: object) -> None:
        current = self.view.currentIndex()
        if current.isValid() and top.row() <= current.row() <= bottom.row():
            self._update_actions()

    def _on_cancel_clicked(self) -> None:
        job = self.selected_job()
        if job is not None:
            self.cancel_requested.emit(job.id)

    def _on_retry_clicked(self) -> None:
        job = self.selected_job()
        if job is not None:
            self.retry_requested.emit(job)

    def _on_resubmit_clicked(self) -> None:
        job = self.selected_job()
        if job is not None and job.state is JobState.MAYBE_SUBMITTED:
            self.resubmit_requested.emit(job)

    def _on_open_clicked(self) -> None:
        job = self.selected_job()
        if job is not None and job.output_path is not None:
            self.open_take_requested.emit(job)

    def _on_reveal_clicked(self) -> None:
        job = self.selected_job()
        if job is not None and job.output_path is not None:
            self._open_url(QUrl.fromLocalFile(str(Path(job.output_path).parent)))

    def _on_logs_clicked(self) -> None:
        self.logs.setVisible(self.logs_button.isChecked())
        self._show_logs(self.selected_job())

    def _on_view_double_clicked(self, index: QModelIndex) -> None:
        job = index.data(JobRole)
        if job is not None and job.state is JobState.DOWNLOADED and job.output_path is not None:
            self.open_take_requested.emit(job)


__all__ = ["COLUMNS", "FAL_DASHBOARD_URL", "JobNotifier", "ProgressDelegate", "QueuePanel"]

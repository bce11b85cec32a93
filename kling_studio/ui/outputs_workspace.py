"""What Generate produces, in the window: the job queue, the take library, the player with compare, the review.

:class:`OutputsWorkspace` owns the four docks and their wiring, so the main window only places them:

* **Queue** — a :class:`QueueModel` over the job store, fed by the runner's events (no polling), in a
  :class:`QueuePanel`. Cancel goes to the runner; retry and "submit again" go through Generate's price
  confirmation (a new, charged request); "Open take" plays it; "Show in folder" opens the file manager.
  A :class:`JobNotifier` says when a take is ready or a job failed (tray message where there is a tray).
* **Library** — a :class:`LibraryModel` over ``<data>/outputs`` and the ledger, read again off the UI thread
  when a job is downloaded; delivery (export, Markdown, crops) by a :class:`DeliveryController`.
* **Player** — a :class:`PlayerWidget` and a :class:`CompareView` as two tabs of one dock (floatable, for a
  second screen). Opening a take from the queue or the library plays it; two takes selected in the library
  can be compared.
* **Review** — the :class:`ReviewPanel` of the take in the player; saving updates the library.

The queue and library need the services: :meth:`attach` builds them when the services open, :meth:`detach`
removes the subscriptions and stops their workers before the services close, and :meth:`close` (window close)
also stops the players and cancels this workspace's tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFrame,
    QLabel,
    QMainWindow,
    QMenu,
    QScrollArea,
    QTabWidget,
    QWidget,
)

from kling_studio.core.errors import UserError
from kling_studio.services import paths
from kling_studio.services.jobs import Job, JobState
from kling_studio.services.takes import Take, load_take, shot_starts
from kling_studio.ui.generate import GenerateAction
from kling_studio.ui.owned_tasks import OwnedTasks
from kling_studio.ui.player.background import Background
from kling_studio.ui.review.review_panel import ReviewPanel

if TYPE_CHECKING:
    # Loaded when used: PyAV (posters) and Qt Multimedia (players) would slow the window's first build, and
    # every QMediaPlayer made costs a backend instance even if nothing is ever played.
    from kling_studio.ui.library.delivery import DeliveryController
    from kling_studio.ui.library.library_model import LibraryModel
    from kling_studio.ui.library.library_panel import LibraryPanel
    from kling_studio.ui.player.compare import CompareView
    from kling_studio.ui.player.player_widget import PlayerWidget
    from kling_studio.ui.queue_model import QueueModel
    from kling_studio.ui.queue_panel import JobNotifier, QueuePanel

log = logging.getLogger(__name__)

UrlOpener = Callable[[QUrl], bool]

#: A burst of downloads (or one download's last events) reads the library once.
LIBRARY_RELOAD_MS = 300

_RETRY_REASON = "A retry is a new request: fal charges it again."
_RESUBMIT_REASON = (
    "The first request may have reached fal: if it did, sending it again pays twice. "
    "Check your fal request dashboard first."
)


class OutputsWorkspace(QObject):
    """The queue, library, player/compare and review docks, wired to the services while they are open.

    Args:
        generate: The window's Generate action: retries and re-submits confirm their price through it.
        window: The main window (the docks' parent and the dialogs' owner).
        url_opener: Opens folders and links (tests pass their own).
        tray_available: Whether to look for a system tray for notifications (tests turn it off).

    Signals:
        reported(str): a sentence for the status bar (a job cancelled, a take ready, a file saved…).
        take_opened(object): the :class:`Take` (or, without a sidecar, the video ``Path``) now in the player.
    """

    reported = Signal(str)
    take_opened = Signal(object)

    def __init__(
        self,
        generate: GenerateAction,
        window: QMainWindow,
        *,
        url_opener: UrlOpener = QDesktopServices.openUrl,
        tray_available: bool = True,
    ) -> None:
        super().__init__(window)
        self._generate = generate
        self._window = window
        self._url_opener = url_opener
        self._tray_available = tray_available
        self._services: Any = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._tasks = OwnedTasks()
        self._closed = False
        self.queue_model: QueueModel | None = None
        self.queue_panel: QueuePanel | None = None
        self.notifier: JobNotifier | None = None
        self.library_model: LibraryModel | None = None
        self.library_panel: LibraryPanel | None = None
        self.delivery: DeliveryController | None = None
        self._tray = None
        self._sidecars = Background(workers=1, name="take-open", parent=self)
        self._library_timer = QTimer(self)
        self._library_timer.setSingleShot(True)
        self._library_timer.setInterval(LIBRARY_RELOAD_MS)
        self._library_timer.timeout.connect(self._on_library_timer_timeout)

        self.queue_dock = self._dock("Queue", "queueDock")
        self.queue_dock.setWidget(_placeholder("The job queue is starting…"))
        self.library_dock = self._dock("Library", "libraryDock", floatable=True)
        self.library_dock.setWidget(_placeholder("The library opens with the job queue…"))

        self.player: PlayerWidget | None = None  # made when a take is first opened (see _players)
        self.compare: CompareView | None = None
        self.player_tabs = QTabWidget()
        self.player_tabs.setObjectName("playerTabs")
        self.player_tabs.setDocumentMode(True)
        self.player_dock = self._dock("Player", "playerDock", floatable=True)
        self.player_dock.setWidget(_placeholder("Open a take from the queue or the library to play it here."))

        self.review = ReviewPanel()
        self.review.review_saved.connect(self._on_review_saved)
        self.review.save_failed.connect(self.reported)
        self.review_dock = self._dock("Review", "reviewDock")
        self.review_dock.setWidget(self.review)
        generate.submitted.connect(self.show_job)

    # ---- placing ------------------------------------------------------------------------------------------
    @property
    def docks(self) -> tuple[QDockWidget, ...]:
        """Queue, library, player, review."""
        return (self.queue_dock, self.library_dock, self.player_dock, self.review_dock)

    def install(
        self, menu: QMenu, before: QAction | None, *, bottom: QDockWidget, left: QDockWidget, right: QDockWidget
    ) -> None:
        """Put the docks into the window, each tabbed with one of its docks, and their toggles into ``menu``.

        Queue and library go with ``bottom`` (Problems), the player with ``right`` (the inspector: a take
        opened there has the height of the window), the review with ``left`` (the brief). The player and
        the review show up when a take is opened (or from the View menu).
        """
        window = self._window
        # The player and review are hidden until a take is opened: their minimum widths would narrow the
        # storyboard for nothing. Hidden before they are tabbed, or Qt leaves stale tab bars on screen.
        self.player_dock.hide()
        self.review_dock.hide()
        for dock, beside in (
            (self.queue_dock, bottom),
            (self.library_dock, bottom),
            (self.player_dock, right),
            (self.review_dock, left),
        ):
            window.addDockWidget(window.dockWidgetArea(beside), dock)
            window.tabifyDockWidget(beside, dock)
        for beside in (bottom, left, right):
            beside.raise_()
        menu.insertActions(before, [dock.toggleViewAction() for dock in self.docks])  # type: ignore[arg-type]

    def _dock(self, title: str, name: str, *, floatable: bool = False) -> QDockWidget:
        dock = QDockWidget(title, self._window)
        dock.setObjectName(name)
        features = QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
        if floatable:
            features |= QDockWidget.DockWidgetFeature.DockWidgetFloatable
        dock.setFeatures(features)
        return dock

    # ---- services -----------------------------------------------------------------------------------------
    @property
    def attached(self) -> bool:
        """True while the services are open and the queue and library follow them."""
        return self._services is not None

    def attach(self, services: Any) -> None:
        """The services opened: show their jobs and takes and follow the runner's events."""
        if self._closed:
            return
        self.detach()
        self._services = services
        from kling_studio.ui.library.delivery import DeliveryController
        from kling_studio.ui.library.library_model import LibraryModel
        from kling_studio.ui.library.library_panel import LibraryPanel
        from kling_studio.ui.queue_model import QueueModel
        from kling_studio.ui.queue_panel import JobNotifier, QueuePanel

        self.queue_model = QueueModel(services.store, parent=self)
        self.queue_panel = QueuePanel(self.queue_model, url_opener=self._url_opener)
        self.queue_panel.cancel_requested.connect(self._on_queue_cancel_requested)
        self.queue_panel.retry_requested.connect(self._on_queue_retry_requested)
        self.queue_panel.resubmit_requested.connect(self._on_queue_resubmit_requested)
        self.queue_panel.open_take_requested.connect(self.open_job)
        # In a scroll area: at the default 1280 px the centre column is narrower than the action row, and
        # a dock narrower than its widget's minimum would overlap the inspector.
        _replace_widget(self.queue_dock, _scrolling(self.queue_panel))
        if self.queue_model.canFetchMore():
            self.queue_model.fetchMore()  # the first page now, not when the Queue tab is first shown

        if self._tray is None and self._tray_available:
            self._tray = JobNotifier.tray_if_available(QApplication.windowIcon(), self)
        self.notifier = JobNotifier(self._tray, self)
        self.notifier.notified.connect(lambda title, message: self.reported.emit(f"{title}: {message}"))

        self.library_model = LibraryModel(paths.data_dir() / "outputs", services.ledger, self)
        self.library_panel = LibraryPanel(self.library_model)
        self.library_panel.play_requested.connect(self.open_take)
        self.library_panel.compare_requested.connect(self.compare_takes)
        self.library_panel.review.review_saved.connect(self._on_library_review_saved)
        self.delivery = DeliveryController(self.library_panel)
        self.delivery.reported.connect(self.reported)
        # Scrolls too: under the storyboard, the library's details and checklist would otherwise set the
        # height of the whole bottom dock area.
        _replace_widget(self.library_dock, _scrolling(self.library_panel))
        self.library_model.reload()

        runner = services.runner
        self._unsubscribe = [
            runner.subscribe(self.queue_model.on_job_event),
            runner.subscribe(self.notifier.on_job_event),
            runner.subscribe(self._on_runner_job_changed),
        ]

    def detach(self) -> None:
        """Stop following the runner and drop the queue and library (before the services close)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        self._tasks.cancel()
        self._library_timer.stop()
        if self._services is None:
            return
        self._services = None
        if self.library_panel is not None:
            from kling_studio.ui.library.crop_export import CropDialog

            for dialog in self.library_panel.findChildren(CropDialog):
                dialog.reject()  # stops its player and any export
        for model in (self.queue_model, self.library_model):
            if model is not None:
                model.close()
                model.deleteLater()
        self.queue_model = self.library_model = None
        self.queue_panel = self.library_panel = self.delivery = self.notifier = None
        _replace_widget(self.queue_dock, _placeholder("The job queue is closed."))
        _replace_widget(self.library_dock, _placeholder("The library is closed."))

    def close(self) -> None:
        """The window is closing: detach, stop both players and drop pending work (not reversible)."""
        self.detach()
        self._closed = True
        self._sidecars.close()
        for player in (self.player, self.compare):
            if player is not None:
                player.close_media()

    @property
    def pending_tasks(self) -> int:
        """This workspace's asyncio tasks still running (cancels sent to the runner)."""
        return self._tasks.running

    # ---- jobs ---------------------------------------------------------------------------------------------
    def show_job(self, job: Job) -> None:
        """Bring the queue forward with ``job`` selected (it was just sent)."""
        self.queue_dock.show()
        self.queue_dock.raise_()
        if self.queue_model is not None and self.queue_panel is not None:
            self.queue_model.flush()
            self.queue_panel.select_job(job.id)

    def cancel_job(self, job_id: str) -> None:
        """Ask the runner to cancel ``job_id`` (a job fal already finished is kept: it is paid for)."""
        if self._services is not None:
            self._tasks.start(self._cancel(self._services.runner, job_id))

    async def _cancel(self, runner: Any, job_id: str) -> None:
        try:
            job = await runner.cancel(job_id)
        except UserError as exc:
            self.reported.emit(f"The job was not cancelled: {exc}")
            return
        except Exception as exc:  # the runner keeps following the job; say so rather than fail silently
            log.exception("cancelling job %s failed", job_id)
            self.reported.emit(f"The job was not cancelled ({type(exc).__name__}: {exc}); it keeps running.")
            return
        if job.state is JobState.CANCELLED:
            self.reported.emit(job.error.message if job.error else "Cancelled.")
        else:
            self.reported.emit(f"Not cancelled: the job is {job.state.label} and is kept (fal finished it).")

    def _on_queue_cancel_requested(self, job_id: str) -> None:
        self.cancel_job(job_id)

    def _on_queue_retry_requested(self, job: Job) -> None:
        from kling_studio.ui.queue_model import retry_spec

        self._generate.resubmit(retry_spec(job), f"Retry {job.tier}", _RETRY_REASON)

    def _on_queue_resubmit_requested(self, job: Job) -> None:
        from kling_studio.ui.queue_model import retry_spec

        self._generate.resubmit(retry_spec(job), f"Submit {job.tier} again", _RESUBMIT_REASON)

    def _on_runner_job_changed(self, job: Job) -> None:
        if job.state is JobState.DOWNLOADED:
            self._library_timer.start()

    def _on_library_timer_timeout(self) -> None:
        if self.library_model is not None:
            self.library_model.reload()  # reads the sidecars and the ledger on a worker thread

    # ---- takes --------------------------------------------------------------------------------------------
    def open_job(self, job: Job) -> None:
        """Play a downloaded job's take (its sidecar is read off the UI thread first, for the review)."""
        if job.output_path is None or self._closed:
            return
        path = Path(job.output_path)
        self._sidecars.submit(
            load_take, path, done=self.open_take, failed=lambda error: self._open_without_sidecar(job, path, error)
        )

    def _open_without_sidecar(self, job: Job, path: Path, error: BaseException) -> None:
        log.warning("playing %s without its sidecar: %s", path, error)
        self.review.set_take(None)
        self._play(path, shot_starts(job.input))
        self.reported.emit(f"{path.name} has no readable sidecar: it plays, but cannot be reviewed here.")
        self.take_opened.emit(path)

    def open_take(self, take: Take) -> None:
        """Play ``take`` and show its review."""
        if self._closed:
            return
        self.review.set_take(take)
        self._play(take.video_path, shot_starts(take.input))
        self.review_dock.show()
        self.review_dock.raise_()
        self.take_opened.emit(take)

    def _players(self) -> tuple[PlayerWidget, CompareView]:
        """The player and compare views, made the first time a take is opened."""
        if self.player is None or self.compare is None:
            from kling_studio.ui.player.compare import CompareView
            from kling_studio.ui.player.player_widget import PlayerWidget

            self.player, self.compare = PlayerWidget(), CompareView()
            self.player_tabs.addTab(self.player, "Player")
            self.player_tabs.addTab(self.compare, "Compare")
            self.player_tabs.setTabEnabled(1, False)
            self.player_tabs.setTabToolTip(1, "Select two takes in the library and press Compare")
            self.player_tabs.currentChanged.connect(self._on_player_tabs_current_changed)
            _replace_widget(self.player_dock, self.player_tabs)
        return self.player, self.compare

    def _play(self, path: Path, starts: list[float]) -> None:
        player, _compare = self._players()
        self.player_tabs.setCurrentWidget(player)
        player.load(path, shot_starts=starts)
        self.player_dock.show()
        self.player_dock.raise_()

    def compare_takes(self, take_a: Take, take_b: Take) -> None:
        """Show ``take_a`` and ``take_b`` in sync in the Compare tab (A is heard, B follows)."""
        if self._closed:
            return
        _player, compare = self._players()
        self.player_tabs.setTabEnabled(1, True)
        self.player_tabs.setCurrentWidget(compare)
        compare.load(
            take_a.video_path, take_b.video_path, title_a=_take_title(take_a), title_b=_take_title(take_b)
        )
        self.player_dock.show()
        self.player_dock.raise_()

    def _on_player_tabs_current_changed(self, _index: int) -> None:
        # Only the tab in view plays: two soundtracks at once help nobody.
        player, compare = self._players()
        if self.player_tabs.currentWidget() is compare:
            player.playback.pause()
        else:
            compare.playback_a.pause()

    # ---- reviews ------------------------------------------------------------------------------------------
    def _on_review_saved(self, take: Take) -> None:
        if self.library_model is not None:
            self.library_model.update_take(take)
        panel = self.library_panel
        if panel is not None and _same_take(panel.current_take(), take):
            panel.review.set_take(take)
            panel.details.set_take(take)
        self.reported.emit(f"Review saved: {take.review.verdict.value}")

    def _on_library_review_saved(self, take: Take) -> None:
        if _same_take(self.review.take(), take):
            self.review.set_take(take)


def _same_take(a: Take | None, b: Take | None) -> bool:
    return a is not None and b is not None and a.video_path == b.video_path


def _take_title(take: Take) -> str:
    verdict = "" if take.review.verdict.value == "unreviewed" else f" · {take.review.verdict.value}"
    return f"{take.project_name} · {take.job_id}{verdict}"


def _placeholder(text: str) -> QWidget:
    label = QLabel(text)
    label.setProperty("role", "muted")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    return label


def _scrolling(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area


def _replace_widget(dock: QDockWidget, widget: QWidget) -> None:
    old = dock.widget()
    dock.setWidget(widget)
    if old is not None:
        old.deleteLater()


__all__ = ["OutputsWorkspace"]

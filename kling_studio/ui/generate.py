"""Generate: confirm the price when it is above the user's threshold, then upload the reference images and submit.

The submit is an asyncio task this object owns; :meth:`GenerateAction.cancel_all` cancels what is still
running when the window closes. The confirmation is a non-blocking dialog (``open()`` + signals), never a
nested event loop inside a coroutine.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from kling_studio.core.errors import UserError
from kling_studio.core.money import format_usd
from kling_studio.core.project import Project
from kling_studio.core.references import ReferencesState
from kling_studio.core.request import build_request
from kling_studio.services.jobs import Job, NewJob
from kling_studio.ui.dialogs.confirm_price_dialog import ConfirmPriceDialog
from kling_studio.ui.live_report import ProjectReport
from kling_studio.ui.owned_tasks import OwnedTasks

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


class GenerateAction(QObject):
    """Turns "Generate" into a job: confirm above the threshold, build the exact request, submit it.

    Args:
        dialog_parent: the window the confirmation dialog belongs to.
        parent: Qt parent.

    Signals:
        submitted(Job): the runner accepted the job (it is recorded; it may still be queued or refused).
        failed(str): nothing was sent; the message says why (no services yet, over budget, an upload failed…).
        confirmation_opened(object): the price confirmation dialog was opened (tests answer it).
        upload_progressed(str): a line about the reference image upload under way, for the status bar.
    """

    submitted = Signal(object)
    failed = Signal(str)
    confirmation_opened = Signal(object)
    upload_progressed = Signal(str)

    def __init__(self, dialog_parent: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._dialog_parent = dialog_parent
        self._services = None
        self._threshold: Decimal | None = None
        self._tasks = OwnedTasks()
        self._dialog: ConfirmPriceDialog | None = None

    @property
    def threshold(self) -> Decimal | None:
        """Prices above this are confirmed first; None: never ask."""
        return self._threshold

    def set_threshold(self, threshold: Decimal | None) -> None:
        """Confirm every generation costing more than ``threshold`` (None: never ask)."""
        self._threshold = threshold

    def set_services(self, services: object | None) -> None:
        """The open :class:`~kling_studio.services.studio_services.StudioServices` (None while starting)."""
        self._services = services

    @property
    def pending(self) -> int:
        """Submits still running."""
        return self._tasks.running

    def request(self, project: Project, report: ProjectReport, project_path: Path | None) -> None:
        """The user pressed Generate: confirm if needed, then submit."""
        current = report.current
        if report.errors or current is None:
            self.failed.emit(report.errors[0].message if report.errors else "This tier has no price.")
            return
        if self._services is None:
            self.failed.emit("The job queue is still starting; press Generate again in a moment.")
            return
        try:
            spec = self._new_job(project, report, project_path)
        except UserError as exc:
            self.failed.emit(str(exc))
            return
        # The images as they are now: edits made while the price dialog is open do not change this job.
        references = project.references.state
        if self._threshold is not None and current.total > self._threshold:
            dialog = ConfirmPriceDialog(
                f"Generate {report.tier.value}",
                format_usd(current.total),
                format_usd(self._threshold),
                self._simulated,
                self._dialog_parent,
            )
            self._start_when_confirmed(dialog, spec, references)
            return
        self._start(spec, references)

    def resubmit(self, spec: NewJob, action: str, reason: str) -> None:
        """Send ``spec`` again (a retry, or a job that may have reached fal) once the user confirms its price.

        Always asks, whatever the threshold: a new request is charged again.
        """
        if self._services is None:
            self.failed.emit("The job queue is not running; try again in a moment.")
            return
        # The job goes where the services send it now: a retry of a simulated take is real once a key is set.
        spec = replace(spec, simulated=self._simulated)
        threshold = format_usd(self._threshold) if self._threshold is not None else "—"
        dialog = ConfirmPriceDialog(
            action, format_usd(spec.estimated_cost), threshold, self._simulated, self._dialog_parent, reason=reason
        )
        # Its input already carries the uploaded image URLs (no images to upload again).
        self._start_when_confirmed(dialog, spec, None)

    @property
    def _simulated(self) -> bool:
        return bool(getattr(self._services, "simulated", False))

    def _start_when_confirmed(
        self, dialog: ConfirmPriceDialog, spec: NewJob, references: ReferencesState | None
    ) -> None:
        """Open the price question (non-blocking); the job starts only if the user accepts it."""
        dialog.accepted.connect(lambda: self._start(spec, references))
        dialog.finished.connect(dialog.deleteLater)
        self._dialog = dialog
        dialog.open()
        self.confirmation_opened.emit(dialog)

    def cancel_all(self) -> None:
        """Cancel submits still running (the window is closing); recorded jobs stay resumable."""
        self._tasks.cancel()

    async def aclose(self) -> None:
        """Cancel the submits still running and wait until they have stopped (before the services close)."""
        await self._tasks.aclose()

    def _new_job(self, project: Project, report: ProjectReport, project_path: Path | None) -> NewJob:
        request = build_request(project, report.tier)
        return NewJob(
            project_name=project.name,
            model_id=request.model_id,
            tier=report.tier.value,
            input=dict(request.arguments),
            estimated_cost=report.current.total if report.current else Decimal(0),
            simulated=self._simulated,
            project_path=project_path,
        )

    def _start(self, spec: NewJob, references: ReferencesState | None) -> None:
        self._tasks.start(self._submit(spec, references))  # on qasync's loop, running since the first paint

    async def _submit(self, spec: NewJob, references: ReferencesState | None) -> None:
        services = self._services
        if services is None:
            self.failed.emit("The job queue closed before the job could be sent.")
            return
        # Imported here: the upload code loads PyAV and numpy (image checks), not needed before the first submit.
        from kling_studio.services.job_submit import describe_upload

        try:
            # The budget check, then the uploads (each image once), then the POST.
            job: Job = await services.submit(
                spec, references, on_progress=lambda progress: self.upload_progressed.emit(describe_upload(progress))
            )
        except UserError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:
            log.exception("submit failed")
            self.failed.emit(f"The job could not be sent: {type(exc).__name__}: {exc}")
            return
        self.submitted.emit(job)

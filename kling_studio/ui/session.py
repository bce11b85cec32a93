"""One run of the studio window on the asyncio loop: recovery or welcome, services, orderly shutdown.

The session owns every task it starts and cancels them on close; the services (job database, runner,
simulator) open behind the visible window and close after it, leaving unfinished jobs resumable on disk.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer

from kling_studio.ui.cost_meter import Spend
from kling_studio.ui.document import find_recoveries
from kling_studio.ui.main_window import MainWindow
from kling_studio.ui.owned_tasks import OwnedTasks

log = logging.getLogger(__name__)


class StudioSession:
    """Runs a shown window until it closes.

    Args:
        window: the shown, built main window.
        settings: the window's preferences (first-run flag, geometry).
        on_shown: called with the window once the loop runs.
        show_welcome: offer the welcome dialog on first run.
        open_path: a project file to open at once (a double-clicked project); no welcome then.
    """

    def __init__(
        self,
        window: MainWindow,
        settings: QSettings,
        *,
        on_shown: Callable[[MainWindow], object] | None = None,
        show_welcome: bool = True,
        open_path: Path | None = None,
    ) -> None:
        self.window = window
        self._settings = settings
        self._on_shown = on_shown
        self._show_welcome = show_welcome
        self._open_path = open_path
        self._tasks = OwnedTasks(on_done=_log_failure)
        self.services = None
        self._welcome_pending = False

    def own(self, coro) -> asyncio.Task[object]:
        """Start ``coro`` as a task this session cancels on close."""
        return self._tasks.start(coro)

    async def run(self) -> int:
        """Offer recovery or the welcome, open the services, wait until the window closes, clean up."""
        window, settings = self.window, self._settings
        closed = asyncio.get_running_loop().create_future()
        window.closed.connect(lambda: closed.done() or closed.set_result(None))
        if self._open_path is not None:
            window.open_path(self._open_path)  # a broken file says why in a message; the window stays
        recoveries = find_recoveries(window.document.recovery_path.parent)
        if recoveries:
            window.offer_recovery(recoveries[0])
        elif self._open_path is None and self._show_welcome and not settings.value("welcomed", False, type=bool):
            settings.setValue("welcomed", True)
            self._welcome_pending = True  # shown once the services say whether a key is set
        if self._on_shown is not None:
            hook = self._on_shown
            QTimer.singleShot(0, lambda: hook(window))
        self.own(self._open_services())

        await closed
        settings.setValue("geometry", window.saveGeometry())
        await self.close()
        window.deleteLater()
        return 0

    async def _open_services(self) -> None:
        from kling_studio.services.studio_services import StudioServices  # httpx, keyring, sqlite

        window = self.window
        try:
            services = await StudioServices.open()
        except Exception as exc:
            log.exception("the services did not open")
            window.show_message("The job queue could not start", f"{exc}\nGenerate is unavailable.")
            return
        finally:
            if self._welcome_pending:
                self._welcome_pending = False
                QTimer.singleShot(0, lambda: show_welcome(window))
        self.services = services
        window.set_services(services)
        # The queue reads its first page of jobs itself, then follows the runner's events.
        window.generate_action.submitted.connect(lambda _job: self.own(self._refresh_spend()))
        await self._refresh_spend()

    async def _refresh_spend(self) -> None:
        services = self.services
        if services is None:
            return
        name = self.window.document.project.name
        spend = await asyncio.to_thread(read_spend, services.ledger, services.simulated, name)
        self.window.set_spend(spend)

    async def close(self) -> None:
        """Cancel owned tasks, then close the services (jobs stay resumable on disk)."""
        await self._tasks.aclose()
        if self.window.generate_action is not None:
            await self.window.generate_action.aclose()
        services, self.services = self.services, None
        if services is not None:
            self.window.detach_services()
            try:
                await services.close()
            except Exception:
                log.exception("closing the services failed")


def read_spend(ledger, simulated: bool, project_name: str) -> Spend:
    """Spend today / this month and the tightest budget left, from the ledger (blocking: run in a thread)."""
    today = ledger.spend_today(simulated=simulated)
    month = ledger.spend_this_month(simulated=simulated)
    policy = ledger.budget()
    left: list[Decimal] = []
    if policy.daily is not None:
        left.append(policy.daily - today)
    if policy.monthly is not None:
        left.append(policy.monthly - month)
    if project_name in policy.per_project:
        spent = ledger.spend_for_project(project_name, simulated=simulated)
        left.append(policy.per_project[project_name] - spent)
    return Spend(today=today, month=month, budget_left=min(left) if left else None)


def show_welcome(window: MainWindow) -> None:
    """The first-run welcome: start from a preset's sample project (non-blocking)."""
    from kling_studio.core.presets import list_presets, new_project_from_preset
    from kling_studio.ui.dialogs.welcome_dialog import WelcomeDialog

    dialog = WelcomeDialog(list_presets(), window.simulated, window)
    dialog.preset_chosen.connect(lambda slug: window.document.new_project(new_project_from_preset(slug)))
    dialog.finished.connect(dialog.deleteLater)
    window.welcome_dialog = dialog
    dialog.open()


def _log_failure(task: asyncio.Task[object]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task failed", exc_info=task.exception())

"""Start the studio: one QApplication, asyncio on Qt's loop through qasync, owned tasks cancelled on close.

:func:`run_app` shows the window first and opens the services (job database, key, simulator) in a task
behind it, so the window paints without waiting for them. When the window closes, the session cancels what
it started, closes the services (unfinished jobs stay on disk and resume next time) and returns.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal

log = logging.getLogger(__name__)

ShownHook = Callable[[object], object]


def run_app(
    argv: Sequence[str] | None = None,
    *,
    on_shown: ShownHook | None = None,
    scheme: str | None = None,
    show_welcome: bool = True,
) -> int:
    """Run the studio window until it is closed; returns the process exit code.

    Args:
        argv: Qt's command line (default: ``sys.argv``).
        on_shown: called with the window once it has been shown and painted (tools, benchmarks, tests).
        scheme: ``"dark"`` or ``"light"`` to force a theme; None follows the system.
        show_welcome: offer the welcome dialog on first run.
    """
    import PySide6  # noqa: F401 - qasync picks the Qt binding that is already imported
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(list(argv if argv is not None else sys.argv))
    app.setApplicationName("Kling Studio")
    app.setOrganizationName("Kling Studio")
    app.setQuitOnLastWindowClosed(False)  # the session decides when to stop, after closing the services
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    session = StudioSession(on_shown=on_shown, scheme=scheme, show_welcome=show_welcome)
    try:
        with loop:
            return loop.run_until_complete(session.run())
    finally:
        asyncio.set_event_loop(None)


class StudioSession:
    """One run of the window: builds it, opens the services behind it, and tears both down in order."""

    def __init__(self, *, on_shown: ShownHook | None, scheme: str | None, show_welcome: bool) -> None:
        self._on_shown = on_shown
        self._scheme = scheme
        self._show_welcome = show_welcome
        self._tasks: set[asyncio.Task[object]] = set()
        self.window = None
        self.services = None

    def own(self, coro) -> asyncio.Task[object]:
        """Start ``coro`` as a task this session cancels on close."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)
        return task

    async def run(self) -> int:
        """Show the window, wait until it closes, then clean up."""
        from PySide6.QtCore import QSettings, QTimer
        from PySide6.QtGui import QIcon
        from PySide6.QtWidgets import QApplication

        from kling_studio.core.pricing import PriceCatalog
        from kling_studio.services import paths
        from kling_studio.ui.document import ProjectDocument, RecentFiles, find_recoveries
        from kling_studio.ui.main_window import MainWindow
        from kling_studio.ui.theme import Scheme, Theme

        app = QApplication.instance()
        icon_path = paths_icon()
        if icon_path:
            app.setWindowIcon(QIcon(icon_path))
        theme = Theme(app, Scheme(self._scheme) if self._scheme else None)
        recovery_dir = paths.data_dir() / "recovery"
        document = ProjectDocument(recovery_dir, RecentFiles(paths.config_dir() / "recent-projects.json"))
        settings = QSettings(str(paths.config_dir() / "window.ini"), QSettings.Format.IniFormat)
        window = MainWindow(document, theme, PriceCatalog.bundled(), settings)
        self.window = window
        closed = asyncio.get_running_loop().create_future()
        window.closed.connect(lambda: closed.done() or closed.set_result(None))
        window.resize(1280, 800)
        if settings.contains("geometry"):
            window.restoreGeometry(settings.value("geometry"))
        window.show()

        recoveries = find_recoveries(recovery_dir)
        if recoveries:
            window.offer_recovery(recoveries[0])
        elif self._show_welcome and not settings.value("welcomed", False, type=bool):
            settings.setValue("welcomed", True)
            QTimer.singleShot(0, lambda: show_welcome(window))
        if self._on_shown is not None:
            hook = self._on_shown
            QTimer.singleShot(0, lambda: hook(window))
        self.own(self._open_services(window))

        await closed
        settings.setValue("geometry", window.saveGeometry())
        await self.close()
        window.deleteLater()
        return 0

    async def _open_services(self, window) -> None:
        from kling_studio.services.studio_services import StudioServices

        try:
            services = await StudioServices.open()
        except Exception as exc:
            log.exception("the services did not open")
            window.show_message("The job queue could not start", f"{exc}\nGenerate is unavailable.")
            return
        self.services = services
        window.set_services(services)
        window.generate_action.submitted.connect(lambda _job: self.own(self._refresh_spend(window)))
        jobs = await asyncio.to_thread(services.store.list, limit=200)
        window.jobs.set_jobs(jobs)
        await self._refresh_spend(window)

    async def _refresh_spend(self, window) -> None:
        services = self.services
        if services is None:
            return
        name = window.document.project.name
        spend = await asyncio.to_thread(read_spend, services.ledger, services.simulated, name)
        window.set_spend(spend)

    async def close(self) -> None:
        """Cancel owned tasks, then close the services (jobs stay resumable on disk)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        services, self.services = self.services, None
        if services is not None:
            if self.window is not None:
                self.window.detach_services()
            try:
                await services.close()
            except Exception:
                log.exception("closing the services failed")


def read_spend(ledger, simulated: bool, project_name: str):
    """Spend today / this month and the tightest budget left, from the ledger (blocking: run in a thread)."""
    from kling_studio.ui.cost_meter import Spend

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


def show_welcome(window) -> None:
    """The first-run welcome: start from a preset's sample project (non-blocking)."""
    from kling_studio.core.presets import list_presets, new_project_from_preset
    from kling_studio.ui.dialogs.welcome_dialog import WelcomeDialog

    dialog = WelcomeDialog(list_presets(), window.simulated, window)
    dialog.preset_chosen.connect(lambda slug: window.document.new_project(new_project_from_preset(slug)))
    dialog.finished.connect(dialog.deleteLater)
    window.welcome_dialog = dialog
    dialog.open()


def paths_icon() -> str | None:
    """The app icon's file, when the package carries it."""
    from importlib import resources

    path = resources.files("kling_studio").joinpath("resources", "icons", "app-icon.svg")
    return str(path) if path.is_file() else None


def _log_failure(task: asyncio.Task[object]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task failed", exc_info=task.exception())

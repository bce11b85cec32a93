"""The studio window: composes the editors, docks and menus around one :class:`ProjectDocument`.

The window holds references, not project state: the project lives in the document, validation and prices
in the :class:`LiveReport`, the current shot in the :class:`ShotSelection`. When the document replaces its
project (New, Open, restore) the project-bound widgets are built again for the new project.

Layout: the brief on the left, the inspector on the right (both full height), the timeline and shot list
in the middle over a Problems / Queue / Library tab strip (the player and review tab in beside the
inspector and the brief: see :mod:`outputs_workspace`), and the cost meter with the Generate button as a strip
along the bottom that is always visible. Without a fal key a blue banner says "Simulator — nothing is
charged" and offers "Add fal key…".
"""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QToolBar,
    QWidget,
)

from kling_studio.core.errors import UserError
from kling_studio.core.money import format_usd
from kling_studio.core.project import Project
from kling_studio.core.project_file import PROJECT_SUFFIX
from kling_studio.ui.document import ProjectDocument, Recovery
from kling_studio.ui.icons import icon
from kling_studio.ui.references.window_wiring import ReferencesDock
from kling_studio.ui.theme import Scheme, Theme

if TYPE_CHECKING:
    # The window's frame paints without these; _bind imports them right after (see run_app).
    from kling_studio.core.pricing import PriceCatalog
    from kling_studio.core.validation import Problem
    from kling_studio.services.secrets import KeyStore
    from kling_studio.ui.brief_editor import BriefEditor
    from kling_studio.ui.cost_meter import CostMeter, Spend
    from kling_studio.ui.dialogs.key_dialog import KeyDialog
    from kling_studio.ui.dialogs.recovery_dialog import RecoveryDialog
    from kling_studio.ui.edits import ProjectEditor
    from kling_studio.ui.generate import GenerateAction
    from kling_studio.ui.inspector import Inspector
    from kling_studio.ui.live_report import LiveReport
    from kling_studio.ui.outputs_workspace import OutputsWorkspace
    from kling_studio.ui.problems_panel import ProblemsPanel
    from kling_studio.ui.selection import ShotSelection
    from kling_studio.ui.shot_list import ShotListModel, ShotListView
    from kling_studio.ui.timeline import TimelineWidget

log = logging.getLogger(__name__)

FILE_FILTER = f"Kling Studio projects (*{PROJECT_SUFFIX});;fal input JSON (*.json);;All files (*)"
PROJECT_SUFFIXES = (PROJECT_SUFFIX, ".json")
_ICON_NAMES = ("preset", "rebuild", "link", "unlink", "single", "multi", "warning", "error", "add-shot")


#: How long after the docks are built the window sizes them (the layout settles in a few event-loop turns).
SETTLE_MS = 100


class SimulatorBanner(QFrame):
    """"Simulator — nothing is charged" across the top, with an "Add fal key…" button."""

    add_key_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("simulatorBanner")
        self.label = QLabel(
            "Simulator — nothing is charged. Generate runs on the built-in simulator until you add a key.",
            self,
        )
        self.label.setWordWrap(True)
        self.add_key_button = QPushButton("Add fal key…", self)
        self.add_key_button.clicked.connect(self.add_key_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 6, 12, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.add_key_button)


class MainWindow(QMainWindow):
    """The window a creator lives in.

    Args:
        document: the open project and its file.
        theme: the app's theme (icon colours, light/dark).
        catalog: prices to show until the services bring the user's price file (None: the bundled list).
        settings: the window's own preferences (geometry, confirmation threshold, first run).
        parent: Qt parent (normally None).
        keys: where the fal key is kept (default: the system keyring; the services bring theirs).
        build: build the editors now; False leaves an empty frame that can paint at once, and
            :meth:`build_content` fills it (the app does that right after the first paint).

    Signals:
        closed(): the window closed for good (after any unsaved-changes question).
    """

    closed = Signal()

    def __init__(
        self,
        document: ProjectDocument,
        theme: Theme,
        catalog: PriceCatalog | None,
        settings: QSettings,
        parent: QWidget | None = None,
        *,
        keys: KeyStore | None = None,
        build: bool = True,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self._keys = keys
        self.theme = theme
        self._catalog = catalog
        self._settings = settings
        self._services = None
        self._simulated = True
        self._force_close = False
        self._close_question: QMessageBox | None = None
        self._message: QMessageBox | None = None
        self._key_dialog: KeyDialog | None = None
        self.pending_recovery_dialog: RecoveryDialog | None = None
        self.welcome_dialog: QWidget | None = None

        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.setMinimumSize(QSize(1024, 640))
        self.setDockNestingEnabled(True)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)

        self.banner = SimulatorBanner()
        self.banner.add_key_requested.connect(self.show_key_dialog)
        banner_bar = QToolBar("Simulator", self)
        banner_bar.setObjectName("bannerBar")
        banner_bar.setMovable(False)
        banner_bar.setFloatable(False)
        banner_bar.addWidget(self.banner)
        banner_bar.setStyleSheet("QToolBar { border: none; padding: 0; spacing: 0; }")
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, banner_bar)
        self._banner_bar = banner_bar

        self.brief_dock = self._dock("Brief", "briefDock", Qt.DockWidgetArea.LeftDockWidgetArea)
        self.inspector_dock = self._dock("Inspector", "inspectorDock", Qt.DockWidgetArea.RightDockWidgetArea)
        self.problems_dock = self._dock("Problems", "problemsDock", Qt.DockWidgetArea.BottomDockWidgetArea)
        self.references_dock = ReferencesDock(self, document.undo_stack, beside=self.inspector_dock)

        self._meter_bar = QToolBar("Cost", self)
        self._meter_bar.setObjectName("costBar")
        self._meter_bar.setMovable(False)
        self._meter_bar.setFloatable(False)
        self._meter_bar.setStyleSheet("QToolBar { border: none; padding: 0; spacing: 0; }")
        self.addToolBar(Qt.ToolBarArea.BottomToolBarArea, self._meter_bar)

        self.live: LiveReport | None = None
        self.editor: ProjectEditor | None = None
        self.selection: ShotSelection | None = None
        self.brief_editor: BriefEditor | None = None
        self.inspector: Inspector | None = None
        self.problems_panel: ProblemsPanel | None = None
        self.cost_meter: CostMeter | None = None
        self.timeline: TimelineWidget | None = None
        self.shot_list: ShotListView | None = None
        self.shot_model: ShotListModel | None = None
        self.generate_action: GenerateAction | None = None
        self.outputs: OutputsWorkspace | None = None  # queue, library, player, review (build_content)

        self._build_menus()
        self._docks_sized = False
        self.set_simulated(True)
        document.project_replaced.connect(self._on_document_project_replaced)
        document.dirty_changed.connect(self._on_document_dirty_changed)
        document.path_changed.connect(lambda _path: self._update_title())
        theme.scheme_changed.connect(self._on_theme_scheme_changed)
        self._update_title()
        if build:
            self.build_content()

    def build_content(self) -> None:
        """Build the editors, the queue and the cost strip for the document's project (once)."""
        if self.generate_action is not None:
            return
        from kling_studio.core.pricing import PriceCatalog
        from kling_studio.ui.generate import GenerateAction
        from kling_studio.ui.outputs_workspace import OutputsWorkspace

        if self._catalog is None:
            self._catalog = PriceCatalog.bundled()
        self.generate_action = GenerateAction(self, self)
        self.generate_action.set_threshold(self._stored_threshold())
        self.generate_action.failed.connect(self._on_generate_action_failed)
        self.generate_action.submitted.connect(self._on_generate_action_submitted)
        self.generate_action.upload_progressed.connect(lambda text: self.statusBar().showMessage(text, 5000))
        self.outputs = OutputsWorkspace(self.generate_action, self)
        self.outputs.install(self.menu_view, self._view_separator, bottom=self.problems_dock,
                             left=self.brief_dock, right=self.inspector_dock)
        self.outputs.reported.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self._bind(self.document.project)
        self._color_menu_icons()
        if self.isVisible():
            # Once the layout has settled on the new docks and the first project (sized earlier, it reflows).
            QTimer.singleShot(SETTLE_MS, self, self._size_docks_once)
        self.statusBar().showMessage("Ready", 3000)

    def _color_menu_icons(self) -> None:
        color = self.theme.colors.text
        for action, name in self._menu_icons.items():
            action.setIcon(icon(name, color))

    # ---- composition ---------------------------------------------------------------------------------
    def _dock(self, title: str, name: str, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        return dock

    def _icons(self) -> dict[str, QIcon]:
        color = self.theme.colors.text
        icons = {name: icon(name, color) for name in _ICON_NAMES}
        icons["warning"] = icon("warning", self.theme.colors.warning)
        icons["error"] = icon("error", self.theme.colors.error)
        return icons

    def _bind(self, project: Project) -> None:
        """Build the project-bound widgets for ``project`` (dropping the previous ones)."""
        from kling_studio.ui.brief_editor import BriefEditor
        from kling_studio.ui.cost_meter import CostMeter
        from kling_studio.ui.edits import ProjectEditor
        from kling_studio.ui.inspector import Inspector
        from kling_studio.ui.live_report import LiveReport
        from kling_studio.ui.problems_panel import ProblemsPanel
        from kling_studio.ui.selection import ShotSelection
        from kling_studio.ui.shot_list import ShotListModel, ShotListView
        from kling_studio.ui.timeline import TimelineWidget

        self._unbind()
        icons = self._icons()
        self.editor = ProjectEditor(project, self.document.undo_stack)
        self.selection = ShotSelection(project, self)
        self.live = LiveReport(project, self._catalog, self)
        self.brief_editor = BriefEditor(project, self.editor, icons)
        self.brief_editor.edit_refused.connect(self.show_refusal)
        self.inspector = Inspector(project, self.editor, self.selection, self.live, icons)
        self.inspector.edit_refused.connect(self.show_refusal)
        self.problems_panel = ProblemsPanel(self.live, icons["error"], icons["warning"])
        self.problems_panel.problem_activated.connect(self._on_problems_panel_problem_activated)
        self.cost_meter = CostMeter(self.live)
        self.cost_meter.set_simulated(self._simulated)
        self.cost_meter.generate_requested.connect(self._on_cost_meter_generate_requested)
        self.timeline = TimelineWidget(project, self.editor, self.selection, self._shot_cost_text)
        self.timeline.edit_requested.connect(self._on_timeline_edit_requested)
        self.timeline.edit_refused.connect(self.show_refusal)
        self.shot_model = ShotListModel(project, self._shot_cost_text, self)
        self.shot_list = ShotListView(self.shot_model, self.selection, self.editor)
        self.shot_list.edit_requested.connect(self._on_timeline_edit_requested)
        self.shot_list.edit_refused.connect(self.show_refusal)
        self.live.updated.connect(self._on_live_updated)

        center = QSplitter(Qt.Orientation.Vertical)
        center.setChildrenCollapsible(False)
        center.addWidget(self.timeline)
        center.addWidget(self.shot_list)
        center.setStretchFactor(0, 0)
        center.setStretchFactor(1, 1)
        center.setSizes([240, 400])
        # A new central widget makes the window share out the space again; keep the docks as the user left them.
        kept = (self.brief_dock.width(), self.inspector_dock.width(), self.problems_dock.height())
        self.setCentralWidget(center)
        if self._docks_sized:
            QTimer.singleShot(0, self, lambda: self._set_dock_sizes(*kept))
        self._replace_dock_widget(self.brief_dock, self.brief_editor)
        self._replace_dock_widget(self.inspector_dock, self.inspector)
        self._replace_dock_widget(self.problems_dock, self.problems_panel)
        self._meter_bar.clear()
        self._meter_bar.addWidget(self.cost_meter)
        self._on_live_updated(self.live.report)
        self.references_dock.bind(project, self.inspector.prompt_edit)

    def _unbind(self) -> None:
        bound = (
            self.live,
            self.selection,
            self.brief_editor,
            self.inspector,
            self.timeline,
            self.shot_list,
            self.shot_model,
        )
        for obj in bound:
            if obj is not None:
                obj.detach()
        for obj in (self.live, self.selection, self.shot_model):
            if obj is not None:
                obj.deleteLater()

    @staticmethod
    def _replace_dock_widget(dock: QDockWidget, widget: QWidget) -> None:
        old = dock.widget()
        dock.setWidget(widget)
        if old is not None:
            old.deleteLater()

    def _build_menus(self) -> None:
        menu_file = self.menuBar().addMenu("&File")
        keys = QKeySequence.StandardKey
        self.action_new = self._action(menu_file, "&New", keys.New, self.new_project)
        self.action_open = self._action(menu_file, "&Open…", keys.Open, self.open_dialog)
        self.recent_menu = menu_file.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        menu_file.addSeparator()
        self.action_save = self._action(menu_file, "&Save", QKeySequence.StandardKey.Save, self.save)
        self.action_save_as = self._action(menu_file, "Save &As…", keys.SaveAs, self.save_as)
        menu_file.addSeparator()
        self._action(menu_file, "&Quit", QKeySequence.StandardKey.Quit, self.close)

        menu_edit = self.menuBar().addMenu("&Edit")
        stack = self.document.undo_stack
        self.action_undo = stack.createUndoAction(self, "&Undo")
        self.action_undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.action_redo = stack.createRedoAction(self, "&Redo")
        self.action_redo.setShortcut(QKeySequence.StandardKey.Redo)
        menu_edit.addAction(self.action_undo)
        menu_edit.addAction(self.action_redo)

        menu_view = self.menuBar().addMenu("&View")
        for dock in (self.brief_dock, self.inspector_dock, self.references_dock.dock, self.problems_dock):
            menu_view.addAction(dock.toggleViewAction())
        self.menu_view, self._view_separator = menu_view, menu_view.addSeparator()  # the outputs' docks go above
        menu_theme = menu_view.addMenu("&Theme")
        group = QActionGroup(self)
        chosen = str(self._settings.value("theme", "") or "")
        self.theme_actions: dict[str, QAction] = {}
        for value, label in (("", "Follow the system"), ("dark", "Dark"), ("light", "Light")):
            action = menu_theme.addAction(label)
            action.setCheckable(True)
            action.setChecked(value == chosen)
            group.addAction(action)
            action.triggered.connect(lambda _checked=False, v=value: self.set_theme_choice(v))
            self.theme_actions[value] = action

        menu_generate = self.menuBar().addMenu("&Generate")
        self.action_generate = self._action(
            menu_generate, "&Generate", QKeySequence("Ctrl+G"), self._on_cost_meter_generate_requested
        )
        # Ctrl+G works everywhere; Ctrl+Return too, except where a text field or the timeline takes Return.
        self.action_generate.setShortcuts([QKeySequence("Ctrl+G"), QKeySequence("Ctrl+Return")])
        self._action(menu_generate, "Confirm above…", None, self.ask_threshold)
        menu_generate.addSeparator()
        self.action_key = self._action(menu_generate, "fal &key…", None, self.show_key_dialog)
        self._menu_icons = {
            self.action_new: "new",
            self.action_open: "open",
            self.action_save: "save",
            self.action_undo: "undo",
            self.action_redo: "redo",
            self.action_key: "key",
        }

    def _action(self, menu, text: str, shortcut, slot) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    def set_theme_choice(self, value: str) -> None:
        """Use the ``"dark"`` or ``"light"`` theme, or follow the system (``""``); remembered."""
        self._settings.setValue("theme", value)
        self.theme.set_scheme(Scheme(value) if value else None)
        if value in self.theme_actions:
            self.theme_actions[value].setChecked(True)

    # ---- services ------------------------------------------------------------------------------------
    @property
    def simulated(self) -> bool:
        """True while generations go to the built-in simulator (nothing is charged)."""
        return self._simulated

    def set_simulated(self, simulated: bool) -> None:
        """Show (True) or hide the simulator banner and notes."""
        self._simulated = simulated
        self._banner_bar.setVisible(simulated)
        if self.cost_meter is not None:
            self.cost_meter.set_simulated(simulated)

    def set_services(self, services) -> None:
        """The services are open: use their prices, key state, runner and ledger."""
        self.build_content()
        self._services = services
        self.generate_action.set_services(services)
        self._catalog = services.catalog
        self._keys = services.keys
        if self.live is not None:
            self.live.set_catalog(services.catalog)
        self.set_simulated(bool(services.simulated))
        self.references_dock.set_library(services.library)
        self.outputs.attach(services)

    def detach_services(self) -> None:
        """Stop listening to the runner (before the services close)."""
        if self.outputs is not None:
            self.outputs.detach()
        if self.generate_action is not None:
            self.generate_action.set_services(None)
        self.references_dock.set_library(None)  # its workers stop before the library closes
        self._services = None

    def set_spend(self, spend: Spend | None) -> None:
        """Show the ledger's figures in the cost meter."""
        if self.cost_meter is not None:
            self.cost_meter.set_spend(spend)

    # ---- project commands ----------------------------------------------------------------------------
    def new_project(self, project: Project | None = None) -> None:
        """Start a new project (asks first when there are unsaved changes)."""
        self._after_unsaved_question(lambda: self.document.new_project(project))

    def open_dialog(self) -> None:
        """Ask for a project file and open it."""
        dialog = QFileDialog(self, "Open project", str(self._last_folder()), FILE_FILTER)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda name: self.open_path(Path(name)))
        dialog.open()

    def open_path(self, path: Path) -> None:
        """Open ``path`` (asks first when there are unsaved changes); a broken file shows why."""
        self._after_unsaved_question(lambda: self._open_now(path))

    def _open_now(self, path: Path) -> None:
        try:
            self.document.open(path)
        except UserError as exc:
            self.show_message("The project could not be opened", str(exc), QMessageBox.Icon.Warning)
            return
        self._settings.setValue("last_folder", str(path.parent))
        self.statusBar().showMessage(f"Opened {path}", 5000)

    def save(self, then=None) -> None:
        """Save; a project without a file asks where. ``then()`` runs after a successful save."""
        if self.document.path is None:
            self.save_as(then)
            return
        self._save_to(self.document.path, then)

    def save_as(self, then=None) -> None:
        """Ask for a file name and save there."""
        start = self._last_folder() / f"{self.document.display_name}{PROJECT_SUFFIX}"
        dialog = QFileDialog(self, "Save project", str(start), FILE_FILTER)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(PROJECT_SUFFIX.lstrip("."))
        dialog.fileSelected.connect(lambda name: self._save_to(Path(name), then))
        dialog.open()

    def _save_to(self, path: Path, then=None) -> None:
        try:
            self.document.save_as(path)
        except UserError as exc:
            self.show_message("The project could not be saved", str(exc), QMessageBox.Icon.Warning)
            return
        self._settings.setValue("last_folder", str(path.parent))
        self.statusBar().showMessage(f"Saved {self.document.path}", 4000)
        if then is not None:
            then()

    def _last_folder(self) -> Path:
        folder = Path(str(self._settings.value("last_folder", "") or Path.home()))
        return folder if folder.is_dir() else Path.home()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        paths = self.document.recent.paths()
        if not paths:
            self.recent_menu.addAction("No recent projects").setEnabled(False)
        for path in paths:
            action = self.recent_menu.addAction(path.name)
            action.setToolTip(str(path))
            action.triggered.connect(lambda _checked=False, p=path: self.open_path(p))

    # ---- recovery ------------------------------------------------------------------------------------
    def offer_recovery(self, recovery: Recovery) -> None:
        """Ask (non-blocking) whether to restore what a crashed session left unsaved."""
        from kling_studio.ui.dialogs.recovery_dialog import RecoveryDialog

        dialog = RecoveryDialog(recovery, self)
        dialog.restore_chosen.connect(self._on_recovery_restore_chosen)
        dialog.discard_chosen.connect(lambda r: r.discard())
        self.pending_recovery_dialog = dialog
        dialog.open()

    def _on_recovery_restore_chosen(self, recovery: Recovery) -> None:
        try:
            self.document.restore(recovery)
        except UserError as exc:
            self.show_message("The unsaved project could not be restored", str(exc), QMessageBox.Icon.Warning)
            return
        self.statusBar().showMessage(f"Restored “{recovery.name}” — save it to keep it", 6000)

    # ---- messages and dialogs ------------------------------------------------------------------------
    def show_message(self, title: str, text: str, icon_kind=QMessageBox.Icon.Information) -> None:
        """A non-blocking message box (replaces the previous one)."""
        if self._message is not None:
            self._message.deleteLater()
        box = QMessageBox(icon_kind, title, text, QMessageBox.StandardButton.Ok, self)
        self._message = box
        box.open()

    @property
    def message_box(self) -> QMessageBox | None:
        """The last message shown (for tests and accessibility tools)."""
        return self._message

    def show_refusal(self, reason: str) -> None:
        """An edit was refused: say why in the status bar."""
        self.statusBar().showMessage(reason, 6000)

    def show_key_dialog(self) -> None:
        """Open the fal key dialog (non-blocking); it shows only the last 4 characters of a stored key."""
        from kling_studio.ui.dialogs.key_dialog import KeyDialog

        try:
            info = self._key_store().get()
        except UserError:
            info = None  # FAL_KEY is malformed: let the user paste a good key
        dialog = KeyDialog(info.masked if info is not None else None, self)
        dialog.key_entered.connect(self._on_key_dialog_key_entered)
        if self._key_dialog is not None:
            self._key_dialog.deleteLater()
        self._key_dialog = dialog
        dialog.open()

    @property
    def key_dialog(self) -> KeyDialog | None:
        """The fal key dialog last opened."""
        return self._key_dialog

    def _key_store(self) -> KeyStore:
        if self._keys is None:
            from kling_studio.services.secrets import KeyStore  # the keyring loads only when needed

            self._keys = KeyStore()
        return self._keys

    def _on_key_dialog_key_entered(self, key: str) -> None:
        try:
            info = self._key_store().set(key)
        except UserError as exc:
            self.show_message("The key was not saved", str(exc), QMessageBox.Icon.Warning)
            return
        where = "in your system keyring" if info.source.value == "keyring" else "for this session only"
        restart = " Restart Kling Studio to generate on fal." if self._simulated else ""
        self.show_message("fal key saved", f"Key {info.masked} is kept {where}.{restart}")

    def ask_threshold(self) -> None:
        """Ask above which price Generate asks for confirmation."""
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Confirm above")
        dialog.setLabelText("Ask before generating when the price is above (USD, empty: never ask):")
        current = self.generate_action.threshold
        dialog.setTextValue("" if current is None else str(current))
        dialog.textValueSelected.connect(self._on_threshold_entered)
        dialog.open()

    def _on_threshold_entered(self, text: str) -> None:
        text = text.strip().lstrip("$")
        try:
            threshold = Decimal(text) if text else None
        except InvalidOperation:
            self.show_message("Not a price", f"“{text}” is not an amount like 2.50.")
            return
        self.set_threshold(threshold)

    def set_threshold(self, threshold: Decimal | None) -> None:
        """Confirm generations above ``threshold`` (None: never) and remember it."""
        self.generate_action.set_threshold(threshold)
        self._settings.setValue("confirm_above", "" if threshold is None else str(threshold))

    def _stored_threshold(self) -> Decimal | None:
        text = str(self._settings.value("confirm_above", "2.00") or "")
        try:
            return Decimal(text) if text else None
        except InvalidOperation:
            return None

    # ---- handlers ------------------------------------------------------------------------------------
    def _on_document_project_replaced(self, project: Project) -> None:
        self._bind(project)
        self._update_title()

    def _on_document_dirty_changed(self, dirty: bool) -> None:
        self.setWindowModified(dirty)

    def _update_title(self) -> None:
        self.setWindowTitle(self.document.window_title())
        self.setWindowModified(self.document.is_dirty)

    def _on_theme_scheme_changed(self, _scheme: str) -> None:
        if self.generate_action is None:
            return  # not built yet: build_content uses the new colours
        self._color_menu_icons()
        self._bind(self.document.project)

    def _on_live_updated(self, report) -> None:
        if self.brief_editor is not None:
            paths = (p.field_path for p in report.problems)
            brief_keys = {p.removeprefix("brief.") for p in paths if p.startswith("brief.")}
            self.brief_editor.set_problem_fields(brief_keys)
        self.action_generate.setEnabled(not report.errors and report.current is not None)

    def _shot_cost_text(self, shot_id: str) -> str:
        """A block's price as the cost meter states it; "" is the single-prompt clip."""
        if self.live is None:
            return ""
        report = self.live.report
        if not shot_id:
            return format_usd(report.current.total) if report.current is not None else ""
        cost = report.shot_cost(shot_id)
        return format_usd(cost) if cost is not None else ""

    def _on_problems_panel_problem_activated(self, problem: Problem) -> None:
        if problem.shot_index is not None and self.selection is not None:
            self.selection.select_index(problem.shot_index)
        if problem.field_path.startswith("brief.") and self.brief_editor is not None:
            self.brief_dock.show()
            self.brief_editor.focus_field(problem.field_path.removeprefix("brief."))
        elif self.inspector is not None:
            self.inspector_dock.show()
            self.inspector.focus_field(problem.field_path)

    def _on_timeline_edit_requested(self, shot_id: str) -> None:
        if self.selection is not None and shot_id:
            self.selection.select(shot_id)
        if self.inspector is not None:
            self.inspector_dock.show()
            self.inspector.focus_field("prompt")

    def _on_cost_meter_generate_requested(self) -> None:
        if self.live is None:
            return
        self.generate_action.request(self.document.project, self.live.report, self.document.path)

    def _on_generate_action_failed(self, reason: str) -> None:
        self.show_message("Nothing was sent", reason, QMessageBox.Icon.Warning)

    def _on_generate_action_submitted(self, job) -> None:
        self.statusBar().showMessage(f"Job sent: {job.project_name} ({job.tier})", 5000)

    # ---- closing -------------------------------------------------------------------------------------
    def _after_unsaved_question(self, then) -> None:
        """Run ``then()`` now, or after the user saved or discarded the unsaved changes."""
        if not self.document.is_dirty:
            then()
            return
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Unsaved changes")
        box.setText(f"Save the changes to “{self.document.display_name}”?")
        box.setInformativeText("Your changes are lost if you don't save them.")
        buttons = QMessageBox.StandardButton
        box.setStandardButtons(buttons.Save | buttons.Discard | buttons.Cancel)
        box.setDefaultButton(buttons.Save)

        def on_finished(_result: int) -> None:
            clicked = box.standardButton(box.clickedButton()) if box.clickedButton() else None
            if clicked == QMessageBox.StandardButton.Save:
                self.save(then)
            elif clicked == QMessageBox.StandardButton.Discard:
                then()
            box.deleteLater()

        box.finished.connect(on_finished)
        self._close_question = box
        box.open()

    @property
    def unsaved_question(self) -> QMessageBox | None:
        """The "save the changes?" box while it is open."""
        return self._close_question

    def close_without_asking(self) -> None:
        """Close even with unsaved changes (the recovery copy is removed)."""
        self._force_close = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask about unsaved changes first (non-blocking); close for good once they are dealt with."""
        if self._force_close or not self.document.is_dirty:
            if self.generate_action is not None:
                self.generate_action.cancel_all()
                self.outputs.close()
            self.references_dock.close()
            self.document.close()
            event.accept()
            self.closed.emit()
            return
        event.ignore()

        def close_for_good() -> None:
            self._force_close = True
            QTimer.singleShot(0, self.close)

        self._after_unsaved_question(close_for_good)

    def showEvent(self, event) -> None:
        """Size the docks for the window's first size: about a quarter of the width each side."""
        super().showEvent(event)
        if self.generate_action is not None:
            self._size_docks_once()

    def _set_dock_sizes(self, brief: int, inspector: int, bottom: int) -> None:
        self.resizeDocks([self.brief_dock, self.inspector_dock], [brief, inspector], Qt.Orientation.Horizontal)
        self.resizeDocks([self.problems_dock], [bottom], Qt.Orientation.Vertical)

    def _size_docks_once(self) -> None:
        # Only once the docks hold their editors (the app shows the empty frame first, then builds them):
        # sized while empty, the side docks took the width the editors then kept, squeezing the storyboard.
        if self._docks_sized:
            return
        self._docks_sized = True
        side = max(320, min(460, self.width() // 4))
        self._set_dock_sizes(side, side, max(140, self.height() // 5))

    # ---- drag and drop -------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept a dragged project file."""
        if _dropped_project(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """Open the dropped project file."""
        path = _dropped_project(event.mimeData())
        if path is not None:
            event.acceptProposedAction()
            self.open_path(path)


def _dropped_project(mime) -> Path | None:
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if path.suffix.lower() in PROJECT_SUFFIXES:
                return path
    return None


def build_self_test_window() -> MainWindow:
    """The window as the app builds it, for ``kling-studio --self-test`` (no services, no dialogs)."""
    from PySide6.QtWidgets import QApplication

    from kling_studio.services import paths
    from kling_studio.ui.document import RecentFiles

    app = QApplication.instance()
    theme = Theme(app)
    document = ProjectDocument(paths.data_dir() / "recovery", RecentFiles(paths.config_dir() / "recent.json"))
    settings = QSettings(str(paths.config_dir() / "window.ini"), QSettings.Format.IniFormat)
    window = MainWindow(document, theme, None, settings)
    window.resize(1280, 800)
    return window

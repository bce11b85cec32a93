"""The References dock of the main window, and what ties it to the rest of the window.

The reference library opens with the services (after the window's first paint), and the window rebinds its
editors whenever the document's project is replaced; :class:`ReferencesDock` follows both. For each
(project, library) pair it builds one :class:`ReferencesWorkspace` whose edits go on the document's undo
stack, gives the inspector's prompt editor ``@Element`` completion, and, when the project names images the
library lacks, says which (:func:`describe_missing`) and offers to show the References dock, where dropping
a library image on a missing slot relinks it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMessageBox, QPlainTextEdit, QTextEdit, QWidget

if TYPE_CHECKING:
    from PySide6.QtGui import QUndoStack

    from kling_studio.core.project import Project
    from kling_studio.core.references import Reference
    from kling_studio.services.reference_library import ReferenceLibrary
    from kling_studio.ui.references.workspace import ReferencesWorkspace

WAITING_TEXT = "The reference library opens with the job queue…"


class ReferencesDock(QObject):
    """Owns the "References" dock and its workspace for the window's current project.

    Args:
        window: The main window the dock is added to (tabified with ``beside`` when given).
        undo_stack: The document's undo stack; reference edits go on it.
        beside: A dock to share a tab group with.

    Attributes:
        dock: The dock widget; its ``toggleViewAction()`` belongs in the View menu.
        workspace: The current workspace, or None until both a project and the library are known.
        missing_box: The "images are missing" message while it is open (tests answer it).
    """

    def __init__(self, window: QMainWindow, undo_stack: QUndoStack, beside: QDockWidget | None = None) -> None:
        super().__init__(window)
        self._window = window
        self._undo_stack = undo_stack
        self.dock = QDockWidget("References", window)
        self.dock.setObjectName("referencesDock")
        self.dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        if beside is not None:
            window.tabifyDockWidget(beside, self.dock)
            beside.raise_()
        self._set_widget(self._waiting_label())
        self.workspace: ReferencesWorkspace | None = None
        self.missing_box: QMessageBox | None = None
        self._library: ReferenceLibrary | None = None
        self._project: Project | None = None
        self._prompt_editor: QPlainTextEdit | QTextEdit | None = None
        self._checked: tuple[int, int] | None = None  # (project, library) whose missing images were reported

    def set_library(self, library: ReferenceLibrary | None) -> None:
        """The services opened (or, with None, are about to close) the reference library."""
        self._library = library
        self._rebuild()

    def bind(self, project: Project, prompt_editor: QPlainTextEdit | QTextEdit | None) -> None:
        """Follow ``project``; ``prompt_editor`` (the inspector's) gets ``@Element`` completion."""
        self._project = project
        self._prompt_editor = prompt_editor
        self._rebuild()

    def close(self) -> None:
        """Stop the workspace's workers and stop following the project (the window is closing)."""
        self._drop_workspace()

    # ---- internals -----------------------------------------------------------------------------------
    def _rebuild(self) -> None:
        self._drop_workspace()
        if self._library is None or self._project is None:
            self._set_widget(self._waiting_label())
            return
        # Imported once the library is open: the image code loads PyAV and numpy, not needed for first paint.
        from kling_studio.ui.references.workspace import ReferencesWorkspace

        workspace = ReferencesWorkspace(self._project.references, self._undo_stack, self._library)
        if self._prompt_editor is not None:
            workspace.attach_completer(self._prompt_editor)
        self.workspace = workspace
        self._set_widget(workspace)
        key = (id(self._project), id(self._library))
        library, wanted = self._library, self._project.references.state.all_references()
        if key != self._checked and wanted:
            # Answered only while this workspace lives; a rebuild before the answer checks again.
            workspace.work.run(
                lambda: library.missing_references(wanted), lambda missing: self._on_missing_found(key, missing)
            )

    def _drop_workspace(self) -> None:
        if self.workspace is not None:
            self.workspace.close_workspace()
            self.workspace = None

    def _set_widget(self, widget: QWidget) -> None:
        old = self.dock.widget()
        self.dock.setWidget(widget)
        if old is not None:
            old.deleteLater()

    def _on_missing_found(self, key: tuple[int, int], missing: list[Reference]) -> None:
        from kling_studio.services.reference_library import describe_missing

        self._checked = key
        if not missing:
            return
        box = QMessageBox(self._window)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Reference images missing")
        box.setText(describe_missing(missing))
        show = box.addButton("Show References", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Later", QMessageBox.ButtonRole.RejectRole)

        def on_finished(_result: int) -> None:
            if box.clickedButton() is show:
                self.dock.show()
                self.dock.raise_()
            self.missing_box = None
            box.deleteLater()

        box.finished.connect(on_finished)
        self.missing_box = box
        box.open()

    def _waiting_label(self) -> QLabel:
        label = QLabel(WAITING_TEXT)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        return label

"""The references dock content: the library above the project's frames and elements, wired together.

The shell builds one per open project::

    workspace = ReferencesWorkspace(project.references, document.undo_stack, library)
    dock.setWidget(workspace)
    completer = workspace.attach_completer(prompt_edit)   # @Element completion in a prompt editor
    ...
    workspace.close_workspace()                             # before the project goes away

It owns the worker threads and the thumbnail cache, and closes them in :meth:`close_workspace`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QPlainTextEdit, QScrollArea, QSplitter, QTextEdit, QVBoxLayout, QWidget

from kling_studio.core.references import ProjectReferences
from kling_studio.services.reference_library import ReferenceLibrary
from kling_studio.ui.references.background import BackgroundWork
from kling_studio.ui.references.edits import ReferencesEditor
from kling_studio.ui.references.element_completer import ElementCompleter, attach_element_completer
from kling_studio.ui.references.library_panel import ReferenceLibraryPanel
from kling_studio.ui.references.references_editor import ShotReferencesEditor
from kling_studio.ui.references.thumbnails import ThumbnailCache


class ReferencesWorkspace(QWidget):
    """Library panel + frames/elements editor for one project's references."""

    def __init__(
        self,
        references: ProjectReferences,
        undo_stack: QUndoStack,
        library: ReferenceLibrary,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("referencesWorkspace")
        self.references = references
        self.work = BackgroundWork(self)
        self.thumbnails = ThumbnailCache(library, self.work, self)
        self.editor = ReferencesEditor(references, undo_stack)
        self.library_panel = ReferenceLibraryPanel(library, self.thumbnails, self.work, self)
        self.references_editor = ShotReferencesEditor(references, self.editor, library, self.thumbnails, self)
        self.library_panel.use_requested.connect(self.references_editor.use_reference)
        self.library_panel.imported.connect(lambda _sha: self.references_editor.refresh())
        self._completers: list[ElementCompleter] = []
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.references_editor)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.library_panel)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def attach_completer(self, editor: QPlainTextEdit | QTextEdit) -> ElementCompleter:
        """Give a prompt editor ``@Element`` completion; detached again by :meth:`close_workspace`."""
        completer = attach_element_completer(editor, self.references)
        self._completers.append(completer)
        return completer

    def close_workspace(self) -> None:
        """Stop the workers and stop following the project (call before either goes away)."""
        for completer in self._completers:
            completer.detach()
        self._completers.clear()
        self.references_editor.detach()
        self.work.close()

"""Undoable edits of a project's references, pushed on the document's undo stack.

Each edit records the references' state before and after (:class:`ReferencesState` is immutable), so undo
restores exactly what was there. An edit the model refuses (a fourth reference image) raises
:class:`~kling_studio.core.references.ReferenceEditError`, changes nothing and pushes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand, QUndoStack

from kling_studio.core.references import ProjectReferences, Reference, ReferencesState

_RENAME_ID = 4201


class ReferencesCommand(QUndoCommand):
    """One edit of the references: the state before and after it (already applied when pushed)."""

    def __init__(
        self, references: ProjectReferences, before: ReferencesState, after: ReferencesState, text: str
    ) -> None:
        super().__init__(text)
        self._references = references
        self.before = before
        self.after = after
        self._merge_key: tuple[int, int] | None = None
        self._first = True

    def id(self) -> int:
        return _RENAME_ID if self._merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, ReferencesCommand) or other._merge_key != self._merge_key:
            return False
        self.after = other.after
        return True

    def redo(self) -> None:
        if self._first:
            self._first = False
            return
        self._references.restore(self.after)

    def undo(self) -> None:
        self._references.restore(self.before)


class ReferencesEditor:
    """The one place widgets change a project's references."""

    def __init__(self, references: ProjectReferences, undo_stack: QUndoStack) -> None:
        self.references = references
        self.undo_stack = undo_stack

    def set_start_frame(self, reference: Reference | None) -> None:
        """Set or clear the start frame (the project then uses the image-to-video endpoint, or stops)."""
        text = "Set start frame" if reference else "Clear start frame"
        self._edit(text, lambda: self.references.set_start_frame(reference))

    def set_end_frame(self, reference: Reference | None) -> None:
        """Set or clear the end frame."""
        text = "Set end frame" if reference else "Clear end frame"
        self._edit(text, lambda: self.references.set_end_frame(reference))

    def add_element(self, name: str, frontal: Reference | None = None) -> int:
        """Add an element (``@Element{n}``); returns its index."""
        index: list[int] = []
        self._edit("Add element", lambda: index.append(self.references.add_element(name, frontal)))
        return index[0] if index else len(self.references.elements) - 1

    def remove_element(self, index: int) -> None:
        """Remove an element (later ones move up a number)."""
        self._edit("Remove element", lambda: self.references.remove_element(index))

    def rename_element(self, index: int, name: str) -> None:
        """Rename an element; consecutive renames of one element undo as one."""
        self._edit("Rename element", lambda: self.references.rename_element(index, name), merge=(index, 0))

    def set_element_frontal(self, index: int, reference: Reference | None) -> None:
        """Set or clear an element's frontal image."""
        self._edit("Set frontal image", lambda: self.references.set_element_frontal(index, reference))

    def add_element_reference(self, index: int, reference: Reference) -> None:
        """Add a reference view to an element (at most three)."""
        self._edit("Add reference image", lambda: self.references.add_element_reference(index, reference))

    def remove_element_reference(self, index: int, position: int) -> None:
        """Remove one reference view of an element."""
        self._edit("Remove reference image", lambda: self.references.remove_element_reference(index, position))

    def relink(self, old_sha256: str, new: Reference) -> None:
        """Point every use of a missing image at a library image."""
        self._edit(f"Relink {new.label}", lambda: self.references.relink(old_sha256, new))

    def _edit(self, text: str, change: Callable[[], object], merge: tuple[int, int] | None = None) -> None:
        before = self.references.state
        try:
            change()
        except Exception:
            self.references.restore(before)
            raise
        after = self.references.state
        if after == before:
            return
        command = ReferencesCommand(self.references, before, after, text)
        command._merge_key = merge
        self.undo_stack.push(command)

"""The shots as an accessible list: the same storyboard as the timeline, for screen readers and the keyboard.

:class:`ShotListModel` is a Qt list model over ``project.storyboard`` (one row per shot, or one row for the
single prompt); :class:`ShotListView` shows it and keeps its current row in step with the
:class:`~kling_studio.ui.selection.ShotSelection` the timeline and inspector share.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

from kling_studio.core.limits import MAX_TOTAL_SECONDS, Mode, ShotType
from kling_studio.core.project import Project
from kling_studio.core.storyboard import StoryboardError
from kling_studio.core.validation import validate
from kling_studio.ui.edits import ProjectEditor
from kling_studio.ui.selection import ShotSelection

ShotIdRole = Qt.ItemDataRole.UserRole + 1
"""The shot's id ("" for the single prompt)."""
ProblemRole = Qt.ItemDataRole.UserRole + 2
"""The first error about the shot, or ""."""

_Index = QModelIndex | QPersistentModelIndex
_EXCERPT_CHARS = 60


def excerpt(text: str, limit: int = _EXCERPT_CHARS) -> str:
    """The prompt on one line, cut at a word with an ellipsis when long."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] or flat[:limit]
    return cut.rstrip(",.;:") + "…"


def row_change(old: list[str], new: list[str]) -> tuple[str, int, int] | None:
    """How the rows ``old`` became ``new``, when it took one step.

    Returns:
        ("insert", row, row), ("remove", row, row), ("move", from_row, to_row), or None for anything else.
    """
    if len(new) == len(old) + 1:
        for row in range(len(new)):
            if new[:row] + new[row + 1 :] == old:
                return ("insert", row, row)
    elif len(new) == len(old) - 1:
        for row in range(len(old)):
            if old[:row] + old[row + 1 :] == new:
                return ("remove", row, row)
    elif len(new) == len(old) and sorted(new) == sorted(old):
        for source, key in enumerate(old):
            destination = new.index(key)
            if (
                source != destination
                and old[:source] + old[source + 1 :] == new[:destination] + new[destination + 1 :]
            ):
                return ("move", source, destination)
    return None


class ShotListModel(QAbstractListModel):
    """One row per shot: ``1. 4 s — A lighthouse at dawn…``; the single prompt is one row.

    Args:
        project: The project whose storyboard is listed.
        cost_for: Price text of a shot by id ("" for the single prompt), read out to screen readers; optional.
        parent: Qt parent.
    """

    def __init__(
        self,
        project: Project,
        cost_for: Callable[[str], str] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._project = project
        self._cost_for = cost_for
        self._keys: list[str] = []
        self._problems: dict[str, str] = {}
        self._read()
        project.changed.connect(self._on_project_changed)

    # ---- reading ---------------------------------------------------------------------------------------
    def shot_id(self, row: int) -> str:
        """The id shown on ``row`` ("" for the single prompt)."""
        return self._keys[row]

    def row_of(self, shot_id: str) -> int:
        """The row showing ``shot_id``, or -1."""
        return self._keys.index(shot_id) if shot_id in self._keys else -1

    def detach(self) -> None:
        """Stop following the project (before it is replaced)."""
        self._project.changed.disconnect(self._on_project_changed)

    # ---- Qt model --------------------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's own signature
        """Number of shots (a flat list has no children)."""
        return 0 if parent.isValid() else len(self._keys)

    def flags(self, index: _Index) -> Qt.ItemFlag:
        """Rows can be selected; they have no children."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """Display line, tooltip, screen-reader text, the shot id and its first problem."""
        if not index.isValid() or not 0 <= index.row() < len(self._keys) or index.column() != 0:
            return None
        key = self._keys[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(index.row(), key)
        if role == Qt.ItemDataRole.ToolTipRole:
            problem = self._problems.get(key, "")
            prompt = self._prompt(key) or "No prompt yet"
            return f"{problem}\n\n{prompt}" if problem else prompt
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self._spoken(index.row(), key)
        if role == Qt.ItemDataRole.AccessibleDescriptionRole:
            return self._problems.get(key, "")
        if role == ShotIdRole:
            return key
        if role == ProblemRole:
            return self._problems.get(key, "")
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        """The list's title."""
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal and section == 0:
            return "Shots"
        return None

    # ---- internals -------------------------------------------------------------------------------------
    def _read(self) -> None:
        board = self._project.storyboard
        self._keys = [s.id for s in board.shots] if board.mode is Mode.MULTI else [""]
        problems: dict[str, str] = {}
        for problem in validate(self._project):
            if not problem.is_error:
                continue
            if board.mode is Mode.MULTI and problem.shot_index is not None:
                if 0 <= problem.shot_index < len(self._keys):
                    problems.setdefault(self._keys[problem.shot_index], problem.message)
            elif board.mode is Mode.SINGLE and problem.field_path in ("prompt", "duration"):
                problems.setdefault("", problem.message)
        self._problems = problems

    def _seconds(self, key: str) -> int:
        board = self._project.storyboard
        return board.shots[board.index_of(key)].duration if key else board.duration

    def _prompt(self, key: str) -> str:
        board = self._project.storyboard
        return board.shots[board.index_of(key)].prompt if key else board.prompt

    def _display(self, row: int, key: str) -> str:
        text = excerpt(self._prompt(key)) or "(no prompt yet)"
        if not key:
            kind = (
                "Intelligent" if self._project.settings.shot_type == ShotType.INTELLIGENT else "Single prompt"
            )
            return f"{kind} · {self._seconds(key)} s — {text}"
        return f"{row + 1}. {self._seconds(key)} s — {text}"

    def _spoken(self, row: int, key: str) -> str:
        seconds = self._seconds(key)
        unit = "second" if seconds == 1 else "seconds"
        if key:
            parts = [f"Shot {row + 1} of {len(self._keys)}, {seconds} {unit}"]
        else:
            parts = [f"Single prompt, {seconds} {unit} of {MAX_TOTAL_SECONDS}"]
        if self._cost_for is not None:
            try:
                price = self._cost_for(key)
            except Exception:  # an unknown price must not break the list
                price = ""
            if price:
                parts.append(price)
        parts.append(self._prompt(key).strip() or "no prompt yet")
        if key in self._problems:
            parts.append(f"problem: {self._problems[key]}")
        return ", ".join(parts)

    def _on_project_changed(self) -> None:
        old_keys = self._keys
        board = self._project.storyboard
        new_keys = [s.id for s in board.shots] if board.mode is Mode.MULTI else [""]
        if new_keys != old_keys:
            # A moved shot is announced as a row move, so views keep their place and screen readers hear
            # a small change. Inserts and removals reset: every later row's number changes with them, which
            # row-insert semantics (and qtmodeltester) do not allow.
            change = row_change(old_keys, new_keys)
            if change is None or change[0] != "move":
                self.beginResetModel()
                self._read()
                self.endResetModel()
                return
            _kind, source, destination = change
            root = QModelIndex()
            self.beginMoveRows(
                root, source, source, root, destination + 1 if destination > source else destination
            )
            self._read()
            self.endMoveRows()
        else:
            self._read()
        if self._keys:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._keys) - 1, 0))


class ShotListView(QListView):
    """The shot list, its current row tied to a :class:`ShotSelection`.

    Keys (with an editor): Ctrl+Up/Down move the shot, Delete removes it, Enter asks to edit it.

    Args:
        model: The list model.
        selection: The current shot, shared with the timeline.
        editor: Where keyboard edits go; None makes the list read-only.
        parent: Qt parent.

    Signals:
        edit_requested(str): Enter or double-click on a row (the shot id, "" for the single prompt).
        edit_refused(str): an edit was refused; the message says why.
    """

    edit_requested = Signal(str)
    edit_refused = Signal(str)

    def __init__(
        self,
        model: ShotListModel,
        selection: ShotSelection,
        editor: ProjectEditor | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._shots = model
        self._selection = selection
        self._editor = editor
        self.setModel(model)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setUniformItemSizes(True)
        self.setSpacing(2)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setAccessibleName("Shots")
        self.setAccessibleDescription(
            "The storyboard's shots in order; the current one is edited in the inspector"
        )
        self.selectionModel().currentChanged.connect(self._on_selection_model_current_changed)
        selection.current_changed.connect(self._on_selection_current_changed)
        model.modelReset.connect(self._on_model_reset)
        self.doubleClicked.connect(self._on_self_double_clicked)
        self._show_current(selection.current_id)

    def detach(self) -> None:
        """Stop following the selection (before the project is replaced)."""
        self._selection.current_changed.disconnect(self._on_selection_current_changed)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter edits; with an editor, Ctrl+Up/Down move and Delete removes the current shot."""
        key = event.key()
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        current = self.currentIndex()
        shot_id = current.data(ShotIdRole) if current.isValid() else None
        if shot_id is not None and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.edit_requested.emit(shot_id)
            return
        if self._editor is not None and shot_id:
            if ctrl and key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
                destination = current.row() + (-1 if key == Qt.Key.Key_Up else 1)
                if 0 <= destination < self._shots.rowCount():
                    self._attempt(self._editor.move_shot, shot_id, destination)
                return
            if key == Qt.Key.Key_Delete and not ctrl:
                self._attempt(self._editor.remove_shot, shot_id)
                return
        super().keyPressEvent(event)

    def _attempt(self, operation: Callable[..., object], *args: object) -> None:
        try:
            operation(*args)
        except StoryboardError as exc:
            self.edit_refused.emit(str(exc))
        self._show_current(self._selection.current_id)

    def _show_current(self, shot_id: str) -> None:
        row = self._shots.row_of(shot_id)
        if row < 0:
            return
        index = self._shots.index(row, 0)
        if self.currentIndex() != index:
            self.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def _on_selection_model_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        shot_id = current.data(ShotIdRole) if current.isValid() else ""
        if shot_id:
            self._selection.select(shot_id)

    def _on_selection_current_changed(self, shot_id: str) -> None:
        self._show_current(shot_id)

    def _on_model_reset(self) -> None:
        self._show_current(self._selection.current_id)

    def _on_self_double_clicked(self, index: QModelIndex) -> None:
        self.edit_requested.emit(index.data(ShotIdRole))

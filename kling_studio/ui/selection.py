"""Which shot is current: a small model shared by the timeline, the shot list and the inspector."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from kling_studio.core.project import Project


class ShotSelection(QObject):
    """The current shot of a project's storyboard, by id ("" when there is none).

    It follows the storyboard: when the current shot is deleted (or merged away), its neighbour at the same
    position becomes current; when shots appear and none is current, the first one does.

    Args:
        project: The project whose shots are selected.
        parent: Qt parent.

    Signals:
        current_changed(str): the current shot's id ("" for none).
    """

    current_changed = Signal(str)

    def __init__(self, project: Project, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._board = project.storyboard
        self._ids = self._shot_ids()
        self._current = self._ids[0] if self._ids else ""
        self._board.changed.connect(self._on_storyboard_changed)

    @property
    def current_id(self) -> str:
        """The current shot's id, or "" when the storyboard has no shots."""
        return self._current

    @property
    def current_index(self) -> int:
        """The current shot's position (0-based), or -1."""
        return self._ids.index(self._current) if self._current in self._ids else -1

    def select(self, shot_id: str) -> None:
        """Make ``shot_id`` current ("" clears the selection).

        Raises:
            KeyError: the storyboard has no shot with that id.
        """
        if shot_id and shot_id not in self._ids:
            raise KeyError(f"there is no shot with id {shot_id!r}")
        self._set(shot_id)

    def select_index(self, index: int) -> None:
        """Make the shot at ``index`` current, clamped to the storyboard (nothing happens with no shots)."""
        if self._ids:
            self._set(self._ids[max(0, min(index, len(self._ids) - 1))])

    def select_next(self, step: int = 1) -> None:
        """Move the selection ``step`` shots right (negative: left), stopping at the ends."""
        if self._ids:
            self.select_index(max(0, self.current_index) + step if self.current_index >= 0 else 0)

    def detach(self) -> None:
        """Stop following the storyboard (before the project is replaced)."""
        self._board.changed.disconnect(self._on_storyboard_changed)

    def _shot_ids(self) -> list[str]:
        return [shot.id for shot in self._board.shots]

    def _set(self, shot_id: str) -> None:
        if shot_id != self._current:
            self._current = shot_id
            self.current_changed.emit(shot_id)

    def _on_storyboard_changed(self) -> None:
        old_ids, self._ids = self._ids, self._shot_ids()
        if self._current in self._ids:
            return
        if not self._ids:
            self._set("")
            return
        position = old_ids.index(self._current) if self._current in old_ids else 0
        self._set(self._ids[min(position, len(self._ids) - 1)])

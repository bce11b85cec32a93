"""Every user edit of a project, as an undoable command on a :class:`QUndoStack`.

Widgets never change the project's models themselves: they call :class:`ProjectEditor`, which applies the
change and pushes one command. A command keeps the project's state before and after as immutable values
(:class:`ProjectSnapshot`), so undo puts back exactly what was there, however many model steps the edit took
(a preset, a mode switch that also changes the shot type).

Shots are addressed by id, not position, so a command stays meaningful after other shots move. An edit the
storyboard refuses raises :class:`~kling_studio.core.storyboard.StoryboardError` (its message is for the
user), leaves the project as it was and pushes nothing. An edit that changes nothing pushes nothing either.

Typing merges: consecutive edits of the same text field (a brief section, the single prompt, one shot's
prompt, the negative prompt) or of the same continuous control (the cfg slider) become one command, so one
undo takes back a whole burst of typing rather than one character.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from PySide6.QtGui import QUndoCommand, QUndoStack

from kling_studio.core.brief import BriefText
from kling_studio.core.limits import Mode, ShotType
from kling_studio.core.project import Project
from kling_studio.core.settings import SettingsValues
from kling_studio.core.storyboard import StoryboardError, StoryboardState

#: Settings whose edits arrive as a stream (a slider, a text box) and merge into one command.
CONTINUOUS_SETTINGS = frozenset({"cfg_scale", "negative_prompt"})


@dataclass(frozen=True)
class ProjectSnapshot:
    """Everything an edit can change, as immutable values."""

    brief: BriefText
    storyboard: StoryboardState
    settings: SettingsValues
    prompt_follows_brief: bool

    @classmethod
    def of(cls, project: Project) -> ProjectSnapshot:
        """The project's editable state right now."""
        return cls(
            project.brief.text,
            project.storyboard.state,
            project.settings.values,
            project.prompt_follows_brief,
        )

    def restore_into(self, project: Project) -> None:
        """Make ``project`` hold exactly this state again.

        Settings and the brief go first because their change events may rebuild the single prompt; the
        storyboard goes last so it ends exactly as recorded.
        """
        project.prompt_follows_brief = self.prompt_follows_brief
        project.settings.replace_all(self.settings)
        project.brief.replace_all(self.brief)
        project.storyboard.restore(self.storyboard)


class MergeKind(IntEnum):
    """Kinds of commands that merge with their predecessor (the value is the QUndoCommand ``id()``)."""

    BRIEF_FIELD = 4101
    PROMPT = 4102
    SHOT_PROMPT = 4103
    SETTING = 4104


class SnapshotCommand(QUndoCommand):
    """One edit: the project's state before and after it.

    The edit has already been applied when the command is pushed, so the first ``redo()`` (which
    :meth:`QUndoStack.push` calls) does nothing.

    Args:
        project: The project the edit changed.
        text: The undo menu's wording, e.g. "Resize shot 2".
        before: The state before the edit.
        after: The state after it.
        merge: The kind of merging edit, or None for an edit that stands alone.
        merge_key: What must match for two merging edits to merge (the field, the shot id, the setting).
    """

    def __init__(
        self,
        project: Project,
        text: str,
        before: ProjectSnapshot,
        after: ProjectSnapshot,
        merge: MergeKind | None = None,
        merge_key: str = "",
    ) -> None:
        super().__init__(text)
        self._project = project
        self.before = before
        self.after = after
        self._merge = merge
        self.merge_key = merge_key
        self._applied = True

    def id(self) -> int:
        """The merge kind, or -1 (never merges)."""
        return int(self._merge) if self._merge is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        """Absorb the next edit of the same field; an edit typed back to where it started disappears."""
        if not isinstance(other, SnapshotCommand) or other.id() != self.id():
            return False
        if other.merge_key != self.merge_key:
            return False
        self.after = other.after
        self.setObsolete(self.after == self.before)
        return True

    def redo(self) -> None:
        """Apply the edit (skipped on push: it is already applied)."""
        if self._applied:
            self._applied = False
            return
        self.after.restore_into(self._project)

    def undo(self) -> None:
        """Put back the state before the edit."""
        self.before.restore_into(self._project)


class ProjectEditor:
    """The one way widgets change a project: each method is one undoable command.

    Args:
        project: The project to edit.
        undo_stack: Where the commands go (the document's stack; its clean state means "saved").

    Methods raise :class:`StoryboardError` when the storyboard refuses an edit; nothing is pushed then and
    the caller shows the message.
    """

    def __init__(self, project: Project, undo_stack: QUndoStack) -> None:
        self._project = project
        self._stack = undo_stack

    @property
    def project(self) -> Project:
        """The project being edited."""
        return self._project

    @property
    def undo_stack(self) -> QUndoStack:
        """The stack the commands go to."""
        return self._stack

    # ---- asking ---------------------------------------------------------------------------------------
    def refusal(self, operation: str, shot_id: str, *args: object) -> str | None:
        """Why a shot operation would be refused (for a greyed-out menu item's tooltip), or None.

        ``operation`` is a storyboard operation taking a shot position first: ``remove_shot``,
        ``move_shot``, ``resize_shot``, ``split_shot``, ``merge_shots``, ``duplicate_shot``.
        """
        board = self._project.storyboard
        try:
            index = board.index_of(shot_id)
        except StoryboardError as exc:
            return str(exc)
        return board.refusal(operation, index, *args)

    def shot_number(self, shot_id: str) -> int:
        """The shot's position counted from 1, as people count."""
        return self._project.storyboard.index_of(shot_id) + 1

    # ---- text -----------------------------------------------------------------------------------------
    def set_brief_field(self, key: str, text: str) -> None:
        """Change one brief section (typing in the same section merges)."""
        label = key.replace("_", " ")
        self._edit(
            f"Edit brief: {label}",
            lambda: self._project.brief.set(key, text),
            MergeKind.BRIEF_FIELD,
            key,
        )

    def set_prompt(self, text: str) -> None:
        """Change the single prompt by hand; it then stops following the brief (undo restores that)."""

        def change() -> None:
            self._project.prompt_follows_brief = False
            self._project.storyboard.set_prompt(text)

        self._edit("Edit prompt", change, MergeKind.PROMPT, "prompt")

    def rebuild_prompt_from_brief(self) -> None:
        """Make the single prompt follow the brief again and rebuild it now."""

        def change() -> None:
            self._project.prompt_follows_brief = True
            self._project.sync_prompt_from_brief()

        self._edit("Rebuild prompt from brief", change)

    def set_shot_prompt(self, shot_id: str, text: str) -> None:
        """Change one shot's prompt (typing in the same shot merges)."""
        board = self._project.storyboard
        index = board.index_of(shot_id)
        self._edit(
            f"Edit shot {index + 1} prompt",
            lambda: board.set_shot_prompt(board.index_of(shot_id), text),
            MergeKind.SHOT_PROMPT,
            shot_id,
        )

    # ---- settings -------------------------------------------------------------------------------------
    def set_setting(self, name: str, value: Any, *, merge: bool | None = None) -> None:
        """Change one generation setting.

        Args:
            name: A :class:`~kling_studio.core.settings.SettingsValues` field, e.g. ``tier``.
            value: The new value.
            merge: Merge with the previous edit of the same setting; by default only continuous controls
                (:data:`CONTINUOUS_SETTINGS`) merge.
        """
        if not hasattr(self._project.settings.values, name):
            raise AttributeError(f"there is no setting named {name!r}")
        if merge is None:
            merge = name in CONTINUOUS_SETTINGS
        self._edit(
            f"Change {name.replace('_', ' ')}",
            lambda: self._project.settings.set(name, value),
            MergeKind.SETTING if merge else None,
            name,
        )

    def set_shot_type(self, shot_type: ShotType, *, keep: str = "existing") -> None:
        """Choose who plans the cuts; ``intelligent`` also switches to a single prompt, in one command.

        Args:
            shot_type: customize (the user's shots) or intelligent (Kling plans the cut from one prompt).
            keep: When switching to a single prompt: keep the existing single prompt (``"existing"``) or
                join the shots' prompts into it (``"shots"``).
        """
        shot_type = ShotType(shot_type)

        def change() -> None:
            if shot_type is ShotType.INTELLIGENT:
                self._switch_to_single(keep)
            self._project.settings.set("shot_type", shot_type)

        label = "Let Kling plan the cuts" if shot_type is ShotType.INTELLIGENT else "Plan the shots myself"
        self._edit(label, change)

    # ---- storyboard -----------------------------------------------------------------------------------
    def set_mode(self, mode: Mode, *, keep: str = "existing") -> None:
        """Switch between a single prompt and multi-shot without losing text.

        Going to multi-shot also sets the shot type to customize (intelligent plans its own cuts).
        ``keep`` is as for :meth:`Storyboard.set_mode`.
        """
        mode = Mode(mode)

        def change() -> None:
            if mode is Mode.MULTI:
                self._project.storyboard.set_mode(mode)
                self._project.settings.set("shot_type", ShotType.CUSTOMIZE)
            else:
                self._switch_to_single(keep)

        self._edit("Switch to shots" if mode is Mode.MULTI else "Switch to a single prompt", change)

    def set_single_duration(self, seconds: int) -> None:
        """Change the single prompt's duration (3–15 s)."""
        self._edit("Change duration", lambda: self._project.storyboard.set_duration(seconds))

    def insert_shot(self, index: int) -> str:
        """Add an empty shot before position ``index`` (0-based) and return its id.

        From a single prompt this first switches to shots (the prompt becomes shot 1), in the same command.
        """
        board = self._project.storyboard
        created: list[str] = []

        def change() -> None:
            if board.mode is Mode.SINGLE:
                board.set_mode(Mode.MULTI)
                self._project.settings.set("shot_type", ShotType.CUSTOMIZE)
            position = max(0, min(index, len(board.shots)))
            created.append(board.insert_shot(position).id)

        self._edit(f"Add shot {max(0, index) + 1}", change)
        return created[0]

    def remove_shot(self, shot_id: str) -> None:
        """Delete a shot."""
        board = self._project.storyboard
        index = board.index_of(shot_id)
        self._edit(f"Delete shot {index + 1}", lambda: board.remove_shot(index))

    def move_shot(self, shot_id: str, destination: int) -> None:
        """Move a shot so it ends up at position ``destination`` (0-based)."""
        board = self._project.storyboard
        index = board.index_of(shot_id)
        self._edit(
            f"Move shot {index + 1} to {destination + 1}",
            lambda: board.move_shot(index, destination),
        )

    def resize_shot(self, shot_id: str, seconds: int) -> None:
        """Give a shot a new duration in whole seconds."""
        board = self._project.storyboard
        index = board.index_of(shot_id)
        self._edit(f"Resize shot {index + 1} to {seconds} s", lambda: board.resize_shot(index, seconds))

    def split_shot(self, shot_id: str, at: int | None = None) -> str:
        """Cut a shot in two after ``at`` seconds (the middle by default); return the second part's id."""
        board = self._project.storyboard
        index = board.index_of(shot_id)
        self._edit(f"Split shot {index + 1}", lambda: board.split_shot(index, at))
        return board.shots[index + 1].id

    def merge_shots(self, shot_id: str) -> None:
        """Join a shot with the next one (durations add up, both prompts kept)."""
        board = self._project.storyboard
        index = board.index_of(shot_id)
        self._edit(f"Merge shots {index + 1} and {index + 2}", lambda: board.merge_shots(index))

    def duplicate_shot(self, shot_id: str) -> str:
        """Insert a copy of a shot right after it; return the copy's id."""
        board = self._project.storyboard
        index = board.index_of(shot_id)
        created: list[str] = []
        self._edit(f"Duplicate shot {index + 1}", lambda: created.append(board.duplicate_shot(index).id))
        return created[0]

    # ---- whole project --------------------------------------------------------------------------------
    def apply_preset(self, slug: str) -> None:
        """Replace the brief, storyboard and settings with a preset's, as one command."""
        # Imported here: presets load the bundled preset files only when one is applied.
        from kling_studio.core.presets import new_project_from_preset

        preset = new_project_from_preset(slug)
        self._edit(f"Apply preset {slug}", lambda: ProjectSnapshot.of(preset).restore_into(self._project))

    # ---- internals ------------------------------------------------------------------------------------
    def _switch_to_single(self, keep: str) -> None:
        board = self._project.storyboard
        if keep == "shots" and board.mode is Mode.MULTI and board.shots:
            # The shots' text is the user's own words now: a later brief edit must not replace it.
            self._project.prompt_follows_brief = False
        board.set_mode(Mode.SINGLE, keep=keep)

    def _edit(
        self,
        text: str,
        change: Callable[[], object],
        merge: MergeKind | None = None,
        merge_key: str = "",
    ) -> None:
        project = self._project
        before = ProjectSnapshot.of(project)
        try:
            change()
        except Exception:
            if ProjectSnapshot.of(project) != before:
                before.restore_into(project)  # a refused second step must not leave the first applied
            raise
        after = ProjectSnapshot.of(project)
        if after == before:
            return
        self._stack.push(SnapshotCommand(project, text, before, after, merge, merge_key))

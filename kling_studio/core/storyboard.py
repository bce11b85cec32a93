"""The storyboard: one prompt for the whole clip, or 1–6 shots of whole seconds, 3–15 s in total.

Every operation either leaves the storyboard within the API's bounds or raises
:class:`StoryboardError` saying why, with the storyboard untouched. A storyboard loaded from a file may
already break a rule (a hand-edited 16 s total); operations on it are allowed when they do not make that
rule's violation worse, so the user can always edit their way back to a valid clip.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from kling_studio.core.errors import UserError
from kling_studio.core.events import Event
from kling_studio.core.limits import (
    DEFAULT_DURATION,
    MAX_SHOT_SECONDS,
    MAX_SHOTS,
    MAX_TOTAL_SECONDS,
    MIN_SHOT_SECONDS,
    MIN_SHOTS,
    MIN_TOTAL_SECONDS,
    Mode,
)


class StoryboardError(UserError):
    """An operation was refused; the message says why in the user's words."""


def new_shot_id() -> str:
    """A short random id that stays with a shot through moves and undo."""
    return uuid.uuid4().hex[:10]


@dataclass(frozen=True)
class Shot:
    """One shot: what happens and for how many whole seconds."""

    prompt: str
    duration: int
    id: str = field(default_factory=new_shot_id)


@dataclass(frozen=True)
class StoryboardState:
    """An immutable copy of a storyboard, for undo and for comparisons."""

    mode: Mode
    prompt: str
    duration: int
    shots: tuple[Shot, ...]


class Storyboard:
    """The live storyboard model; ``changed`` fires after every change that took effect."""

    def __init__(
        self,
        *,
        mode: Mode = Mode.SINGLE,
        prompt: str = "",
        duration: int = DEFAULT_DURATION,
        shots: Sequence[Shot] = (),
    ) -> None:
        self._state = StoryboardState(Mode(mode), prompt, int(duration), tuple(shots))
        self.changed: Event[[]] = Event("storyboard.changed")

    # ---- reading -----------------------------------------------------------------------------------
    @property
    def state(self) -> StoryboardState:
        """The whole storyboard as an immutable value."""
        return self._state

    @property
    def mode(self) -> Mode:
        """Single prompt or multi-shot."""
        return self._state.mode

    @property
    def prompt(self) -> str:
        """The single prompt (kept while in multi-shot mode, so switching back loses nothing)."""
        return self._state.prompt

    @property
    def duration(self) -> int:
        """The single prompt's duration in seconds."""
        return self._state.duration

    @property
    def shots(self) -> tuple[Shot, ...]:
        """The multi-shot storyboard's shots, in order."""
        return self._state.shots

    @property
    def total_seconds(self) -> int:
        """Length of the clip that would be generated."""
        if self._state.mode is Mode.MULTI:
            return sum(s.duration for s in self._state.shots)
        return self._state.duration

    @property
    def remaining_seconds(self) -> int:
        """Seconds still free under the 15 s limit (never negative)."""
        return max(0, MAX_TOTAL_SECONDS - self.total_seconds)

    def index_of(self, shot_id: str) -> int:
        """Position of the shot with ``shot_id``."""
        for i, shot in enumerate(self._state.shots):
            if shot.id == shot_id:
                return i
        raise StoryboardError(f"There is no shot with id {shot_id!r}.")

    def shot_start(self, index: int) -> int:
        """Second at which shot ``index`` starts."""
        return sum(s.duration for s in self._state.shots[:index])

    def refusal(self, operation: str, *args: object) -> str | None:
        """Why ``operation(*args)`` would be refused, or None when it would succeed (nothing changes)."""
        planner = getattr(self, f"_plan_{operation}")
        try:
            planner(*args)
        except StoryboardError as exc:
            return str(exc)
        return None

    # ---- whole-state changes (undo/redo, loading) -------------------------------------------------
    def restore(self, state: StoryboardState) -> None:
        """Put back a state taken earlier with :attr:`state` (used by undo)."""
        self._apply(state)

    # ---- single prompt ------------------------------------------------------------------------------
    def set_prompt(self, text: str) -> None:
        """Change the single prompt."""
        self._apply(replace(self._state, prompt=text))

    def set_duration(self, seconds: int) -> None:
        """Change the single prompt's duration (3–15 s)."""
        self._apply(self._plan_set_duration(seconds))

    def _plan_set_duration(self, seconds: int) -> StoryboardState:
        seconds = _whole_seconds(seconds)
        if not MIN_TOTAL_SECONDS <= seconds <= MAX_TOTAL_SECONDS:
            raise StoryboardError(
                f"A clip lasts {MIN_TOTAL_SECONDS}–{MAX_TOTAL_SECONDS} s; {seconds} s is not possible."
            )
        return replace(self._state, duration=seconds)

    # ---- mode ---------------------------------------------------------------------------------------
    def set_mode(self, mode: Mode, *, keep: str = "existing") -> None:
        """Switch between single prompt and multi-shot without losing text.

        Going to multi-shot with no shots yet turns the single prompt into the first shot. Going back to a
        single prompt keeps the single prompt (``keep="existing"``) or replaces it with the shots' prompts
        joined in order and their total duration (``keep="shots"``); the shots stay stored either way.
        """
        self._apply(self._plan_set_mode(mode, keep))

    def _plan_set_mode(self, mode: Mode, keep: str = "existing") -> StoryboardState:
        mode = Mode(mode)
        state = self._state
        if mode is state.mode:
            return state
        if mode is Mode.MULTI:
            shots = state.shots or (Shot(state.prompt, _clamp(state.duration, 1, MAX_SHOT_SECONDS)),)
            return replace(state, mode=mode, shots=shots)
        if keep == "shots" and state.shots:
            joined = "\n".join(s.prompt.strip() for s in state.shots if s.prompt.strip())
            total = _clamp(sum(s.duration for s in state.shots), MIN_TOTAL_SECONDS, MAX_TOTAL_SECONDS)
            return replace(state, mode=mode, prompt=joined, duration=total)
        if keep not in ("existing", "shots"):
            raise ValueError(f"keep must be 'existing' or 'shots', not {keep!r}")
        return replace(state, mode=mode)

    # ---- shot operations ----------------------------------------------------------------------------
    def insert_shot(self, index: int, shot: Shot | None = None) -> Shot:
        """Insert ``shot`` (or an empty one of up to 3 s) before position ``index``."""
        state = self._plan_insert_shot(index, shot)
        self._apply(state)
        return state.shots[_clamp(index, 0, len(state.shots) - 1)]

    def _plan_insert_shot(self, index: int, shot: Shot | None = None) -> StoryboardState:
        shots = list(self._state.shots)
        if shot is None:
            free = MAX_TOTAL_SECONDS - sum(s.duration for s in shots)
            if free < MIN_SHOT_SECONDS:
                raise StoryboardError(
                    f"The storyboard already lasts {MAX_TOTAL_SECONDS} s, the most a clip can be. "
                    "Shorten a shot to make room."
                )
            shot = Shot("", min(3, free))
        else:
            _whole_seconds(shot.duration)
        if not 0 <= index <= len(shots):
            raise StoryboardError(f"Position {index + 1} is outside the storyboard (1–{len(shots) + 1}).")
        shots.insert(index, shot)
        return self._checked(shots)

    def remove_shot(self, index: int) -> Shot:
        """Delete the shot at ``index`` and return it."""
        removed = self._shot_at(index)
        self._apply(self._plan_remove_shot(index))
        return removed

    def _plan_remove_shot(self, index: int) -> StoryboardState:
        self._shot_at(index)
        shots = list(self._state.shots)
        del shots[index]
        return self._checked(shots)

    def move_shot(self, source: int, destination: int) -> None:
        """Move the shot at ``source`` so it ends up at position ``destination``."""
        self._apply(self._plan_move_shot(source, destination))

    def _plan_move_shot(self, source: int, destination: int) -> StoryboardState:
        shot = self._shot_at(source)
        if not 0 <= destination < len(self._state.shots):
            raise StoryboardError(
                f"Position {destination + 1} is outside the storyboard (1–{len(self._state.shots)})."
            )
        shots = list(self._state.shots)
        del shots[source]
        shots.insert(destination, shot)
        return self._checked(shots)

    def resize_shot(self, index: int, duration: int) -> None:
        """Give the shot at ``index`` a new duration in whole seconds."""
        self._apply(self._plan_resize_shot(index, duration))

    def _plan_resize_shot(self, index: int, duration: int) -> StoryboardState:
        shots = list(self._state.shots)
        shots[index] = replace(self._shot_at(index), duration=_whole_seconds(duration))
        return self._checked(shots)

    def split_shot(self, index: int, at: int | None = None) -> None:
        """Cut the shot at ``index`` in two after ``at`` seconds (the middle by default); both keep the prompt."""
        self._apply(self._plan_split_shot(index, at))

    def _plan_split_shot(self, index: int, at: int | None = None) -> StoryboardState:
        shot = self._shot_at(index)
        if shot.duration < 2:
            raise StoryboardError(f"Shot {index + 1} lasts 1 s; a shot of at least 2 s can be split.")
        at = shot.duration // 2 if at is None else _whole_seconds(at)
        if not 1 <= at < shot.duration:
            raise StoryboardError(f"Shot {index + 1} can be split after 1–{shot.duration - 1} s, not {at} s.")
        shots = list(self._state.shots)
        shots[index : index + 1] = [
            replace(shot, duration=at),
            Shot(shot.prompt, shot.duration - at),
        ]
        return self._checked(shots)

    def merge_shots(self, index: int) -> None:
        """Join the shot at ``index`` with the next one: durations add up, prompts are kept in order."""
        self._apply(self._plan_merge_shots(index))

    def _plan_merge_shots(self, index: int) -> StoryboardState:
        first = self._shot_at(index)
        if index + 1 >= len(self._state.shots):
            raise StoryboardError(f"Shot {index + 1} is the last shot; there is no next shot to merge with.")
        second = self._state.shots[index + 1]
        prompt = "\n".join(p for p in (first.prompt.strip(), second.prompt.strip()) if p)
        shots = list(self._state.shots)
        shots[index : index + 2] = [replace(first, prompt=prompt, duration=first.duration + second.duration)]
        return self._checked(shots)

    def duplicate_shot(self, index: int) -> Shot:
        """Insert a copy of the shot at ``index`` right after it and return the copy."""
        state = self._plan_duplicate_shot(index)
        self._apply(state)
        return state.shots[index + 1]

    def _plan_duplicate_shot(self, index: int) -> StoryboardState:
        shot = self._shot_at(index)
        shots = list(self._state.shots)
        shots.insert(index + 1, Shot(shot.prompt, shot.duration))
        return self._checked(shots)

    def set_shot_prompt(self, index: int, text: str) -> None:
        """Change the prompt of the shot at ``index``."""
        self._apply(self._plan_set_shot_prompt(index, text))

    def _plan_set_shot_prompt(self, index: int, text: str) -> StoryboardState:
        shots = list(self._state.shots)
        shots[index] = replace(self._shot_at(index), prompt=text)
        return replace(self._state, shots=tuple(shots))

    # ---- internals ----------------------------------------------------------------------------------
    def _shot_at(self, index: int) -> Shot:
        shots = self._state.shots
        if not 0 <= index < len(shots):
            if not shots:
                raise StoryboardError("The storyboard has no shots yet.")
            raise StoryboardError(f"There is no shot {index + 1}; the storyboard has {len(shots)}.")
        return shots[index]

    def _checked(self, shots: list[Shot]) -> StoryboardState:
        """The state with ``shots``, or StoryboardError if they break a rule the current shots kept."""
        old = self._state.shots
        for rule in _RULES:
            new_excess, old_excess = rule.excess(shots), rule.excess(old)
            if new_excess > 0 and new_excess > old_excess:
                raise StoryboardError(rule.message(shots))
        return replace(self._state, shots=tuple(shots))

    def _apply(self, state: StoryboardState) -> None:
        if state == self._state:
            return
        self._state = state
        self.changed.emit()


@dataclass(frozen=True)
class _Rule:
    """A bound on the shots; ``excess`` is how far past the bound they are (0 = within)."""

    name: str

    def excess(self, shots: Sequence[Shot]) -> int:
        total = sum(s.duration for s in shots)
        match self.name:
            case "max_shots":
                return max(0, len(shots) - MAX_SHOTS)
            case "min_shots":
                return max(0, MIN_SHOTS - len(shots))
            case "max_total":
                return max(0, total - MAX_TOTAL_SECONDS)
            case "min_total":
                return max(0, MIN_TOTAL_SECONDS - total)
            case "shot_range":
                return sum(
                    max(0, MIN_SHOT_SECONDS - s.duration) + max(0, s.duration - MAX_SHOT_SECONDS) for s in shots
                )
        raise AssertionError(self.name)

    def message(self, shots: Sequence[Shot]) -> str:
        total = sum(s.duration for s in shots)
        match self.name:
            case "max_shots":
                return f"A storyboard has at most {MAX_SHOTS} shots."
            case "min_shots":
                return "A storyboard needs at least one shot; switch to a single prompt instead."
            case "max_total":
                return (
                    f"That would make the clip {total} s long; the most is {MAX_TOTAL_SECONDS} s. "
                    "Shorten another shot first."
                )
            case "min_total":
                return f"That would make the clip {total} s long; the shortest clip is {MIN_TOTAL_SECONDS} s."
            case _:
                return f"A shot lasts {MIN_SHOT_SECONDS}–{MAX_SHOT_SECONDS} whole seconds."


_RULES = tuple(_Rule(n) for n in ("shot_range", "max_shots", "min_shots", "max_total", "min_total"))


def _whole_seconds(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise StoryboardError(f"Durations are whole seconds; {value!r} is not.")
    return value


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))

"""Drags on the timeline: a small controller per gesture that clamps, previews, and commits once on release.

The storyboard is not touched while the mouse moves; the scene shows a preview. On release the controller
pushes exactly one command through the editor (or none when nothing changed), as fluggo Canvas does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kling_studio.core.limits import (
    MAX_SHOT_SECONDS,
    MAX_TOTAL_SECONDS,
    MIN_SHOT_SECONDS,
    MIN_TOTAL_SECONDS,
)

if TYPE_CHECKING:
    from kling_studio.ui.timeline.scene import TimelineScene
    from kling_studio.ui.timeline.shot_item import ShotItem


def resize_bounds(durations: Sequence[int], index: int) -> tuple[int, int]:
    """Shortest and longest duration shot ``index`` may get: 1–15 s, and 3–15 s for the whole clip.

    A storyboard that already breaks a bound (a hand-edited file) keeps its current duration reachable, so
    a drag never snaps a shot to a length the user did not ask for.
    """
    current = durations[index]
    others = sum(durations) - current
    low = max(MIN_SHOT_SECONDS, MIN_TOTAL_SECONDS - others)
    high = min(MAX_SHOT_SECONDS, MAX_TOTAL_SECONDS - others)
    return min(low, current), max(high, current)


def single_bounds(current: int) -> tuple[int, int]:
    """Shortest and longest single-prompt clip (3–15 s), keeping ``current`` reachable."""
    return min(MIN_TOTAL_SECONDS, current), max(MAX_TOTAL_SECONDS, current)


def insertion_index(centers: Sequence[float], seconds: float) -> int:
    """Where a dragged shot lands among the other shots, given their centres and the pointer (in seconds)."""
    return sum(1 for center in centers if center < seconds)


class ResizeDrag:
    """Dragging a block's right edge: whole seconds, clamped, previewed live; one resize on release.

    Args:
        scene: The timeline scene (its editor, storyboard and preview).
        shot_id: The shot being resized, or "" for the single-prompt block.
        press_x: Scene x where the drag started.
    """

    def __init__(self, scene: TimelineScene, shot_id: str, press_x: float) -> None:
        self._scene = scene
        self._shot_id = shot_id
        self._press_x = press_x
        board = scene.project.storyboard
        if shot_id:
            durations = [s.duration for s in board.shots]
            index = board.index_of(shot_id)
            self.original = durations[index]
            self.low, self.high = resize_bounds(durations, index)
        else:
            self.original = board.duration
            self.low, self.high = single_bounds(self.original)
        self.seconds = self.original

    def seconds_for(self, x: float) -> int:
        """The clamped whole-second duration for the pointer at scene x (snapped to the 1 s grid)."""
        delta = (x - self._press_x) / self._scene.scale.pixels_per_second
        return max(self.low, min(self.high, round(self.original + delta)))

    def update(self, x: float) -> None:
        """Preview the duration under the pointer."""
        seconds = self.seconds_for(x)
        if seconds != self.seconds:
            self.seconds = seconds
            self._scene.set_preview_duration(self._shot_id, seconds)

    def finish(self, x: float) -> None:
        """Drop the preview and commit the new duration as one command (none if unchanged)."""
        self.seconds = self.seconds_for(x)
        self._scene.clear_preview()
        if self.seconds == self.original:
            return
        editor = self._scene.editor
        if self._shot_id:
            self._scene.attempt(editor.resize_shot, self._shot_id, self.seconds)
        else:
            self._scene.attempt(editor.set_single_duration, self.seconds)

    def cancel(self) -> None:
        """Abandon the drag; the storyboard was never touched."""
        self._scene.clear_preview()


class MoveDrag:
    """Dragging a block to reorder: the block follows the pointer, a marker shows where it will land.

    The drag starts only once the pointer travelled ``threshold`` pixels, so a click stays a click.

    Args:
        scene: The timeline scene.
        item: The block being dragged.
        press_x: Scene x where the button went down.
        threshold: Distance in pixels before the block starts moving.
    """

    def __init__(self, scene: TimelineScene, item: ShotItem, press_x: float, threshold: float) -> None:
        self._scene = scene
        self._item = item
        self._press_x = press_x
        self._threshold = threshold
        self._start_x = item.x()
        self.active = False
        board = scene.project.storyboard
        self._index = board.index_of(item.shot_id)
        self._centers = [
            board.shot_start(i) + shot.duration / 2 for i, shot in enumerate(board.shots) if i != self._index
        ]
        self._starts = [board.shot_start(i) for i in range(len(board.shots)) if i != self._index]
        self._ends = [board.shot_start(i) + s.duration for i, s in enumerate(board.shots) if i != self._index]
        self.destination = self._index

    def update(self, x: float) -> None:
        """Follow the pointer and move the insertion marker to the nearest boundary between shots."""
        if not self.active:
            if abs(x - self._press_x) < self._threshold:
                return
            self.active = True
            self._item.set_dragging(True)
        self._item.setX(self._start_x + x - self._press_x)
        self.destination = insertion_index(self._centers, self._scene.scale.seconds_at(x))
        if self.destination < len(self._starts):
            marker_seconds = self._starts[self.destination]
        else:
            marker_seconds = self._ends[-1] if self._ends else 0
        self._scene.show_insertion_marker(marker_seconds)

    def finish(self, x: float) -> None:
        """Drop the block: one move command when its place changed, otherwise it slides back."""
        if self.active:
            self.update(x)
        self._end()
        if self.active and self.destination != self._index:
            self._scene.attempt(self._scene.editor.move_shot, self._item.shot_id, self.destination)
        self._scene.relayout()

    def cancel(self) -> None:
        """Abandon the drag; the block slides back."""
        self._end()
        self._scene.relayout()

    def _end(self) -> None:
        self._scene.hide_insertion_marker()
        self._item.set_dragging(False)

"""The timeline's scene: one :class:`ShotItem` per shot, laid out from the project; it holds no state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRectF, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QGraphicsScene

from kling_studio.core.limits import MAX_TOTAL_SECONDS, Mode, ShotType
from kling_studio.core.project import Project
from kling_studio.core.storyboard import StoryboardError
from kling_studio.core.validation import Problem, validate
from kling_studio.ui.edits import ProjectEditor
from kling_studio.ui.selection import ShotSelection
from kling_studio.ui.theme import DARK, LIGHT, Colors
from kling_studio.ui.timeline.geometry import MARGIN_X, SCENE_HEIGHT, TimeScale, clamp_zoom
from kling_studio.ui.timeline.markers import FreeSpaceItem, InsertionMarker
from kling_studio.ui.timeline.ruler import RulerItem
from kling_studio.ui.timeline.shot_item import BlockLabel, ShotItem

#: The price text of a shot by id ("" asks for the single-prompt clip), e.g. "$1.12".
CostFor = Callable[[str], str]

SINGLE_BLOCK = ""
_SINGLE_PROBLEM_FIELDS = frozenset({"prompt", "duration"})


def block_label(
    project: Project,
    shot_index: int | None,
    seconds: int,
    problems: list[Problem],
    *,
    past_limit: bool = False,
) -> BlockLabel:
    """What the block of shot ``shot_index`` (None: the single prompt) says, with its first error.

    ``past_limit`` marks a shot that ends after 15 s: the storyboard's "too long" error is about no one shot,
    so it is shown on the shots that run past the limit.
    """
    board = project.storyboard
    if shot_index is None:
        errors = [p for p in problems if p.is_error and p.field_path in _SINGLE_PROBLEM_FIELDS]
        if project.settings.shot_type == ShotType.INTELLIGENT:
            title, short = f"Intelligent — Kling plans the cuts · {seconds} s", f"Intelligent · {seconds} s"
        else:
            title, short = f"Single prompt · {seconds} s", f"{seconds} s"
        prompt = board.prompt
    else:
        errors = [p for p in problems if p.is_error and p.shot_index == shot_index]
        if past_limit:
            errors += [p for p in problems if p.is_error and p.field_path == "shots" and p.shot_index is None]
        title, short = f"Shot {shot_index + 1} · {seconds} s", f"{shot_index + 1} · {seconds} s"
        prompt = board.shots[shot_index].prompt
    return BlockLabel(title, short, prompt.strip(), bool(errors), errors[0].message if errors else "")


def _seconds(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


class TimelineScene(QGraphicsScene):
    """Blocks, ruler and free space for one project; follows ``project.changed`` and the selection.

    Args:
        project: The project whose storyboard is drawn.
        editor: Where drags, menus and keys send their edits.
        selection: The current shot.
        cost_for: Price text of a shot by id ("" for the single-prompt clip), from core pricing.
        parent: Qt parent.

    Signals:
        edit_requested(str): the user asked to edit a shot (double-click, Enter); "" is the single prompt.
        edit_refused(str): an edit was refused; the message says why, in the user's words.
        layout_changed(): blocks moved or resized (zoom, edits, previews).
    """

    edit_requested = Signal(str)
    edit_refused = Signal(str)
    layout_changed = Signal()

    def __init__(
        self,
        project: Project,
        editor: ProjectEditor,
        selection: ShotSelection,
        cost_for: CostFor,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.project = project
        self.editor = editor
        self.selection = selection
        self._cost_for = cost_for
        self.scale = TimeScale()
        self._items: dict[str, ShotItem] = {}
        self._order: list[str] = []
        self._preview: dict[str, int] = {}
        self._ruler = RulerItem()
        self._free = FreeSpaceItem()
        self._marker = InsertionMarker()
        for item in (self._ruler, self._free, self._marker):
            self.addItem(item)
        project.changed.connect(self._on_project_changed)
        selection.current_changed.connect(self._on_selection_current_changed)
        self.refresh()

    # ---- reading --------------------------------------------------------------------------------------
    @property
    def colors(self) -> Colors:
        """The theme's colours for the scheme the application palette is in."""
        window = QGuiApplication.palette().window().color()
        return DARK if window.lightness() < 128 else LIGHT

    @property
    def free_space(self) -> FreeSpaceItem:
        """The "3 s free" area after the last block."""
        return self._free

    @property
    def insertion_marker(self) -> InsertionMarker:
        """The drop marker shown while a block is dragged."""
        return self._marker

    def blocks(self) -> list[ShotItem]:
        """The blocks, left to right."""
        return [self._items[key] for key in self._order]

    def block(self, shot_id: str) -> ShotItem:
        """The block of ``shot_id`` ("" for the single-prompt block).

        Raises:
            KeyError: no block shows that shot.
        """
        return self._items[shot_id]

    def price_text(self, shot_id: str) -> str:
        """The price of a block as the cost meter would state it ("" when the price is unknown)."""
        try:
            return self._cost_for(shot_id)
        except Exception:  # a price we cannot state must not break painting
            return ""

    def total_seconds(self) -> int:
        """The clip's length as drawn (including a drag's preview)."""
        return sum(self._items[key].seconds for key in self._order)

    # ---- what the items call --------------------------------------------------------------------------
    def select_block(self, shot_id: str) -> None:
        """Make a block current (the single-prompt block has no shot to select)."""
        if shot_id:
            self.selection.select(shot_id)

    def attempt(self, operation: Callable[..., Any], *args: Any) -> Any:
        """Run an editor operation; a refusal is announced through ``edit_refused`` instead of raised."""
        try:
            return operation(*args)
        except StoryboardError as exc:
            self.edit_refused.emit(str(exc))
            return None

    def set_preview_duration(self, shot_id: str, seconds: int) -> None:
        """Draw a block at a length the storyboard does not have yet (during a resize drag)."""
        self._preview = {shot_id: seconds}
        self.refresh()

    def clear_preview(self) -> None:
        """Draw the storyboard as it is again."""
        if self._preview:
            self._preview = {}
            self.refresh()

    def show_insertion_marker(self, seconds: float) -> None:
        """Show where a dragged block would land."""
        self._marker.setPos(self.scale.x_for(seconds), 0)
        self._marker.setVisible(True)

    def hide_insertion_marker(self) -> None:
        """Hide the drop marker."""
        self._marker.setVisible(False)

    def set_pixels_per_second(self, pixels_per_second: float) -> None:
        """Zoom: blocks are re-laid out (text stays crisp, unlike a view transform)."""
        pixels_per_second = clamp_zoom(pixels_per_second)
        if pixels_per_second != self.scale.pixels_per_second:
            self.scale = TimeScale(pixels_per_second)
            self.relayout()

    def detach(self) -> None:
        """Stop following the project and the selection (before the project is replaced)."""
        self.project.changed.disconnect(self._on_project_changed)
        self.selection.current_changed.disconnect(self._on_selection_current_changed)

    # ---- building -------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Bring the blocks in line with the storyboard: add, drop, relabel and lay them out."""
        board = self.project.storyboard
        problems = validate(self.project)
        current = self.selection.current_id
        if board.mode is Mode.MULTI:
            wanted = [
                (shot.id, shot, index, self._preview.get(shot.id, _seconds(shot.duration)))
                for index, shot in enumerate(board.shots)
            ]
        else:
            wanted = [(SINGLE_BLOCK, None, None, self._preview.get(SINGLE_BLOCK, _seconds(board.duration)))]
        keys = [key for key, *_ in wanted]
        self._order = [key for key in self._order if key in keys]  # a cancelled drag may lay out meanwhile
        for key in [k for k in self._items if k not in keys]:
            item = self._items.pop(key)
            item.cancel_drag()
            self.removeItem(item)
        end = 0
        for key, shot, index, seconds in wanted:
            item = self._items.get(key)
            if item is None:
                item = self._items[key] = ShotItem(shot)
                self.addItem(item)
            end += seconds
            label = block_label(self.project, index, seconds, problems, past_limit=end > MAX_TOTAL_SECONDS)
            item.set_content(shot, seconds, label, current=bool(key) and key == current)
        self._order = keys
        self.relayout()

    def relayout(self) -> None:
        """Place the blocks on the 1 s grid at the current zoom."""
        start = 0
        for key in self._order:
            item = self._items[key]
            item.set_geometry(self.scale.x_for(start), self.scale.width_for(max(item.seconds, 0)))
            start += item.seconds
        self._ruler.set_extent(self.scale, start)
        self._free.set_extent(self.scale, start)
        width = self.scale.x_for(max(MAX_TOTAL_SECONDS, start)) + MARGIN_X + 40
        self.setSceneRect(QRectF(0, 0, width, SCENE_HEIGHT))
        self.update()
        self.layout_changed.emit()

    # ---- model events ---------------------------------------------------------------------------------
    def _on_project_changed(self) -> None:
        self.refresh()

    def _on_selection_current_changed(self, shot_id: str) -> None:
        for key, item in self._items.items():
            if item.current != (bool(key) and key == shot_id):
                item.set_content(item.shot, item.seconds, item.label, current=not item.current)

"""Mouse gestures on the timeline: resize by the right edge, reorder by dragging, zoom; one command each."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import QPoint, QPointF, Qt

from kling_studio.core.pricing import estimate, format_usd


def durations(project):
    return [s.duration for s in project.storyboard.shots]


def ids(project):
    return [s.id for s in project.storyboard.shots]


def right_edge(timeline, shot_id: str) -> QPoint:
    """Viewport point on the middle of a block's resize grip."""
    item = timeline.scene.block(shot_id)
    handle = item.handle.mapRectToScene(item.handle.rect())
    return timeline.view.mapFromScene(handle.center())


def centre(timeline, shot_id: str) -> QPoint:
    item = timeline.scene.block(shot_id)
    return timeline.view.mapFromScene(item.mapToScene(item.shape().boundingRect().center()))


def seconds_to_viewport_x(timeline, seconds: float) -> int:
    return timeline.view.mapFromScene(QPointF(timeline.scene.scale.x_for(seconds), 0)).x()


def drag(qtbot, timeline, start: QPoint, end: QPoint, *, steps: int = 6, before_release=None) -> None:
    """Press at ``start``, move to ``end`` in a few steps with the button held, release there."""
    viewport = timeline.view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, steps + 1):
        point = start + (end - start) * (step / steps)
        qtbot.mouseMove(viewport, pos=point)
    if before_release is not None:
        before_release()
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)


def price_of(project, catalog, shot_index: int) -> str:
    return format_usd(estimate(project, catalog=catalog).lines[shot_index].cost)


def test_dragging_a_right_edge_by_two_seconds_adds_two_seconds_and_one_undo_restores(
    qtbot, timeline, project, undo_stack, catalog
):
    per_second = estimate(project, catalog=catalog).price_per_second
    block = timeline.scene.block("shot-b")
    assert block.price_text() == format_usd(per_second * 3)
    pixels = timeline.scene.scale.pixels_per_second
    start = right_edge(timeline, "shot-b")
    end = start + QPoint(round(2 * pixels), 0)

    def during_the_drag():
        assert block.seconds == 5 and block.label.title == "Shot 2 · 5 s", "the preview follows the pointer"
        assert durations(project) == [4, 3, 3], "the storyboard is untouched until release"
        assert undo_stack.count() == 0

    drag(qtbot, timeline, start, end, before_release=during_the_drag)

    assert durations(project) == [4, 5, 3]
    assert undo_stack.count() == 1, "a drag is one command on release"
    assert block.price_text() == format_usd(per_second * 5) == price_of(project, catalog, 1)
    assert Decimal(block.price_text().lstrip("$")) == per_second * 5
    assert timeline.scene.free_space.text == "3 s free"
    # NOTE for the shell: the cost meter's total should read format_usd(per_second * 12) here.

    undo_stack.undo()
    assert durations(project) == [4, 3, 3]
    assert block.seconds == 3
    assert block.price_text() == format_usd(per_second * 3)
    assert timeline.scene.free_space.text == "5 s free"


def test_resizing_stops_at_fifteen_seconds_in_total_and_one_second_per_shot(
    qtbot, timeline, project, undo_stack
):
    pixels = timeline.scene.scale.pixels_per_second
    start = right_edge(timeline, "shot-b")
    drag(qtbot, timeline, start, start + QPoint(round(10 * pixels), 0))
    assert durations(project) == [4, 8, 3], "4 + 8 + 3 is the 15 s limit"
    assert timeline.scene.free_space.text == "15 s — full"

    start = right_edge(timeline, "shot-b")
    drag(qtbot, timeline, start, start - QPoint(round(12 * pixels), 0))
    assert durations(project) == [4, 1, 3], "a shot lasts at least 1 s"
    assert undo_stack.count() == 2


def test_a_drag_that_ends_where_it_started_pushes_nothing(qtbot, timeline, project, undo_stack):
    start = right_edge(timeline, "shot-a")
    drag(qtbot, timeline, start, start + QPoint(20, 0))  # less than half a second
    assert durations(project) == [4, 3, 3]
    assert undo_stack.count() == 0


def test_dragging_shot_three_before_shot_one_reorders_and_undo_restores(qtbot, timeline, project, undo_stack):
    start = centre(timeline, "shot-c")
    end = QPoint(seconds_to_viewport_x(timeline, 0.8), start.y())
    marker_seen = []

    def during_the_drag():
        marker = timeline.scene.insertion_marker
        marker_seen.append((marker.isVisible(), marker.x()))

    drag(qtbot, timeline, start, end, before_release=during_the_drag)

    assert marker_seen == [(True, timeline.scene.scale.x_for(0))], "the drop marker snaps to the start"
    assert not timeline.scene.insertion_marker.isVisible()
    assert ids(project) == ["shot-c", "shot-a", "shot-b"]
    assert undo_stack.count() == 1
    assert [b.shot_id for b in timeline.scene.blocks()] == ["shot-c", "shot-a", "shot-b"]
    assert timeline.scene.block("shot-c").x() == timeline.scene.scale.x_for(0)
    assert timeline.scene.block("shot-a").label.title == "Shot 2 · 4 s"

    undo_stack.undo()
    assert ids(project) == ["shot-a", "shot-b", "shot-c"]
    assert timeline.scene.block("shot-c").x() == timeline.scene.scale.x_for(7)


def test_dropping_a_block_between_two_others_lands_there(qtbot, timeline, project):
    start = centre(timeline, "shot-a")
    end = QPoint(seconds_to_viewport_x(timeline, 8.0), start.y())  # past shot 2's middle, before shot 3's
    drag(qtbot, timeline, start, end)
    assert ids(project) == ["shot-b", "shot-a", "shot-c"]


def test_a_click_selects_without_editing(qtbot, timeline, project, selection, undo_stack):
    qtbot.mouseClick(timeline.view.viewport(), Qt.MouseButton.LeftButton, pos=centre(timeline, "shot-c"))
    assert selection.current_id == "shot-c"
    assert timeline.scene.block("shot-c").current and not timeline.scene.block("shot-a").current
    assert undo_stack.count() == 0


def test_double_click_asks_to_edit_the_shot(qtbot, timeline):
    with qtbot.waitSignal(timeline.edit_requested) as blocker:
        qtbot.mouseDClick(timeline.view.viewport(), Qt.MouseButton.LeftButton, pos=centre(timeline, "shot-b"))
    assert blocker.args == ["shot-b"]


def test_ctrl_wheel_zooms_and_blocks_keep_one_second_per_grid_step(qtbot, timeline):
    from PySide6.QtCore import QPoint as P
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    before = timeline.scene.scale.pixels_per_second
    viewport = timeline.view.viewport()
    pos = QPointF(centre(timeline, "shot-a"))
    event = QWheelEvent(
        pos,
        QPointF(viewport.mapToGlobal(pos.toPoint())),
        P(0, 0),
        P(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.ControlModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(viewport, event)
    after = timeline.scene.scale.pixels_per_second
    assert after == before * 1.25
    assert not timeline.view.fits_width
    block = timeline.scene.block("shot-a")
    assert block.boundingRect().width() - 4 == 4 * after
    assert timeline.scene.block("shot-b").x() == timeline.scene.scale.x_for(4)
    assert abs(seconds_to_viewport_x(timeline, 2.0) - pos.x()) <= 1, "the moment under the pointer stays put"


def test_the_single_prompt_block_resizes_within_three_to_fifteen_seconds(
    qtbot, timeline, project, undo_stack
):
    from kling_studio.core.limits import Mode

    timeline.scene.editor.set_mode(Mode.SINGLE, keep="shots")  # 10 s
    assert project.storyboard.duration == 10
    pixels = timeline.scene.scale.pixels_per_second
    start = right_edge(timeline, "")
    drag(qtbot, timeline, start, start - QPoint(round(9 * pixels), 0))
    assert project.storyboard.duration == 3, "a clip lasts at least 3 s"
    start = right_edge(timeline, "")
    drag(qtbot, timeline, start, start + QPoint(round(14 * pixels), 0))
    assert project.storyboard.duration == 15
    assert timeline.scene.blocks()[0].label.title == "Single prompt · 15 s"
    assert undo_stack.count() == 3


def test_escape_during_a_resize_abandons_it(qtbot, timeline, project, undo_stack):
    pixels = timeline.scene.scale.pixels_per_second
    viewport = timeline.view.viewport()
    start = right_edge(timeline, "shot-a")
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, pos=start + QPoint(round(2 * pixels), 0))
    assert timeline.scene.block("shot-a").seconds == 6
    qtbot.keyClick(timeline.view, Qt.Key.Key_Escape)
    assert timeline.scene.block("shot-a").seconds == 4
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=start + QPoint(round(2 * pixels), 0))
    assert durations(project) == [4, 3, 3]
    assert undo_stack.count() == 0


def test_right_click_opens_the_shot_menu(qtbot, timeline, selection):
    from PySide6.QtGui import QContextMenuEvent
    from PySide6.QtWidgets import QApplication, QMenu

    viewport = timeline.view.viewport()
    pos = centre(timeline, "shot-b")
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, viewport.mapToGlobal(pos))
    QApplication.sendEvent(viewport, event)
    menus = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu) and w.isVisible()]
    assert len(menus) == 1
    assert [a.text() for a in menus[0].actions() if a.text()] == [
        "Edit prompt",
        "Duplicate",
        "Split in the middle",
        "Merge with next",
        "Delete",
        "Add shot after",
    ]
    assert selection.current_id == "shot-b"
    menus[0].close()

"""Compare two takes: both play from one clock, within a frame of each other; wipe and side by side."""

from __future__ import annotations

import pytest
from player_clips import FPS, clip
from PySide6.QtCore import QPoint, Qt

from kling_studio.ui.player.compare import CompareMode, CompareView

TAKE_B = (("Another take of the bottle", 2), ("The label again", 3))


@pytest.fixture
def compare(qtbot) -> CompareView:
    view = CompareView()
    view.resize(1280, 520)
    qtbot.addWidget(view)
    view.show()
    with qtbot.waitSignals([view.playback_a.loaded, view.playback_b.loaded], timeout=20_000):
        view.load(clip(), clip(TAKE_B), title_a="Take 1", title_b="Take 2")
    yield view
    view.close_media()


def test_both_takes_stay_within_one_frame_while_playing(qtbot, compare):
    a, b = compare.playback_a, compare.playback_b
    pairs: list[tuple[int, int]] = []

    def on_a_frame(_index: int) -> None:
        if b.is_playing and a.last_presented_index is not None and b.last_presented_index is not None:
            pairs.append((a.last_presented_index, b.last_presented_index))

    a.frame_shown.connect(on_a_frame)
    qtbot.keyClick(compare, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: len(pairs) >= 3 * FPS, timeout=20_000)  # three seconds of playing
    qtbot.keyClick(compare, Qt.Key.Key_Space)

    worst = max(abs(ia - ib) for ia, ib in pairs)
    assert worst <= 1, f"B drifted {worst} frames from A: {pairs}"
    assert a.player.position() > 2500
    qtbot.waitUntil(lambda: not b.is_playing, timeout=5_000)


def test_stepping_moves_both_takes_to_the_same_frame(qtbot, compare):
    for _ in range(5):
        qtbot.keyClick(compare, Qt.Key.Key_Period)

    def both_on_5() -> None:
        assert compare.playback_a.still_index() == 5
        assert compare.playback_b.still_index() == 5

    qtbot.waitUntil(both_on_5, timeout=10_000)
    assert "frame 6" in compare.time_label.text()


def test_wipe_shows_b_right_of_a_line_the_reviewer_drags(qtbot, compare):
    assert compare.view_a.x() < compare.view_b.x()  # side by side
    qtbot.keyClick(compare, Qt.Key.Key_W)
    assert compare.mode is CompareMode.WIPE
    stage = compare.stage
    assert compare.view_a.geometry() == compare.view_b.geometry() == stage.rect()
    assert compare.view_b.mask().boundingRect().left() == stage.width() // 2

    target = QPoint(stage.width() // 4, stage.height() // 2)
    qtbot.mousePress(compare.view_b.viewport(), Qt.MouseButton.LeftButton, pos=target)
    assert compare.view_b.mask().boundingRect().left() == pytest.approx(stage.width() // 4, abs=2)
    assert "Take 1" in compare.label_a.text() and "Take 2" in compare.label_b.text()

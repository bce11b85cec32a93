"""Crops from the library: the frame is placed by dragging it in the player, the export runs in the background
with progress, and the file has the crop's size and the master's length."""

from __future__ import annotations

import pytest
from library_takes import quick_take, spec
from PySide6.QtCore import QPoint, Qt

from kling_studio.services.job_store import JobStore
from kling_studio.services.media import probe_video
from kling_studio.services.takes import load_take
from kling_studio.ui.library.crop_export import CropDialog


@pytest.fixture
def dialog(qtbot, tmp_path):
    with JobStore(tmp_path / "jobs.sqlite3") as store:
        video = quick_take(store, tmp_path / "outputs", spec())
    dialog = CropDialog(load_take(video), folder=tmp_path / "crops")
    qtbot.addWidget(dialog)
    dialog.open()
    with qtbot.waitSignal(dialog.player.playback.loaded, timeout=20_000):
        pass
    yield dialog
    dialog.reject()


def test_the_crop_frame_is_dragged_to_the_left_and_exported_there(qtbot, dialog):
    view = dialog.player.view
    crop = view.crop_item
    assert crop.isVisible() and crop.aspect_name == "9:16" and crop.center == 0.5
    start = view.mapFromScene(crop.window_rect().center())
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view.viewport(), start - QPoint(2000, 0))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=start - QPoint(2000, 0))
    assert crop.center == 0.0
    assert crop.window_rect().left() == pytest.approx(view.video_rect().left())

    shares: list[float] = []
    dialog.exporter.progressed.connect(shares.append)
    with qtbot.waitSignal(dialog.exporter.finished, timeout=60_000) as done:
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    path = done.args[0]
    info = probe_video(path)
    assert (info.width, info.height) == (202, 360)  # 9:16 of a 640×360 preview master, even width
    assert info.duration == pytest.approx(5.0, abs=0.05)
    assert path.name.endswith(".9x16.mp4") and path.parent.name == "crops"
    assert shares and shares == sorted(shares)
    assert dialog.progress.value() == 1000 and "Saved" in dialog.status.text()


def test_switching_to_square_shows_a_square_frame(qtbot, dialog):
    qtbot.mouseClick(dialog.square, Qt.MouseButton.LeftButton)
    window = dialog.player.view.crop_item.window_rect()
    assert window.width() == pytest.approx(window.height())
    assert dialog.target().name.endswith(".1x1.mp4")

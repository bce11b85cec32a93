"""Reference UI: the library model and panel, frame slots, the elements editor, and @Element completion."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import QDropEvent, QUndoStack
from PySide6.QtWidgets import QPlainTextEdit
from references_helpers import bad_images_module, image_bytes

from kling_studio.core.references import ProjectReferences
from kling_studio.services.reference_library import ReferenceLibrary
from kling_studio.ui.references import (
    BackgroundWork,
    ReferenceLibraryModel,
    ReferenceLibraryPanel,
    ReferencesEditor,
    ShotReferencesEditor,
    ThumbnailCache,
    attach_element_completer,
)
from kling_studio.ui.references.mime import references_from_mime, references_to_mime


@pytest.fixture
def library(tmp_path: Path):
    lib = ReferenceLibrary(tmp_path / "references")
    yield lib
    lib.close()


@pytest.fixture
def work(qtbot):
    background = BackgroundWork()
    yield background
    background.close()


@pytest.fixture
def thumbnails(library, work):
    return ThumbnailCache(library, work)


def add_images(library: ReferenceLibrary, *names: str):
    return [library.import_bytes(image_bytes(seed=i), name=name).item for i, name in enumerate(names)]


def test_the_library_model_passes_qt_model_checks_and_filters(qtmodeltester, library, thumbnails):
    items = add_images(library, "Red bottle", "Blue bottle", "Portrait")
    library.set_tags(items[2].sha256, ["character"])
    model = ReferenceLibraryModel(thumbnails)
    model.set_items(library.items())
    qtmodeltester.check(model)
    assert model.rowCount() == 3
    model.set_filter("bottle")
    assert sorted(model.data(model.index(r)) for r in range(model.rowCount())) == [
        "Blue bottle",
        "Red bottle",
    ]
    model.set_filter("#char")
    assert model.rowCount() == 1 and model.item_at(0).name == "Portrait"
    qtmodeltester.check(model)


def test_thumbnails_arrive_off_the_ui_thread_and_are_announced(qtbot, library, thumbnails):
    add_images(library, "Hero")
    model = ReferenceLibraryModel(thumbnails)
    model.set_items(library.items())
    first = model.data(model.index(0), Qt.ItemDataRole.DecorationRole)  # a placeholder: loading started
    assert first.availableSizes()[0].width() == 132
    assert thumbnails.pixmap(model.item_at(0).sha256) is None
    with qtbot.waitSignal(model.dataChanged, timeout=5000):
        pass
    loaded = model.data(model.index(0), Qt.ItemDataRole.DecorationRole)
    assert loaded.availableSizes()[0] == QSize(256, 144)
    assert thumbnails.loads == 1


def test_dragged_references_carry_hash_and_name(library, thumbnails):
    (item,) = add_images(library, "Hero")
    model = ReferenceLibraryModel(thumbnails)
    model.set_items(library.items())
    mime = model.mimeData([model.index(0)])
    assert references_from_mime(mime) == [item.reference]


def test_importing_a_file_shows_it_in_the_panel(qtbot, tmp_path, library, thumbnails, work):
    panel = ReferenceLibraryPanel(library, thumbnails, work)
    qtbot.addWidget(panel)
    source = tmp_path / "Hero shot.jpg"
    source.write_bytes(image_bytes())
    with qtbot.waitSignal(panel.imported, timeout=10000):
        panel.import_paths([source])
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=5000)
    assert panel.model.item_at(0).name == "Hero shot"
    assert panel.count_label.text() == "1"


def test_a_refused_image_shows_its_reason_and_the_fix_imports_a_corrected_copy(
    qtbot, tmp_path, library, thumbnails, work
):
    panel = ReferenceLibraryPanel(library, thumbnails, work)
    qtbot.addWidget(panel)
    panel.show()
    make = bad_images_module()
    wide = tmp_path / "banner.jpg"
    wide.write_bytes(make.encode(make.picture(2400, 600), "mjpeg"))
    with qtbot.waitSignal(panel.refused, timeout=10000) as refused:
        panel.import_paths([wide])
    assert "too wide" in refused.args[0] and "0.40 to 2.50" in refused.args[0]
    assert panel.banner.isVisible()
    assert "banner.jpg cannot be used" in panel.banner_label.text()
    fix_buttons = [b for b in panel.banner.findChildren(type(panel.dismiss_button)) if b.objectName() == "fixButton"]
    assert [b.text() for b in fix_buttons] == ["Crop to 2.50:1"]
    with qtbot.waitSignal(panel.imported, timeout=10000):
        fix_buttons[0].click()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=5000)
    item = panel.model.item_at(0)
    assert (item.width, item.height) == (1500, 600)
    assert not panel.banner.isVisible()


def test_every_bad_image_is_refused_in_the_panel_without_an_exception(qtbot, tmp_path, library, thumbnails, work):
    make = bad_images_module()
    folder = tmp_path / "bad"
    expected = make.write_bad_images(folder)
    panel = ReferenceLibraryPanel(library, thumbnails, work)
    qtbot.addWidget(panel)
    messages: list[str] = []
    panel.refused.connect(messages.append)
    panel.import_paths(sorted(folder.iterdir()))
    qtbot.waitUntil(lambda: len(messages) == len(expected), timeout=30000)
    assert library.items() == []
    for name in expected:
        assert any(m.startswith(f"{name} cannot be used.") for m in messages), name
    assert len(panel.refusals) == len(expected)


def test_a_thousand_images_stay_smooth(qtbot, library, thumbnails, work):
    (seed_item,) = add_images(library, "seed")
    thumb = library.thumbnail_path(seed_item.sha256).read_bytes()
    from dataclasses import replace

    items = []
    for i in range(1000):
        sha = f"{i:064x}"
        path = library.root / "thumbs" / sha[:2] / f"{sha}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(thumb)
        items.append(replace(seed_item, sha256=sha, name=f"Image {i}"))
    panel = ReferenceLibraryPanel(library, thumbnails, work)
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    qtbot.waitExposed(panel)
    qtbot.waitUntil(lambda: work.pending == 0, timeout=5000)  # the panel's own first load
    started = time.perf_counter()
    panel.model.set_items(items)
    panel.view.grab()
    first_paint = time.perf_counter() - started
    qtbot.waitUntil(lambda: thumbnails.loads > 0 and work.pending == 0, timeout=10000)
    loaded_when_idle = thumbnails.loads
    assert loaded_when_idle < 200, "only visible rows should load thumbnails"
    frame_times = []
    bar = panel.view.verticalScrollBar()
    for step in range(20):
        bar.setValue(bar.maximum() * step // 19)
        t = time.perf_counter()
        panel.view.grab()
        frame_times.append(time.perf_counter() - t)
    qtbot.waitUntil(lambda: work.pending == 0, timeout=10000)
    t = time.perf_counter()
    panel.search_edit.setText("image 99")
    filter_time = time.perf_counter() - t
    assert panel.model.rowCount() == 19  # 99, x99, 990–998
    print(
        f"first paint {first_paint * 1000:.0f} ms, worst scroll frame {max(frame_times) * 1000:.0f} ms, "
        f"filter {filter_time * 1000:.0f} ms, thumbnails loaded {thumbnails.loads}"
    )
    assert first_paint < 1.0
    assert max(frame_times) < 0.25
    assert filter_time < 0.25


@pytest.fixture
def refs_setup(qtbot, library, thumbnails):
    references = ProjectReferences()
    stack = QUndoStack()
    editor = ReferencesEditor(references, stack)
    widget = ShotReferencesEditor(references, editor, library, thumbnails)
    qtbot.addWidget(widget)
    return references, stack, editor, widget


def drop_on(widget, reference) -> None:
    mime = references_to_mime([reference])  # kept alive: the event does not own it
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    widget.dropEvent(event)


def test_a_start_frame_switches_to_image_to_video_and_undo_takes_it_back(qtbot, refs_setup, library):
    references, stack, _editor, widget = refs_setup
    (item,) = add_images(library, "Opening still")
    assert "Text to video" in widget.mode_label.text()
    drop_on(widget.start_slot, item.reference)
    assert references.start_frame == item.reference
    assert "aspect ratio comes from the start image (960×540, closest to 16:9)" in widget.mode_label.text()
    assert widget.start_slot.name_label.text() == "Opening still"
    stack.undo()
    assert references.start_frame is None
    assert "Text to video" in widget.mode_label.text()


def test_elements_are_built_by_drops_and_a_fourth_view_is_refused(qtbot, refs_setup, library):
    references, stack, editor, widget = refs_setup
    front, a, b, c, d = add_images(library, "front", "a", "b", "c", "d")
    widget.use_reference("element", front.reference)
    assert len(widget.rows) == 1
    row = widget.rows[0]
    assert row.token_label.text() == "@Element1"
    assert row.name_edit.text() == "front"
    for ref in (a, b, c):
        visible = [s for s in row.reference_slots if s.isVisibleTo(row) and s.reference is None]
        drop_on(visible[0], ref.reference)
    assert [r.name for r in references.elements[0].references] == ["a", "b", "c"]
    assert "Type @Element1 in a prompt" in row.status_label.text()
    with pytest.raises(Exception):  # noqa: B017 - the editor raises; the row shows it instead
        editor.add_element_reference(0, d.reference)
    row._guard(lambda: editor.add_element_reference(0, d.reference))
    assert "the most fal takes" in widget.error_label.text()
    assert len(references.elements[0].references) == 3
    qtbot.keyClicks(row.name_edit, " bottle")
    assert references.elements[0].name == "front bottle"
    stack.undo()  # the whole rename is one step
    assert references.elements[0].name == "front"


def test_a_missing_image_says_so_and_a_drop_relinks_every_use(qtbot, refs_setup, library):
    references, _stack, editor, widget = refs_setup
    gone, fresh = add_images(library, "old still", "new still")
    editor.set_start_frame(gone.reference)
    editor.add_element("hero", gone.reference)
    library.remove(gone.sha256)
    widget._render_frames()
    widget._render_elements()
    assert widget.start_slot.missing
    assert widget.start_slot.picture.text() == "Missing"
    drop_on(widget.start_slot, fresh.reference)
    assert references.start_frame == fresh.reference
    assert references.elements[0].frontal == fresh.reference


def test_prompt_editors_complete_element_mentions(qtbot, library):
    references = ProjectReferences()
    front, side = add_images(library, "bottle front", "bottle side")
    references.add_element("Hero bottle", front.reference, (side.reference,))
    references.add_element("Model")
    edit = QPlainTextEdit()
    qtbot.addWidget(edit)
    edit.show()
    completer = attach_element_completer(edit, references)
    assert completer.entries() == [
        ("@Element1", "@Element1 — Hero bottle"),
        ("@Element2", "@Element2 — Model"),
    ]
    qtbot.keyClicks(edit, "A close-up of @El")
    assert completer.completer.popup().isVisible()
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert edit.toPlainText() == "A close-up of @Element1 "
    references.rename_element(1, "Hand model")
    assert completer.entries()[1][1] == "@Element2 — Hand model"
    qtbot.keyClicks(edit, "with @")
    qtbot.keyClick(edit, Qt.Key.Key_Down)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert edit.toPlainText() == "A close-up of @Element1 with @Element2 "
    completer.detach()
    qtbot.keyClicks(edit, " @")
    assert not completer.completer.popup().isVisible()


def test_paste_and_file_drop_import_images(qtbot, tmp_path, library, thumbnails, work):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QGuiApplication, QImage

    panel = ReferenceLibraryPanel(library, thumbnails, work)
    qtbot.addWidget(panel)
    image = QImage(800, 600, QImage.Format.Format_RGB32)
    image.fill(0x3366AA)
    QGuiApplication.clipboard().setImage(image)
    with qtbot.waitSignal(panel.imported, timeout=10000):
        panel.paste()
    source = tmp_path / "dropped.png"
    source.write_bytes(image_bytes(640, 480, codec="png"))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(source))])
    event = QDropEvent(
        QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    with qtbot.waitSignal(panel.imported, timeout=10000):
        panel.dropEvent(event)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2, timeout=5000)
    names = {panel.model.item_at(r).name for r in range(2)}
    assert "dropped" in names
    assert any(name.startswith("Pasted ") for name in names)


def test_the_workspace_wires_library_actions_to_the_project(qtbot, library):
    from kling_studio.ui.references import ReferencesWorkspace

    (item,) = add_images(library, "Opening still")
    references = ProjectReferences()
    stack = QUndoStack()
    workspace = ReferencesWorkspace(references, stack, library)
    qtbot.addWidget(workspace)
    workspace.library_panel.use_requested.emit("start", item.reference)
    workspace.library_panel.use_requested.emit("element", item.reference)
    assert references.start_frame == item.reference
    assert references.elements[0].name == "Opening still"
    edit = QPlainTextEdit()
    qtbot.addWidget(edit)
    completer = workspace.attach_completer(edit)
    assert completer.entries()[0][0] == "@Element1"
    assert stack.count() == 2
    workspace.close_workspace()

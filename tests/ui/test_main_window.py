"""The studio window as a creator meets it: Generate's price and blockers, broken files, drags, closing."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from kling_studio.core.limits import Mode, Tier
from kling_studio.core.pricing import PriceCatalog, estimate
from kling_studio.core.project import Project
from kling_studio.core.project_file import save_project
from kling_studio.core.storyboard import Shot, Storyboard
from kling_studio.services.secrets import KeyStore, MemoryKeyring
from kling_studio.ui.document import ProjectDocument, RecentFiles
from kling_studio.ui.main_window import MainWindow
from kling_studio.ui.theme import Scheme, Theme


def lighthouse(*durations: int, prompts: tuple[str, ...] = ()) -> Project:
    prompts = prompts or tuple(f"shot {i + 1}: the lighthouse beam sweeps" for i in range(len(durations)))
    shots = [Shot(p, d, id=f"shot-{i}") for i, (p, d) in enumerate(zip(prompts, durations, strict=True))]
    project = Project(name="Lighthouse", storyboard=Storyboard(mode=Mode.MULTI, shots=shots))
    project.settings.set("tier", Tier.K4)
    return project


@pytest.fixture
def make_window(qtbot, tmp_path):
    windows: list[MainWindow] = []

    def build(project: Project | None = None, *, keys: KeyStore | None = None) -> MainWindow:
        app = QApplication.instance()
        theme = Theme(app, Scheme.DARK)
        document = ProjectDocument(tmp_path / "recovery", RecentFiles(tmp_path / "recent.json"))
        settings = QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)
        window = MainWindow(document, theme, PriceCatalog.bundled(), settings, keys=keys)
        qtbot.addWidget(window)
        if project is not None:
            document.open(_saved(project, tmp_path))
        window.resize(1280, 800)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield build
    for window in windows:
        window.close_without_asking()


def _saved(project: Project, folder: Path) -> Path:
    path = folder / f"{project.name}.klingproj"
    save_project(project, path)
    return path


def test_generate_carries_the_exact_price(make_window):
    window = make_window(lighthouse(4, 3, 5))  # 12 s at $0.42
    button = window.cost_meter.generate_button
    assert button.text() == "Generate 4k — $5.04"
    assert button.isEnabled()
    assert window.cost_meter.tiers_label.text() == "draft at standard: $1.51 · draft at pro: $2.02"
    assert "Simulator — nothing is charged" in window.banner.label.text()
    assert window.banner.isVisible()


def test_a_16_second_total_disables_generate_and_says_so(make_window, tmp_path):
    window = make_window(lighthouse(6, 5, 5))  # a hand-edited file: 16 s
    button = window.cost_meter.generate_button
    assert not button.isEnabled()
    assert "16 s" in window.cost_meter.reason_label.text()
    assert "16 s" in button.toolTip()
    assert not window.action_generate.isEnabled()


def test_an_empty_shot_prompt_disables_generate_and_names_the_shot(qtbot, make_window):
    window = make_window(lighthouse(4, 3, 5))
    window.selection.select("shot-2")
    window.inspector.prompt_edit.clear()

    button = window.cost_meter.generate_button
    assert not button.isEnabled()
    assert "Shot 3" in window.cost_meter.reason_label.text()
    assert window.timeline.scene.block("shot-2").label.invalid
    qtbot.keyClicks(window.inspector.prompt_edit, "the beam finds the boat")
    assert button.isEnabled()


def test_clicking_a_problem_selects_its_shot_and_focuses_the_field(qtbot, make_window):
    window = make_window(lighthouse(4, 3, 5, prompts=("a", "", "c")))
    window.selection.select("shot-0")
    panel = window.problems_panel
    row = next(
        r for r in range(panel.model.rowCount()) if panel.model.problem(r).field_path == "shots[1].prompt"
    )
    rect = panel.view.visualRect(panel.model.index(row))
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())

    assert window.selection.current_id == "shot-1"
    assert window.inspector.shot_title.text() == "Shot 2 of 3"
    qtbot.waitUntil(lambda: window.inspector.prompt_edit.hasFocus())


def test_a_timeline_drag_shows_the_exact_new_price_and_one_undo_restores_it(qtbot, make_window):
    window = make_window(lighthouse(4, 3, 3))  # 10 s
    timeline = window.timeline
    project = window.document.project
    assert window.cost_meter.total_label.text() == "$4.20"
    block = timeline.scene.block("shot-1")
    handle = block.handle.mapRectToScene(block.handle.rect())
    start = timeline.view.mapFromScene(handle.center())
    end = start + QPoint(round(2 * timeline.scene.scale.pixels_per_second), 0)
    viewport = timeline.view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, 7):
        qtbot.mouseMove(viewport, pos=start + (end - start) * (step / 6))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)

    assert [s.duration for s in project.storyboard.shots] == [4, 5, 3]
    exact = estimate(project, catalog=PriceCatalog.bundled()).total
    assert exact == Decimal("0.42") * 12
    assert window.cost_meter.total_label.text() == "$5.04"
    assert window.cost_meter.generate_button.text() == "Generate 4k — $5.04"

    window.action_undo.trigger()
    assert [s.duration for s in project.storyboard.shots] == [4, 3, 3]
    assert window.cost_meter.total_label.text() == "$4.20"


def test_opening_a_broken_project_shows_the_reason_and_leaves_the_file_alone(qtbot, make_window, tmp_path):
    window = make_window(lighthouse(4, 3, 5))
    broken = tmp_path / "broken.klingproj"
    data = json.dumps({"format": "kling-studio-project", "version": 1, "storyboard": {"shots": "three"}})
    broken.write_bytes(data.encode()[:-7])  # cut off mid-file
    before = hashlib.sha256(broken.read_bytes()).hexdigest()

    window.open_path(broken)

    box = window.message_box
    assert box is not None and box.isVisible()
    assert "broken.klingproj" in box.text()
    assert window.document.project.name == "Lighthouse"  # the open project is untouched
    assert hashlib.sha256(broken.read_bytes()).hexdigest() == before


def test_title_shows_the_name_and_an_unsaved_mark(make_window):
    window = make_window(lighthouse(4, 3, 5))
    assert window.windowTitle() == "Lighthouse[*] — Kling Studio"
    assert not window.isWindowModified()
    window.editor.set_setting("tier", Tier.PRO)
    assert window.isWindowModified()
    window.action_undo.trigger()
    assert not window.isWindowModified()


def test_closing_with_unsaved_changes_asks_and_discard_closes(qtbot, make_window):
    window = make_window(lighthouse(4, 3, 5))
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    window.editor.set_setting("tier", Tier.PRO)

    window.close()
    box = window.unsaved_question
    assert box is not None and box.isVisible()
    assert window.isVisible() and not closed
    assert "Lighthouse" in box.text()

    qtbot.mouseClick(box.button(box.StandardButton.Discard), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: closed == [True])
    assert not window.isVisible()


def test_dropping_a_project_file_opens_it(make_window, tmp_path):
    window = make_window(lighthouse(4, 3, 5))
    other = Project(name="Harbour")
    other.brief.set("scene", "a foggy harbour")
    path = _saved(other, tmp_path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(200, 200),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    assert window.document.project.brief.get("scene") == "a foggy harbour"
    assert window.windowTitle().startswith("Harbour")
    assert window.brief_editor.fields["scene"].toPlainText() == "a foggy harbour"


def test_the_key_dialog_stores_the_key_and_shows_only_its_last_four(qtbot, make_window):
    keys = KeyStore(MemoryKeyring(), environ={})
    window = make_window(lighthouse(4, 3, 5), keys=keys)
    qtbot.mouseClick(window.banner.add_key_button, Qt.MouseButton.LeftButton)
    dialog = window.key_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.key_edit.setText("abc123:supersecretvalue9f3a")
    dialog.buttons.accepted.emit()

    assert keys.get().key == "abc123:supersecretvalue9f3a"
    assert "9f3a" in window.message_box.text()
    assert "supersecret" not in window.message_box.text()
    qtbot.mouseClick(window.banner.add_key_button, Qt.MouseButton.LeftButton)
    assert window.key_dialog.status_label.text().endswith("9f3a (keyring)")
    assert "supersecret" not in window.key_dialog.status_label.text()


def test_switching_to_light_rebuilds_the_editors_on_the_same_project(qtbot, make_window, caplog):
    window = make_window(lighthouse(4, 3, 5))
    window.set_theme_choice("light")
    assert window.theme.scheme is Scheme.LIGHT
    assert window.theme_actions["light"].isChecked()
    window.editor.resize_shot("shot-0", 5)  # old widgets are detached: no listener errors
    assert window.cost_meter.generate_button.text() == "Generate 4k — $5.46"
    assert window.inspector.shot_title.text().startswith("Shot 1")
    assert not [r for r in caplog.records if "listener" in r.getMessage()]


def test_first_run_welcome_starts_from_a_sample_project(qtbot, make_window):
    from kling_studio.core.presets import list_presets
    from kling_studio.ui.session import show_welcome

    window = make_window()
    show_welcome(window)
    dialog = window.welcome_dialog
    assert dialog.isVisible()
    assert "nothing is charged" in dialog.intro_label.text()
    first = list_presets()[0]
    assert dialog.list.item(0).text().startswith(first.name)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)

    assert window.document.project.brief.get("scene") == first.brief.scene
    assert window.brief_editor.fields["scene"].toPlainText() == first.brief.scene
    assert window.cost_meter.generate_button.isEnabled()
    assert window.isWindowModified()  # a sample is unsaved until the user saves it


def test_the_self_test_can_build_the_window(qtbot):
    from kling_studio.ui.main_window import build_self_test_window

    window = build_self_test_window()
    qtbot.addWidget(window)
    window.show()
    assert window.cost_meter is not None and window.timeline is not None
    window.close_without_asking()

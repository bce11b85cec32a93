"""References in the studio window: the dock, Generate with a start frame, a failed upload, missing images.

Real parts: StudioServices opens a real job database and reference library in the test's data folder; no key
is set, so jobs and uploads go to a simulator on 127.0.0.1 (started here, so faults can be injected and its
request log read); asyncio runs on Qt's loop through qasync, as in the app.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest
from PySide6.QtCore import Qt
from qt_async import run_on_qt_loop, wait_for
from references_helpers import image_bytes
from studio_window import open_window

from kling_studio.core.limits import Tier
from kling_studio.core.project import Project
from kling_studio.core.references import Reference
from kling_studio.core.settings import Settings, SettingsValues
from kling_studio.services.reference_library import ReferenceLibrary
from kling_studio.services.secrets import KeyStore, MemoryKeyring
from kling_studio.services.simulator import FaultPlan, SimulatorConfig, SimulatorServer
from kling_studio.services.studio_services import StudioServices


@pytest.fixture
def make_simulator(tmp_path, monkeypatch):
    started: list[SimulatorServer] = []

    def factory(faults: str = "") -> SimulatorServer:
        config = SimulatorConfig(
            speed=200, resolution="preview", work_dir=tmp_path / "sim", faults=FaultPlan.parse(faults)
        )
        sim = SimulatorServer(config).start()
        started.append(sim)
        monkeypatch.setenv("KLING_STUDIO_QUEUE_URL", sim.url)  # no key: simulated, storage on the simulator too
        return sim

    yield factory
    for sim in started:
        sim.stop()


@pytest.fixture
def window(qtbot, tmp_path):
    win = open_window(qtbot, tmp_path)
    yield win
    win.close_without_asking()


def start_frame_project(start: Reference | None = None) -> Project:
    """A single-prompt standard-tier project whose start frame is a fresh library image (or ``start``)."""
    if start is None:
        library = ReferenceLibrary.open_default()
        try:
            start = library.import_bytes(image_bytes(1280, 720, seed=4), name="Opening still").item.reference
        finally:
            library.close()
    settings = Settings(SettingsValues(tier=Tier.STANDARD, generate_audio=False))
    project = Project(name="Still to motion", settings=settings)
    project.storyboard.set_prompt("the still comes alive, slow push-in")
    project.prompt_follows_brief = False
    project.references.set_start_frame(start)
    return project


async def with_services(window, body):
    services = await StudioServices.open(keys=KeyStore(MemoryKeyring(), environ={}))
    try:
        window.set_services(services)
        return await body(services)
    finally:
        await window.generate_action.aclose()
        window.detach_services()
        await services.close()


def uploads(sim) -> list:
    return [r for r in sim.request_log() if urlsplit(r.path).path == "/storage/files/upload"]


def test_the_references_dock_is_in_the_view_menu_and_follows_the_project(qtbot, window, make_simulator):
    make_simulator()
    window.document.new_project(start_frame_project())
    dock = window.references_dock.dock
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert dock.toggleViewAction() in view_menu.actions()
    assert dock.windowTitle() == "References"
    assert not window.inspector.aspect_combo.isEnabled()
    assert window.inspector.aspect_combo.toolTip().startswith("From the start image")
    label = window.inspector._settings_form.labelForField(window.inspector.aspect_combo)
    assert "(from the start image)" in label.text()

    async def body(services):
        workspace = window.references_dock.workspace
        assert workspace is not None and dock.widget() is workspace
        assert workspace.references is window.document.project.references
        completer = workspace._completers[0]
        assert completer._editor is window.inspector.prompt_edit
        # an edit made through the dock is undoable from the window's Edit menu
        workspace.editor.set_start_frame(None)
        assert window.document.project.references.start_frame is None
        assert window.inspector.aspect_combo.isEnabled()
        window.action_undo.trigger()
        assert window.document.project.references.start_frame is not None
        assert not window.inspector.aspect_combo.isEnabled()

    run_on_qt_loop(lambda: with_services(window, body))
    assert window.references_dock.workspace is None  # closed with the services


def test_generate_with_a_start_frame_uploads_it_and_sends_image_to_video(qtbot, window, make_simulator):
    sim = make_simulator()
    window.document.new_project(start_frame_project())
    shown: list[str] = []
    window.statusBar().messageChanged.connect(shown.append)

    async def body(services):
        qtbot.mouseClick(window.cost_meter.generate_button, Qt.MouseButton.LeftButton)
        await wait_for(lambda: window.outputs.queue_model.rowCount() == 1, 30, "the job in the queue dock")
        return window.outputs.queue_model.job_at(0)

    job = run_on_qt_loop(lambda: with_services(window, body))
    assert job.model_id == "fal-ai/kling-video/v3/standard/image-to-video"
    assert job.input["start_image_url"].startswith(sim.url)
    assert "aspect_ratio" not in job.input
    assert [entry["name"] for entry in job.references] == ["Opening still"]
    assert len(uploads(sim)) == 1
    assert any(text.startswith("Uploading reference 1 of 1 (Opening still)") for text in shown)


def test_a_failed_upload_sends_nothing_and_says_which_image(qtbot, window, make_simulator):
    sim = make_simulator("503@upload")
    window.document.new_project(start_frame_project())
    failures: list[str] = []
    window.generate_action.failed.connect(failures.append)

    async def body(services):
        qtbot.mouseClick(window.cost_meter.generate_button, Qt.MouseButton.LeftButton)
        await wait_for(lambda: failures, 30, "the upload to fail")
        await asyncio.sleep(0.2)
        return await asyncio.to_thread(services.store.list), window.outputs.queue_model.rowCount()

    jobs, rows_in_queue = run_on_qt_loop(lambda: with_services(window, body))
    assert jobs == [] and rows_in_queue == 0
    assert sim.submits_for() == 0
    box = window.message_box
    assert box is not None and box.isVisible()
    assert box.windowTitle() == "Nothing was sent"
    start = window.document.project.references.start_frame
    assert f"{start.sha256[:16]}.jpg" in box.text() and "nothing was charged" in box.text()


def test_opening_a_project_with_missing_images_names_them_and_offers_the_dock(qtbot, window, make_simulator):
    make_simulator()
    window.document.new_project(start_frame_project(Reference("e" * 64, "Lost still")))
    window.references_dock.dock.hide()

    async def body(services):
        await wait_for(lambda: window.references_dock.missing_box is not None, 10, "the missing-images message")
        box = window.references_dock.missing_box
        assert "'Lost still' (eeeeeeee)" in box.text() and "relink" in box.text()
        show = next(b for b in box.buttons() if b.text() == "Show References")
        qtbot.mouseClick(show, Qt.MouseButton.LeftButton)
        await wait_for(lambda: window.references_dock.dock.isVisible(), 5, "the References dock")

    run_on_qt_loop(lambda: with_services(window, body))

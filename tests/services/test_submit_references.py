"""`kling-studio submit project.klingproj` with a start frame and elements, against the simulator.

Real parts: the CLI command (in this process), the job database and the reference library on disk in the
test's data folder, and a simulator on 127.0.0.1 that also serves fal's storage endpoints. No key is set, so
the services pick the simulator for the queue and for storage.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from image_helpers import good_image

from kling_studio.cli import main
from kling_studio.core.limits import Tier
from kling_studio.core.project import Project
from kling_studio.core.project_file import save_project
from kling_studio.core.references import Reference
from kling_studio.core.settings import Settings, SettingsValues
from kling_studio.services import paths
from kling_studio.services.job_store import JobStore
from kling_studio.services.ledger import BudgetPolicy
from kling_studio.services.reference_library import ReferenceLibrary


def uploads(sim) -> list:
    return [r for r in sim.request_log() if urlsplit(r.path).path == "/storage/files/upload"]


def project_file(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A saved project: a start frame and two elements over three library images (two shared)."""
    library = ReferenceLibrary.open_default()
    try:
        start = library.import_bytes(good_image(1280, 720, "mjpeg", 1), name="Opening still").item
        hero = library.import_bytes(good_image(720, 960, "png", 2), name="Hero front").item
        bottle = library.import_bytes(good_image(900, 900, "mjpeg", 3), name="Bottle").item
    finally:
        library.close()
    project = Project(name="Element spot", settings=Settings(SettingsValues(tier=Tier.STANDARD, generate_audio=False)))
    project.storyboard.set_prompt("@Element1 hands @Element2 over, slow push-in")
    project.prompt_follows_brief = False
    project.references.set_start_frame(start.reference)
    project.references.add_element("Hero", hero.reference, (bottle.reference,))
    project.references.add_element("Bottle", bottle.reference, (hero.reference, start.reference))
    path = tmp_path / "spot.klingproj"
    save_project(project, path)
    return path, {"start": start.sha256, "hero": hero.sha256, "bottle": bottle.sha256}


@pytest.fixture
def on_simulator(monkeypatch):
    def point_at(sim):
        monkeypatch.setenv("KLING_STUDIO_QUEUE_URL", sim.url)
        return sim

    return point_at


def test_submitting_twice_uploads_each_image_once_and_sends_image_to_video(tmp_path, simulator, on_simulator, capsys):
    on_simulator(simulator)
    path, sha = project_file(tmp_path)

    assert main(["submit", str(path), "--yes"]) == 0
    first = capsys.readouterr()
    assert main(["submit", str(path), "--yes"]) == 0
    second = capsys.readouterr()

    assert len(uploads(simulator)) == 3  # three distinct images, uploaded by the first submit only
    assert "Uploading reference 1 of 3 (Opening still): 100%" in first.err
    assert "Reusing the upload of reference 3 of 3 (Bottle)" in second.err
    assert simulator.submits_for("fal-ai/kling-video/v3/standard/image-to-video") == 2

    video = Path(first.out.strip())
    sidecar = json.loads(video.with_suffix(".json").read_text(encoding="utf-8"))
    sent = sidecar["input"]
    urls = {entry["sha256"]: entry["url"] for entry in sidecar["references"]}
    assert set(urls) == set(sha.values())
    assert all(url.startswith(simulator.url) for url in urls.values())
    assert sidecar["model_id"] == "fal-ai/kling-video/v3/standard/image-to-video"
    assert "aspect_ratio" not in sent
    assert "@Element1" in sent["prompt"]
    assert sent["start_image_url"] == urls[sha["start"]]
    assert sent["elements"] == [
        {"frontal_image_url": urls[sha["hero"]], "reference_image_urls": [urls[sha["bottle"]]]},
        {"frontal_image_url": urls[sha["bottle"]], "reference_image_urls": [urls[sha["hero"]], urls[sha["start"]]]},
    ]
    by_name = {entry["name"]: entry for entry in sidecar["references"]}
    assert by_name["Opening still"]["used_as"] == ["start_frame", "elements[1].reference_image_urls[1]"]
    assert json.loads(Path(second.out.strip()).with_suffix(".json").read_text())["references"] == sidecar[
        "references"
    ]


def test_a_failed_upload_sends_nothing_records_nothing_and_names_the_image(
    tmp_path, make_simulator, on_simulator, capsys
):
    sim = on_simulator(make_simulator(faults="503@upload"))
    path, sha = project_file(tmp_path)

    assert main(["submit", str(path), "--yes"]) == 2
    err = capsys.readouterr().err
    assert f"{sha['start'][:16]}.jpg" in err
    assert "nothing was charged" in err
    assert sim.submits_for() == 0
    with JobStore(paths.database_path()) as store:
        assert store.list() == []


def test_an_image_missing_from_the_library_is_named_and_nothing_is_sent(tmp_path, simulator, on_simulator, capsys):
    on_simulator(simulator)
    path, _ = project_file(tmp_path)
    from kling_studio.core.project_file import load_project

    project = load_project(path)
    gone = Reference("f" * 64, "Deleted hero")
    project.references.set_element_frontal(0, gone)
    save_project(project, path)

    assert main(["submit", str(path), "--yes"]) == 2
    err = capsys.readouterr().err
    assert "'Deleted hero' (ffffffff)" in err and "relink" in err
    assert uploads(simulator) == [] and simulator.submits_for() == 0


def test_over_budget_nothing_is_uploaded(tmp_path, simulator, on_simulator, capsys):
    on_simulator(simulator)
    path, _ = project_file(tmp_path)
    with JobStore(paths.database_path()) as store:
        store.ledger.set_budget(BudgetPolicy(daily="0.10"))

    assert main(["submit", str(path), "--yes"]) == 2
    assert "budget" in capsys.readouterr().err.lower()
    assert uploads(simulator) == [] and simulator.submits_for() == 0

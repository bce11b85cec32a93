"""Acceptance, end to end in the simulator: a start frame and two elements, uploaded once, sent right.

The path is the app's: build the request (placeholders), upload the project's images through fal's storage
protocol (each distinct image once, cached by hash), fill the URLs in, submit through the job runner, and
download the clip; the clip's first frame is the start image.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from urllib.parse import urlsplit

import av
import httpx
import numpy as np
import pytest
from image_helpers import bad_images_module
from runner_helpers import TEST_KEY, runner_kit

from kling_studio.core.limits import Tier
from kling_studio.core.pricing import PriceCatalog, estimate
from kling_studio.core.project import Project
from kling_studio.core.request import build_request
from kling_studio.core.settings import Settings, SettingsValues
from kling_studio.services.jobs import JobState, NewJob
from kling_studio.services.reference_library import ReferenceLibrary
from kling_studio.services.storage_upload import (
    ReferenceUploader,
    StorageClient,
    StorageRefusedError,
    prepare_references,
)

MAKE = bad_images_module()
FIRST_FRAME_TOLERANCE = 6.0  # mean absolute difference per channel, 0–255 (JPEG + H.264 + scaling)


def still(width: int, height: int) -> np.ndarray:
    """A smooth, recognisable start image: colour gradients, a bright disc and a dark bar."""
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack([x * 255 // width, y * 255 // height, 255 - x * 255 // width], -1).astype(np.uint8)
    img[(x - width * 0.3) ** 2 + (y - height * 0.5) ** 2 < (height * 0.25) ** 2] = (250, 220, 40)
    img[height // 8 : height // 4, width // 2 : width * 7 // 8] = (20, 20, 30)
    return img


def uploads(sim) -> list:
    return [r for r in sim.request_log() if urlsplit(r.path).path == "/storage/files/upload"]


def project_with_references(library: ReferenceLibrary) -> tuple[Project, dict[str, str]]:
    """A start frame and two elements over three distinct images (two are shared between elements)."""
    start = library.import_bytes(MAKE.encode(still(1280, 720), "mjpeg"), name="Opening still").item
    hero = library.import_bytes(MAKE.encode(MAKE.picture(720, 960, 6), "png"), name="Hero front").item
    bottle = library.import_bytes(MAKE.encode(MAKE.picture(900, 900, 7), "libwebp"), name="Bottle").item
    project = Project(
        name="Element spot",
        settings=Settings(SettingsValues(tier=Tier.PRO, generate_audio=False)),
    )
    project.storyboard.set_prompt("@Element1 lifts @Element2 into the morning light, slow push-in")
    project.prompt_follows_brief = False
    project.references.set_start_frame(start.reference)
    project.references.add_element("Hero", hero.reference, (bottle.reference,))
    project.references.add_element("Bottle", bottle.reference, (hero.reference, start.reference))
    return project, {"start": start.sha256, "hero": hero.sha256, "bottle": bottle.sha256}


async def submit(kit, project: Project, uploader: ReferenceUploader):
    request = build_request(project)
    urls = await prepare_references(project.references, uploader)
    sent = request.with_image_urls(urls)
    spec = NewJob(
        project_name=project.name,
        model_id=sent.model_id,
        tier=str(project.settings.tier),
        input=dict(sent.arguments),
        estimated_cost=estimate(project, catalog=PriceCatalog.bundled()).total,
        simulated=True,
    )
    job = await kit.runner.submit(spec)
    return await kit.runner.wait(job.id), urls


def first_frame(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


def scaled_image(data: bytes, width: int, height: int) -> np.ndarray:
    with av.open(io.BytesIO(data)) as container:
        frame = next(container.decode(video=0))
        return frame.reformat(width=width, height=height, format="rgb24").to_ndarray()


def test_three_images_upload_once_and_the_clip_starts_on_the_start_image(tmp_path, simulator):
    library = ReferenceLibrary(tmp_path / "references")
    project, sha = project_with_references(library)

    async def run():
        async with runner_kit(tmp_path, simulator.url) as kit, httpx.AsyncClient(timeout=30) as http:
            uploader = ReferenceUploader(library, StorageClient(http, key=TEST_KEY, storage_url=simulator.url))
            first = await submit(kit, project, uploader)
            second = await submit(kit, project, uploader)
            return first, second

    (job, urls), (job2, urls2) = asyncio.run(run())

    # three distinct images, each uploaded exactly once, also after the second submit
    assert len(uploads(simulator)) == 3
    assert set(urls) == set(sha.values()) and urls2 == urls
    assert simulator.submits_for(job.model_id) == 2

    sent = job.input
    assert job.model_id == "fal-ai/kling-video/v3/pro/image-to-video"
    assert "aspect_ratio" not in sent
    assert "@Element1" in sent["prompt"]
    assert sent["start_image_url"] == urls[sha["start"]]
    assert sent["elements"] == [
        {"frontal_image_url": urls[sha["hero"]], "reference_image_urls": [urls[sha["bottle"]]]},
        {"frontal_image_url": urls[sha["bottle"]], "reference_image_urls": [urls[sha["hero"]], urls[sha["start"]]]},
    ]
    assert all(url.startswith(simulator.url) for url in urls.values())

    assert job.state is JobState.DOWNLOADED and job2.state is JobState.DOWNLOADED
    frame = first_frame(job.output_path)
    height, width = frame.shape[:2]
    assert abs(width / height - 16 / 9) < 0.02  # aspect from the start image
    expected = scaled_image(library.read_bytes(sha["start"]), width, height)
    top = slice(0, int(height * 0.8))  # the simulator draws its frame counter along the bottom
    correlation = float(np.corrcoef(frame[top].ravel(), expected[top].ravel())[0, 1])
    print(f"first frame vs start image: correlation {correlation:.4f} at {width}×{height}")
    assert correlation > 0.98  # the picture is the start image, not a title card
    library.close()


def test_the_first_frame_keeps_the_start_images_colours(tmp_path, simulator):
    library = ReferenceLibrary(tmp_path / "references")
    start = library.import_bytes(MAKE.encode(still(1280, 720), "png"), name="Opening still").item
    project = Project(name="Colours", settings=Settings(SettingsValues(tier=Tier.STANDARD, generate_audio=False)))
    project.storyboard.set_prompt("a slow push-in")
    project.prompt_follows_brief = False
    project.references.set_start_frame(start.reference)

    async def run():
        async with runner_kit(tmp_path, simulator.url) as kit, httpx.AsyncClient(timeout=30) as http:
            uploader = ReferenceUploader(library, StorageClient(http, key=TEST_KEY, storage_url=simulator.url))
            return await submit(kit, project, uploader)

    job, _urls = asyncio.run(run())
    frame = first_frame(job.output_path)
    height, width = frame.shape[:2]
    expected = scaled_image(library.read_bytes(start.sha256), width, height)
    top = slice(0, int(height * 0.8))
    difference = float(np.abs(frame[top].astype(np.int16) - expected[top].astype(np.int16)).mean())
    print(f"first frame vs start image: mean difference {difference:.2f} (0–255)")
    library.close()
    assert difference < FIRST_FRAME_TOLERANCE


def test_a_failed_upload_submits_nothing_and_charges_nothing(tmp_path, make_simulator):
    sim = make_simulator(faults="503@upload")
    library = ReferenceLibrary(tmp_path / "references")
    project, _ = project_with_references(library)

    async def run():
        async with runner_kit(tmp_path, sim.url) as kit, httpx.AsyncClient(timeout=30) as http:
            uploader = ReferenceUploader(library, StorageClient(http, key=TEST_KEY, storage_url=sim.url))
            with pytest.raises(StorageRefusedError) as failed:
                await submit(kit, project, uploader)
            return failed.value, kit.store.list()

    error, jobs = asyncio.run(run())
    assert "nothing was charged" in str(error)
    assert jobs == []
    assert sim.submits_for() == 0
    library.close()

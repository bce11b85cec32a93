"""Secret hygiene: a planted key must appear in no file the app writes and nothing it prints or logs, and must
travel only to the queue host and the storage token endpoint (fal's protocol needs it there, nowhere else).
"""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path

import httpx
import numpy as np
from reliability_helpers import SimulatorProcess, cli_env, run_cli, short_project, write_project

from kling_studio.core.pricing import PriceCatalog, estimate
from kling_studio.core.request import build_request
from kling_studio.services.fal_queue import FalQueueClient
from kling_studio.services.job_runner import JobRunner
from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import JobState, NewJob
from kling_studio.services.storage_upload import StorageClient
from kling_studio.services.takes import Review, Verdict, export_markdown, export_take, save_review

SECRET = "PLANTED-SECRET-7f3a9c1e5b"
PLANTED = f"plantedid:{SECRET}"
NEEDLES = (SECRET.encode(), PLANTED.encode())


def _hits(data: bytes) -> bool:
    return any(needle in data for needle in NEEDLES)


def _files_with_key(*folders: Path) -> list[Path]:
    return [
        path
        for folder in folders
        if folder.exists()
        for path in folder.rglob("*")
        if path.is_file() and _hits(path.read_bytes())
    ]


def _authorization(record) -> str | None:
    return next((v for k, v in record.headers.items() if k.lower() == "authorization"), None)


def test_a_whole_cli_flow_writes_and_prints_the_key_nowhere(tmp_path, figures):
    sim = SimulatorProcess(speed=200, work_dir=tmp_path / "renders")
    outputs: list[str] = []
    try:
        env = cli_env(tmp_path, sim.url, PLANTED, KLING_STUDIO_DEBUG="1")
        project = write_project(tmp_path / "projects" / "spot.kproj", short_project("Hygiene"))
        commands = [
            ("submit", str(project), "--yes"),
            ("jobs",),
            ("jobs", "--json"),
            ("key", "status"),
            ("request", str(project)),
            ("cost", str(project), "--json"),
            ("resume",),
        ]
        for command in commands:
            result = run_cli(*command, env=env)
            outputs += [result.stdout, result.stderr]
        assert "downloaded" in outputs[1]
        locked = run_cli("submit", str(project), "--yes", env=cli_env(tmp_path, sim.url, f"locked:{SECRET}"))
        outputs += [locked.stdout, locked.stderr]
        assert locked.returncode != 0 and "fal.ai/dashboard/billing" in locked.stderr
        log = sim.request_log()
    finally:
        sim.stop()

    written = _files_with_key(tmp_path / "data", tmp_path / "config", tmp_path / "projects")
    printed = [text for text in outputs if _hits(text.encode())]
    files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert any(p.suffix == ".mp4" for p in files) and any(p.suffix == ".json" for p in files)
    assert not written, written
    assert not printed, printed
    queue = [r for r in log if not r.path.startswith("/files/")]
    assert queue and all(_authorization(r) in (f"Key {PLANTED}", f"Key locked:{SECRET}") for r in queue)
    videos = [r for r in log if r.path.startswith("/files/")]
    assert videos and all(_authorization(r) is None for r in videos)
    figures.record(
        "secret hygiene",
        files_scanned=len(files) + len(list((tmp_path / "projects").rglob("*"))),
        outputs_scanned=len(outputs),
        key_found_in_files=len(written),
        key_found_in_output=len(printed),
        video_requests_with_a_key=sum(_authorization(r) is not None for r in videos),
    )


def test_the_key_goes_only_to_the_queue_host_and_the_storage_token_and_logs_never_show_it(tmp_path, figures):
    queue_sim = SimulatorProcess(speed=200, work_dir=tmp_path / "renders")
    storage_sim = SimulatorProcess(speed=200, work_dir=tmp_path / "storage")
    log_text = io.StringIO()
    handler = logging.StreamHandler(log_text)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # everything: ours, httpx and httpcore at their chattiest
    try:
        job, uploaded = asyncio.run(_flow(tmp_path, queue_sim.url, storage_sim.url))
        queue_log, storage_log = queue_sim.request_log(), storage_sim.request_log()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        queue_sim.stop()
        storage_sim.stop()

    assert job.state is JobState.DOWNLOADED, job.error
    assert uploaded.startswith(storage_sim.url)
    # Deliver it as a user would: accept, export the take with its sidecar and the brief as Markdown.
    take = save_review(job.output_path, Review(Verdict.ACCEPTED, note="approved"))
    exported = [*export_take(take, tmp_path / "exports"), export_markdown(take, tmp_path / "exports" / "brief.md")]
    assert len(exported) == 3 and all(path.stat().st_size for path in exported)
    logged = log_text.getvalue()
    assert "httpcore" in logged or "httpx" in logged  # the transport did log
    assert not _hits(logged.encode())
    assert f"Key {PLANTED}" not in logged and "Authorization" not in logged
    assert not _files_with_key(tmp_path)

    keyed = [r for r in queue_log + storage_log if _authorization(r) == f"Key {PLANTED}"]
    token_requests = [r for r in storage_log if r.path.startswith("/storage/auth/token")]
    uploads = [r for r in storage_log if r.path.startswith("/storage/files/upload")]
    videos = [r for r in queue_log if r.path.startswith("/files/")]
    assert token_requests and all(_authorization(r) == f"Key {PLANTED}" for r in token_requests)
    assert uploads and all((_authorization(r) or "").startswith("Bearer ") for r in uploads)
    assert videos and all(_authorization(r) is None for r in videos)
    storage_keyed = [r.path.split("?")[0] for r in keyed if r in storage_log]
    assert set(storage_keyed) == {"/storage/auth/token"}  # on the storage host, only the token request
    figures.record(
        "secret hygiene",
        requests_carrying_the_key=len(keyed),
        of_which_not_queue_or_token=sum(
            1 for r in keyed if r.path.startswith("/files/") or r.path.startswith("/storage/files")
        ),
        log_lines_scanned=logged.count("\n"),
        export_files_scanned=len(exported),
        key_in_logs=int(_hits(logged.encode())),
    )


async def _flow(tmp_path: Path, queue_url: str, storage_url: str):
    from kling_studio.services import images

    picture = images.encode_jpeg(np.full((720, 1280, 3), 90, dtype=np.uint8))
    store = JobStore(tmp_path / "data" / "jobs.sqlite3")
    async with httpx.AsyncClient(timeout=30) as http:
        url = await StorageClient(http, key=PLANTED, storage_url=storage_url).upload(
            picture, file_name="start.jpg", content_type="image/jpeg"
        )
        project = short_project("Hygiene i2v")
        request = build_request(project)
        model_id = request.model_id.replace("text-to-video", "image-to-video")
        arguments = {k: v for k, v in request.arguments.items() if k != "aspect_ratio"} | {"start_image_url": url}
        spec = NewJob(
            project_name=project.name,
            model_id=model_id,
            tier="pro",
            input=arguments,
            estimated_cost=estimate(project, catalog=PriceCatalog.bundled()).total,
        )
        runner = JobRunner(
            store,
            FalQueueClient(http, queue_url=queue_url, key=PLANTED),
            http,
            outputs_root=lambda slug: tmp_path / "data" / "outputs" / slug,
            locks_dir=tmp_path / "data" / "locks",
        )
        try:
            job = await runner.submit(spec)
            async with asyncio.timeout(60):
                job = await runner.wait(job.id)
        finally:
            await runner.close()
            store.close()
    return job, url

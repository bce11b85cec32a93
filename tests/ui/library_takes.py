"""Takes for the library tests: downloaded through the real runner from the simulator, or made directly."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
from player_clips import clip, media_cache
from queue_jobs import spec

from kling_studio.services.fal_queue import FalQueueClient
from kling_studio.services.job_runner import JobRunner
from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import Job, NewJob
from kling_studio.services.ledger import BudgetPolicy
from kling_studio.services.provenance import sidecar_for, write_sidecar
from kling_studio.services.simulator import SimulatorConfig, SimulatorServer

SIMULATOR_KEY = "simulator:nothing-is-charged"


def generate_with_simulator(store: JobStore, outputs: Path, locks: Path, job: NewJob, *, resolution: str) -> Job:
    """Submit ``job`` to a fresh simulator through the real runner and wait until it is downloaded."""
    simulator = SimulatorServer(
        SimulatorConfig(speed=200.0, resolution=resolution, work_dir=media_cache() / "simulator")  # type: ignore[arg-type]
    ).start()
    try:
        return asyncio.run(_generate(store, outputs, locks, job, simulator.url))
    finally:
        simulator.stop()


async def _generate(store: JobStore, outputs: Path, locks: Path, job: NewJob, url: str) -> Job:
    async with httpx.AsyncClient(timeout=60.0) as http:
        client = FalQueueClient(http, queue_url=url, key=SIMULATOR_KEY, poll_interval=0.05)
        runner = JobRunner(store, client, http, outputs_root=lambda slug: outputs / slug, locks_dir=locks)
        await runner.start()
        try:
            submitted = await runner.submit(job, budget=BudgetPolicy())
            async with asyncio.timeout(120):
                return await runner.wait(submitted.id)
        finally:
            await runner.close()


def quick_take(store: JobStore, outputs: Path, job: NewJob, *, video: Path | None = None) -> Path:
    """A downloaded take without a server: the store's own moves, a cached clip and the runner's sidecar."""
    made = store.create_submitting(job, budget=BudgetPolicy())
    made = store.mark_submitted(made.id, {"request_id": f"req-{made.id}"})
    made = store.mark_completed(made.id, video_url="http://127.0.0.1/v.mp4", file_size=1)
    target = outputs / made.project_slug / f"{made.id}.mp4"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(video or clip(), target)
    size = target.stat().st_size
    made = store.mark_downloaded(made.id, target, file_size=size)
    write_sidecar(target, sidecar_for(made, target, file_size=size))
    return target


__all__ = ["generate_with_simulator", "quick_take", "spec"]

"""Building blocks for runner tests: a real store, client and runner pointed at a simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from kling_studio.core.limits import Mode, Tier
from kling_studio.core.pricing import PriceCatalog, estimate
from kling_studio.core.project import Project
from kling_studio.core.request import build_request
from kling_studio.core.settings import Settings, SettingsValues
from kling_studio.core.storyboard import Shot, Storyboard
from kling_studio.services.fal_queue import FalQueueClient
from kling_studio.services.job_runner import JobRunner
from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import Job, NewJob
from kling_studio.services.retry import RetryPolicy

TEST_KEY = "testid:test-secret-0000"
FAST_RETRY = RetryPolicy(attempts=6, base_delay=0.01, max_delay=0.05, max_elapsed=10.0)


def multi_shot_project(durations: tuple[int, ...] = (4, 3, 5), *, tier: Tier = Tier.K4, audio: bool = True) -> Project:
    """A multi-shot project with one prompt per shot."""
    shots = [Shot(f"shot {i + 1}: a matte black espresso machine, slow dolly-in", d) for i, d in enumerate(durations)]
    return Project(
        name="Espresso spot",
        storyboard=Storyboard(mode=Mode.MULTI, shots=shots),
        settings=Settings(SettingsValues(tier=tier, generate_audio=audio)),
    )


def job_spec(project: Project, *, simulated: bool = True) -> NewJob:
    """What the app would record for ``project`` at its tier."""
    request = build_request(project)
    cost = estimate(project, catalog=PriceCatalog.bundled()).total
    return NewJob(
        project_name=project.name,
        model_id=request.model_id,
        tier=str(project.settings.tier),
        input=dict(request.arguments),
        estimated_cost=cost,
        simulated=simulated,
    )


@dataclass
class RunnerKit:
    """A runner with everything it drives, and every job state it published."""

    runner: JobRunner
    store: JobStore
    outputs: Path
    seen: list[Job] = field(default_factory=list)

    def states_of(self, job_id: str) -> list[str]:
        """The distinct states published for a job, in order."""
        states: list[str] = []
        for job in self.seen:
            if job.id == job_id and (not states or states[-1] != job.state.value):
                states.append(job.state.value)
        return states


@asynccontextmanager
async def runner_kit(tmp_path: Path, queue_url: str, *, key: str = TEST_KEY) -> AsyncIterator[RunnerKit]:
    """A started runner on a fresh database under ``tmp_path``; closed afterwards."""
    outputs = tmp_path / "outputs"
    store = JobStore(tmp_path / "jobs.sqlite3")
    async with httpx.AsyncClient(timeout=30.0) as http:
        client = FalQueueClient(http, queue_url=queue_url, key=key, retry=FAST_RETRY)
        runner = JobRunner(
            store,
            client,
            http,
            outputs_root=lambda slug: outputs / slug,
            locks_dir=tmp_path / "locks",
            retry_delays=(0.05, 0.1, 0.2),
        )
        kit = RunnerKit(runner, store, outputs)
        runner.subscribe(kit.seen.append)
        await runner.start()
        try:
            yield kit
        finally:
            await runner.close()
            store.close()

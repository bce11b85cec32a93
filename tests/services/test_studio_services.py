"""The services as the app opens them: simulator without a key, fal with one, and leftovers handled."""

from __future__ import annotations

import asyncio

from runner_helpers import job_spec, multi_shot_project

from kling_studio.core.limits import Tier
from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import JobState
from kling_studio.services.paths import database_path
from kling_studio.services.secrets import KeyStore, MemoryKeyring
from kling_studio.services.studio_services import StudioServices


def _keys(key: str | None = None) -> KeyStore:
    store = KeyStore(MemoryKeyring(), environ={})
    if key:
        store.set(key)
    return store


def test_without_a_key_jobs_run_on_the_builtin_simulator_and_finish(monkeypatch):
    monkeypatch.setenv("KLING_STUDIO_SIM_SPEED", "200")

    async def scenario():
        services = await StudioServices.open(keys=_keys())
        try:
            assert services.simulated
            assert services.queue_url.startswith("http://127.0.0.1:")
            job = await services.runner.submit(job_spec(multi_shot_project((3,), tier=Tier.STANDARD)))
            async with asyncio.timeout(60):
                return await services.runner.wait(job.id)
        finally:
            await services.close()

    done = asyncio.run(scenario())
    assert done.state is JobState.DOWNLOADED
    assert done.simulated
    assert done.output_path.is_file()


def test_with_a_key_jobs_go_to_the_configured_queue_and_are_not_simulated(monkeypatch, simulator):
    monkeypatch.setenv("KLING_STUDIO_QUEUE_URL", simulator.url)

    async def scenario():
        services = await StudioServices.open(keys=_keys("realid:real-secret"), start_runner=False)
        try:
            return services.simulated, services.queue_url
        finally:
            await services.close()

    simulated, url = asyncio.run(scenario())
    assert not simulated
    assert url == simulator.url


def test_simulated_jobs_left_by_a_gone_simulator_are_expired_with_a_reason(monkeypatch):
    with JobStore(database_path()) as store:
        job = store.create_submitting(job_spec(multi_shot_project((3,), tier=Tier.STANDARD)))
        store.mark_submitted(job.id, {
            "request_id": "r-1",
            "status_url": "http://127.0.0.1:9/fal-ai/kling-video/requests/r-1/status",
            "response_url": "http://127.0.0.1:9/fal-ai/kling-video/requests/r-1",
            "cancel_url": "http://127.0.0.1:9/fal-ai/kling-video/requests/r-1/cancel",
        })

    async def scenario():
        services = await StudioServices.open(keys=_keys())
        await services.close()

    asyncio.run(scenario())
    with JobStore(database_path()) as store:
        after = store.get(job.id)
    assert after.state is JobState.EXPIRED
    assert "Nothing was charged" in after.error.message

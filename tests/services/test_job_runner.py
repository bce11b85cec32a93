"""The job runner against the real simulator: every paid result ends up on disk, every failure is truthful."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
from runner_helpers import TEST_KEY, job_spec, multi_shot_project, runner_kit

from kling_studio.core.limits import Tier
from kling_studio.services.jobs import ChargeStatus, JobState, NewJob
from kling_studio.services.ledger import BudgetExceededError, BudgetPolicy
from kling_studio.services.media import probe_video


def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


@pytest.mark.slow
def test_three_shot_4k_job_goes_from_queue_to_a_4k_file_with_sidecar_and_spend(tmp_path, make_simulator):
    sim = make_simulator(resolution="full", speed=20, queue_ahead=2)
    project = multi_shot_project((1, 1, 1), tier=Tier.K4)

    async def scenario():
        async with runner_kit(tmp_path, sim.url) as kit:
            job = await kit.runner.submit(job_spec(project, simulated=False))
            done = await kit.runner.wait(job.id)
            return kit, job, done, [j for j in kit.seen if j.id == job.id]

    kit, job, done, seen = _run(scenario())
    assert done.state is JobState.DOWNLOADED
    states = kit.states_of(job.id)
    assert states[0] == "submitting" and states[-1] == "downloaded"
    for expected in ("queued", "running", "completed", "downloading"):
        assert expected in states
    assert any(j.queue_position is not None for j in seen if j.state is JobState.QUEUED)
    assert any(j.logs for j in seen if j.state is JobState.RUNNING)

    info = probe_video(done.output_path)
    assert (info.width, info.height) == (3840, 2160)
    assert abs(info.duration - 3.0) <= 0.1
    sidecar = json.loads(done.output_path.with_suffix(".json").read_text())
    assert sidecar["request_id"] == done.request_id
    assert sidecar["input"]["multi_prompt"][0]["duration"] == "1"
    assert sidecar["estimated_cost"] == "1.26"
    assert kit.store.ledger.spend_today() == Decimal("1.26")


def test_a_429_on_status_is_retried_and_the_job_still_finishes(tmp_path, make_simulator):
    sim = make_simulator(faults="429@status*2,drop@stream")
    done = _finish_one(tmp_path, sim.url)
    assert done.state is JobState.DOWNLOADED
    assert sim.faults.fired().get("429@status") == 2


def test_a_dropped_status_stream_falls_back_to_polling(tmp_path, make_simulator):
    sim = make_simulator(faults="drop@stream", speed=20)  # slow enough that the stream drops before the end
    done = _finish_one(tmp_path, sim.url)
    assert done.state is JobState.DOWNLOADED
    assert sim.faults.fired().get("drop@stream")
    assert any("/status?" in r.path or r.path.endswith("/status") for r in sim.request_log())


def test_a_truncated_download_is_resumed_with_a_range_request(tmp_path, make_simulator):
    sim = make_simulator(faults="truncate@download")
    done = _finish_one(tmp_path, sim.url)
    assert done.state is JobState.DOWNLOADED
    assert done.output_path.stat().st_size == done.file_size
    downloads = sim.downloads_of(done.output_path.name) or [
        r for r in sim.request_log() if r.path.startswith("/files/") and r.method == "GET"
    ]
    assert any(r.range for r in downloads)
    assert not list(done.output_path.parent.glob("*.part"))


def test_a_dropped_download_resumes_and_the_file_is_complete(tmp_path, make_simulator):
    sim = make_simulator(faults="drop@download")
    done = _finish_one(tmp_path, sim.url)
    assert done.state is JobState.DOWNLOADED
    assert probe_video(done.output_path).duration == pytest.approx(3.0, abs=0.1)


def test_an_expired_result_ends_the_job_as_expired_and_charged(tmp_path, make_simulator):
    sim = make_simulator(faults="expire@result")
    done = _finish_one(tmp_path, sim.url)
    assert done.state is JobState.EXPIRED
    assert "expired" in done.error.message.lower() or "no longer" in done.error.message.lower()
    assert done.charge is ChargeStatus.CHARGED


def test_a_503_on_submit_fails_uncharged_and_is_never_resent(tmp_path, make_simulator):
    sim = make_simulator(faults="503@submit")
    done = _finish_one(tmp_path, sim.url)
    assert done.state is JobState.FAILED
    assert done.charge is ChargeStatus.REFUNDED
    assert "never charged" in done.error.message
    assert sim.submits_for() == 1


@pytest.mark.parametrize(
    ("key", "faults", "kind", "words"),
    [
        ("malformed-key", "", "auth", "key"),
        (TEST_KEY, "lock", "balance", "fal.ai/dashboard/billing"),
    ],
)
def test_refused_keys_fail_the_job_uncharged_with_a_plain_message(tmp_path, make_simulator, key, faults, kind, words):
    sim = make_simulator(faults=faults)
    done = _finish_one(tmp_path, sim.url, key=key)
    assert done.state is JobState.FAILED
    assert done.error.kind == kind
    assert words in done.error.message
    assert done.charge is ChargeStatus.REFUNDED
    assert key not in done.error.message


def test_a_422_names_the_field_and_keeps_the_cost_as_maybe_charged(tmp_path, simulator):
    spec = NewJob(
        project_name="Raw",
        model_id="fal-ai/kling-video/v3/pro/text-to-video",
        tier="pro",
        input={"multi_prompt": [{"prompt": "a", "duration": "3"}, {"prompt": "", "duration": "3"}], "duration": "6"},
        estimated_cost=Decimal("1.008"),
    )

    async def scenario():
        async with runner_kit(tmp_path, simulator.url) as kit:
            return await kit.runner.submit(spec)

    done = _run(scenario())
    assert done.state is JobState.FAILED
    assert done.error.kind == "validation"
    assert "shots[1].prompt" in done.error.message
    assert done.charge is ChargeStatus.MAYBE_CHARGED


def test_twenty_concurrent_submits_against_a_budget_for_five_accept_exactly_five(tmp_path, simulator):
    project = multi_shot_project((3,), tier=Tier.STANDARD, audio=False)
    spec = job_spec(project, simulated=False)
    budget = BudgetPolicy(daily=spec.estimated_cost * 5)

    async def scenario():
        async with runner_kit(tmp_path, simulator.url) as kit:
            results = await asyncio.gather(
                *(kit.runner.submit(spec, budget=budget) for _ in range(20)), return_exceptions=True
            )
            return kit, results

    _kit, results = _run(scenario())
    accepted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BudgetExceededError)]
    assert len(accepted) == 5
    assert len(refused) == 15
    assert simulator.submits_for() == 5


def test_cancelling_a_queued_job_refunds_it(tmp_path, make_simulator):
    sim = make_simulator(speed=0.5)  # stays queued for seconds

    async def scenario():
        async with runner_kit(tmp_path, sim.url) as kit:
            job = await kit.runner.submit(job_spec(multi_shot_project((3,)), simulated=False))
            return await kit.runner.cancel(job.id)

    done = _run(scenario())
    assert done.state is JobState.CANCELLED
    assert done.charge is ChargeStatus.REFUNDED


def test_the_key_never_reaches_the_video_host_or_the_files_written(tmp_path, simulator):
    planted = "plantedid:PLANTED-SECRET-0042"
    done = _finish_one(tmp_path, simulator.url, key=planted)
    assert done.state is JobState.DOWNLOADED
    for record in simulator.request_log():
        if record.path.startswith("/files/"):
            assert "authorization" not in {h.lower() for h in record.headers}
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"PLANTED-SECRET-0042" not in path.read_bytes(), path


def _finish_one(tmp_path, url, *, key=TEST_KEY):
    project = multi_shot_project((1, 1, 1), tier=Tier.PRO)

    async def scenario():
        async with runner_kit(tmp_path, url, key=key) as kit:
            job = await kit.runner.submit(job_spec(project, simulated=False))
            if job.is_terminal:
                return job
            return await kit.runner.wait(job.id)

    return _run(scenario())

"""The fal queue client against the simulator: job lifecycle, retries, fallbacks and what users are told."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pytest

from kling_studio.services.fal_errors import (
    TOP_UP_URL,
    FalAuthError,
    FalBalanceLockedError,
    FalError,
    FalNetworkError,
    FalRateLimitedError,
    FalRequestCancelledError,
    FalResultExpiredError,
    FalUnavailableError,
    FalValidationError,
)
from kling_studio.services.fal_queue import (
    DEFAULT_QUEUE_URL,
    QUEUE_URL_ENV,
    FalQueueClient,
    QueueStatus,
    SubmitReceipt,
    queue_url_from_env,
)
from kling_studio.services.retry import RetryPolicy

T2V_STANDARD = "fal-ai/kling-video/v3/standard/text-to-video"
T2V_4K = "fal-ai/kling-video/v3/4k/text-to-video"
KEY = "test-id:test-secret"
ONE_SHOT = {"prompt": "A red kite over a grey sea", "duration": "3", "generate_audio": False}
THREE_SHOTS = {
    "multi_prompt": [
        {"prompt": "A lighthouse at dusk", "duration": "2"},
        {"prompt": "The lamp turns on", "duration": "3"},
        {"prompt": "Aerial pull-back over the bay", "duration": "2"},
    ],
    "duration": "7",
    "generate_audio": False,
}
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_elapsed=10)

T = TypeVar("T")


def run(
    make: Callable[[FalQueueClient], Awaitable[T]], url: str, *, key: str | None = KEY, **options: Any
) -> T:
    """Run ``make(client)`` on a fresh loop with a fresh httpx client, like the job runner would."""
    options.setdefault("retry", FAST)
    options.setdefault("poll_interval", 0.01)
    options.setdefault("max_poll_interval", 0.05)

    async def main() -> T:
        async with httpx.AsyncClient(timeout=30) as http:
            return await make(FalQueueClient(http, queue_url=url, key=key, **options))

    return asyncio.run(main())


async def collect(client: FalQueueClient, receipt: SubmitReceipt) -> list[QueueStatus]:
    return [status async for status in client.follow(receipt)]


def paths(sim, method: str | None = None) -> list[str]:
    return [urlsplit(r.path).path for r in sim.request_log() if method is None or r.method == method]


def test_a_three_shot_job_is_followed_over_the_stream_from_queued_to_its_result(make_simulator):
    sim = make_simulator(speed=20)

    async def job(client: FalQueueClient) -> tuple[SubmitReceipt, list[QueueStatus], dict]:
        receipt = await client.submit(T2V_4K, THREE_SHOTS)
        statuses = await collect(client, receipt)
        return receipt, statuses, await client.result(receipt)

    receipt, statuses, result = run(job, sim.url)

    assert receipt.request_id and receipt.fal_request_id == receipt.request_id
    assert receipt.queue_position is not None and receipt.queue_position >= 0
    assert receipt.status_url.endswith(f"/fal-ai/kling-video/requests/{receipt.request_id}/status")
    states = [s.state for s in statuses]
    assert states[0] == "IN_QUEUE" and states[-1] == "COMPLETED" and "IN_PROGRESS" in states
    assert states.count("COMPLETED") == 1, "follow ends after COMPLETED"
    assert any(s.queue_position is not None for s in statuses if s.state == "IN_QUEUE")
    assert any("shot 3/3" in log["message"] for log in statuses[-1].logs)
    assert statuses[-1].metrics["inference_time"] > 0 and statuses[-1].error is None
    assert result["video"]["content_type"] == "video/mp4" and result["video"]["file_size"] > 0
    polled = [p for p in paths(sim, "GET") if p.endswith("/status")]
    assert not polled, "a healthy stream needs no polling"
    assert sum(p.endswith("/status/stream") for p in paths(sim)) == 1


def test_the_key_goes_in_the_authorization_header_of_every_call(simulator):
    async def job(client: FalQueueClient) -> None:
        receipt = await client.submit(T2V_STANDARD, ONE_SHOT)
        await collect(client, receipt)
        await client.result(receipt)
        await client.cancel(receipt)

    run(job, simulator.url)
    records = simulator.request_log()
    assert len(records) == 4
    assert {r.headers.get("Authorization") for r in records} == {f"Key {KEY}"}


def test_follow_falls_back_to_polling_when_the_stream_drops(make_simulator):
    sim = make_simulator(speed=20, faults="drop@stream")

    async def job(client: FalQueueClient) -> list[QueueStatus]:
        return await collect(client, await client.submit(T2V_STANDARD, ONE_SHOT))

    statuses = run(job, sim.url)

    assert statuses[-1].state == "COMPLETED"
    assert sim.faults.fired() == {"drop@stream": 1}
    gets = paths(sim, "GET")
    assert gets[0].endswith("/status/stream") and len(gets) > 1
    assert all(p.endswith("/status") for p in gets[1:]), "after the drop it polls the status URL"
    assert len(statuses) == len(set(map(repr, statuses))), "no status is reported twice in a row"


def test_follow_polls_when_the_stream_answers_503(make_simulator):
    sim = make_simulator(speed=20, faults="503@stream")

    async def job(client: FalQueueClient) -> list[QueueStatus]:
        return await collect(client, await client.submit(T2V_STANDARD, ONE_SHOT))

    assert run(job, sim.url)[-1].state == "COMPLETED"
    assert any(p.endswith("/status") for p in paths(sim, "GET"))


def test_a_429_on_status_is_retried_after_the_delay_the_server_asked_for(make_simulator):
    sim = make_simulator(speed=20, faults="429@status*1")

    async def job(client: FalQueueClient) -> QueueStatus:
        return await client.status(await client.submit(T2V_STANDARD, ONE_SHOT))

    status = run(job, sim.url)

    assert status.state in ("IN_QUEUE", "IN_PROGRESS", "COMPLETED")
    polls = [r for r in sim.request_log() if urlsplit(r.path).path.endswith("/status")]
    assert [r.status for r in polls][:1] == [429] and len(polls) == 2
    assert polls[1].time - polls[0].time >= 1.0, "Retry-After: 1 was honoured"


def test_503s_on_status_are_retried_with_backoff_until_one_succeeds(make_simulator):
    sim = make_simulator(speed=20, faults="503@status*2")

    async def job(client: FalQueueClient) -> QueueStatus:
        return await client.status(await client.submit(T2V_STANDARD, ONE_SHOT))

    run(job, sim.url)
    codes = [r.status for r in sim.request_log() if urlsplit(r.path).path.endswith("/status")]
    assert codes[:2] == [503, 503] and codes[2] in (200, 202)


def test_status_gives_up_with_a_plain_message_when_fal_stays_unavailable(make_simulator):
    sim = make_simulator(speed=20, faults="503@status")

    async def job(client: FalQueueClient) -> QueueStatus:
        return await client.status(await client.submit(T2V_STANDARD, ONE_SHOT))

    with pytest.raises(FalUnavailableError) as caught:
        run(job, sim.url)
    error = caught.value
    assert error.status == 503 and error.error_type == "runner_scheduling_failure"
    assert "never charged" in str(error) and "try again" in str(error)
    assert error.request_id is not None
    assert sum(p.endswith("/status") for p in paths(sim)) == FAST.attempts


@pytest.mark.parametrize("fault", ["503@submit", "429@submit", "504@submit"])
def test_submit_is_never_retried(make_simulator, fault):
    sim = make_simulator(faults=fault)

    async def job(client: FalQueueClient) -> SubmitReceipt:
        return await client.submit(T2V_STANDARD, ONE_SHOT)

    with pytest.raises(FalUnavailableError) as caught:
        run(job, sim.url)
    assert sim.submits_for() == 1, "one POST only: a retried submit could be charged twice"
    assert "never charged" in str(caught.value) or "Nothing was charged" in str(caught.value)


def test_429s_that_never_stop_end_as_a_rate_limit_error(make_simulator):
    sim = make_simulator(speed=20, faults="429@result")

    async def job(client: FalQueueClient) -> dict:
        receipt = await client.submit(T2V_STANDARD, ONE_SHOT)
        await collect(client, receipt)
        return await client.result(receipt)

    with pytest.raises(FalRateLimitedError, match="slow down"):
        run(job, sim.url, retry=RetryPolicy(attempts=2, max_retry_after=1.5))


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("unknown:secret-value", "Your fal key was refused (No user found for Key ID and Secret)"),
        ("not-a-key", "Your fal key was refused (Invalid Key Authorization header format"),
        (None, "No fal key is set"),
    ],
)
def test_a_refused_key_says_so_and_where_to_fix_it(simulator, key, expected):
    async def job(client: FalQueueClient) -> SubmitReceipt:
        return await client.submit(T2V_STANDARD, ONE_SHOT)

    with pytest.raises(FalAuthError) as caught:
        run(job, simulator.url, key=key)
    assert caught.value.status == 401
    assert str(caught.value).startswith(expected)
    assert "Settings" in str(caught.value) and "fal.ai/dashboard/keys" in str(caught.value)


def test_an_exhausted_balance_says_the_balance_is_empty_with_the_top_up_link(simulator):
    async def job(client: FalQueueClient) -> SubmitReceipt:
        return await client.submit(T2V_STANDARD, ONE_SHOT)

    with pytest.raises(FalBalanceLockedError) as caught:
        run(job, simulator.url, key="locked:some-secret")
    error = caught.value
    assert error.status == 403 and not error.admin_lock
    assert str(error).startswith("Your fal balance is empty")
    assert error.top_up_url == TOP_UP_URL == "https://fal.ai/dashboard/billing"
    assert TOP_UP_URL in str(error)
    assert "Exhausted balance" in error.detail


def test_a_refused_input_names_our_fields(simulator):
    bad = {
        "multi_prompt": [
            {"prompt": "A lighthouse at dusk", "duration": "2"},
            {"prompt": "", "duration": "99"},
        ],
        "cfg_scale": 7,
    }

    async def job(client: FalQueueClient) -> SubmitReceipt:
        return await client.submit(T2V_STANDARD, bad)

    with pytest.raises(FalValidationError) as caught:
        run(job, simulator.url)
    error = caught.value
    fields = {p.field_path for p in error.problems}
    assert {"shots[1].prompt", "shots[1].duration", "cfg_scale"} <= fields
    assert all(p.message for p in error.problems)
    assert error.status == 422 and error.retryable is False
    assert "shots[1].prompt" in str(error) and "Fix these fields" in str(error)


def test_an_expired_result_says_it_is_gone_and_why(make_simulator):
    sim = make_simulator(speed=20, faults="expire@result")

    async def job(client: FalQueueClient) -> dict:
        receipt = await client.submit(T2V_STANDARD, ONE_SHOT)
        await collect(client, receipt)
        return await client.result(receipt)

    with pytest.raises(FalResultExpiredError) as caught:
        run(job, sim.url)
    assert caught.value.status == 404 and caught.value.request_id
    assert "1 hour" in str(caught.value) and caught.value.request_id in str(caught.value)


def test_cancel_before_the_job_runs_and_after_it_finished(make_simulator):
    sim = make_simulator(speed=1)

    async def job(client: FalQueueClient) -> tuple[str, QueueStatus, str]:
        receipt = await client.submit(T2V_STANDARD, ONE_SHOT)
        outcome = await client.cancel(receipt)
        statuses = await collect(client, receipt)
        with pytest.raises(FalRequestCancelledError):
            await client.result(receipt)
        return outcome, statuses[-1], await client.cancel(receipt)

    first, final, second = run(job, sim.url)
    assert first == "CANCELLATION_REQUESTED"
    assert final.state == "COMPLETED" and final.error_type == "request_cancelled"
    assert second == "ALREADY_COMPLETED"


def test_a_receipt_survives_a_round_trip_through_json_and_still_follows_the_job(simulator):
    async def submit(client: FalQueueClient) -> SubmitReceipt:
        return await client.submit(T2V_STANDARD, ONE_SHOT)

    receipt = run(submit, simulator.url)
    saved = json.loads(json.dumps(receipt.to_dict()))
    assert SubmitReceipt.from_dict(saved) == receipt

    async def resume(client: FalQueueClient) -> QueueStatus:
        return [s async for s in client.follow(saved)][-1]

    assert run(resume, simulator.url).state == "COMPLETED"
    with pytest.raises(ValueError, match="request_id"):
        SubmitReceipt.from_dict({"status_url": "x"})


def test_submit_to_a_closed_port_says_nothing_was_sent():
    with pytest.raises(FalNetworkError) as caught:
        run(lambda client: client.submit(T2V_STANDARD, ONE_SHOT), "http://127.0.0.1:9")
    assert caught.value.may_have_reached_fal is False
    assert "nothing was sent or charged" in str(caught.value)


def test_status_from_an_unreachable_host_retries_then_says_the_job_carries_on():
    receipt = SubmitReceipt(
        request_id="abc",
        status_url="http://127.0.0.1:9/s",
        response_url="http://127.0.0.1:9/r",
        cancel_url="x",
    )
    with pytest.raises(FalNetworkError) as caught:
        run(lambda client: client.status(receipt), "http://127.0.0.1:9")
    assert "carries on at fal" in str(caught.value) and caught.value.request_id == "abc"


def test_queue_url_comes_from_the_environment(monkeypatch):
    assert queue_url_from_env() == DEFAULT_QUEUE_URL == "https://queue.fal.run"
    monkeypatch.setenv(QUEUE_URL_ENV, "http://127.0.0.1:8765/")
    assert queue_url_from_env() == "http://127.0.0.1:8765"


def test_a_planted_key_is_in_no_message_repr_or_log_line(make_simulator, caplog):
    planted = "plant-id:PLANTED-SECRET-4d1f9c"
    sims = [make_simulator(speed=20, faults=f) for f in ("503@status", "expire@result", "503@submit")]
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    async def scenario(client: FalQueueClient) -> None:
        seen.append(repr(client))
        for make in (
            lambda: client.submit("fal-ai/kling-video/v3/standard/text-to-video", {"prompt": ""}),
            lambda: client.status(
                {
                    "request_id": "x",
                    "status_url": f"{client.queue_url}/nope",
                    "response_url": "r",
                    "cancel_url": "c",
                }
            ),
        ):
            try:
                await make()
            except FalError as exc:
                seen.extend([str(exc), repr(exc), json.dumps(exc.detail, default=str), repr(exc.__dict__)])

    for sim in sims:
        run(scenario, sim.url, key=planted)
    run(scenario, "http://127.0.0.1:9", key=planted)
    seen.extend(record.getMessage() for record in caplog.records)
    assert len(seen) > 10
    assert not [text for text in seen if "PLANTED-SECRET" in text]

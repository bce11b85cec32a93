"""Each injected fault looks on the wire the way the real failure does, and a seeded plan repeats exactly."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from kling_studio.services.simulator import FaultPlan, FaultSpecError
from kling_studio.services.simulator.server import LOCKED

T2V = "fal-ai/kling-video/v3/standard/text-to-video"
KEY = {"Authorization": "Key test-id:test-secret"}


def submit(sim) -> dict:
    response = httpx.post(f"{sim.url}/{T2V}", json={"prompt": "a cat", "duration": "3"}, headers=KEY)
    assert response.status_code == 200, response.text
    return response.json()


def wait_completed(sim, body: dict) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = httpx.get(body["status_url"], headers=KEY)
        if response.status_code == 200 and response.json()["status"] == "COMPLETED":
            return httpx.get(body["response_url"], headers=KEY).json()
        time.sleep(0.01)
    raise AssertionError("the job never completed")


def test_the_spec_grammar_parses_and_describes_itself():
    plan = FaultPlan.parse("latency=200ms, 429@status:0.3, 503@status*2, drop@download, lock, seed=7")
    assert plan.latency == pytest.approx(0.2) and plan.lock_all and plan.seed == 7
    assert [(f.kind, f.site, f.probability, f.limit) for f in plan.faults] == [
        ("429", "status", 0.3, None),
        ("503", "status", 1.0, 2),
        ("drop", "download", 1.0, None),
    ]
    assert FaultPlan.parse(plan.describe()).faults == plan.faults
    assert FaultPlan.parse("latency=1.5s").latency == 1.5
    assert FaultPlan.parse("").faults == ()


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("429@everywhere", "everywhere"),
        ("teapot@status", "teapot"),
        ("drop@submit", "drop works only at"),
        ("429@status:1.5", "between 0 and 1"),
        ("latency=fast", "200ms"),
        ("seed=abc", "whole number"),
    ],
)
def test_a_bad_spec_item_is_named_with_the_fix(spec, named):
    with pytest.raises(FaultSpecError, match=named):
        FaultPlan.parse(spec)


def test_a_seeded_plan_makes_the_same_choices_every_time():
    def draws(seed: int) -> list[bool]:
        plan = FaultPlan.parse(f"429@status:0.3,seed={seed}")
        return [plan.pick("status") is not None for _ in range(200)]

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)
    assert 30 <= sum(draws(7)) <= 90  # about 30 % of 200


def test_429_on_submit_carries_retry_after_and_queues_nothing(make_simulator):
    sim = make_simulator(faults="429@submit")
    response = httpx.post(f"{sim.url}/{T2V}", json={"prompt": "a cat"}, headers=KEY)
    assert response.status_code == 429 and response.headers["retry-after"] == "1"
    assert response.json()["detail"]
    assert not sim.jobs.request_ids()
    assert sim.request_log()[-1].fault == "429@submit"


def test_503_on_status_uses_fals_flat_error_shape_then_recovers(make_simulator):
    sim = make_simulator(faults="503@status*2")
    body = submit(sim)
    codes = []
    for _ in range(3):
        response = httpx.get(body["status_url"], headers=KEY)
        codes.append(response.status_code)
        if response.status_code == 503:
            assert response.json() == {
                "detail": "Runner scheduling failure",
                "error_type": "runner_scheduling_failure",
            }
            assert response.headers["x-fal-error-type"] == "runner_scheduling_failure"
    assert codes[:2] == [503, 503] and codes[2] in (200, 202)
    assert wait_completed(sim, body)["video"]["file_size"] > 0


def wait_status_completed(body: dict) -> None:
    deadline = time.monotonic() + 30
    while httpx.get(body["status_url"], headers=KEY).status_code != 200:
        assert time.monotonic() < deadline, "the job never completed"
        time.sleep(0.01)


def test_500_on_result(make_simulator):
    sim = make_simulator(faults="500@result*1")
    body = submit(sim)
    wait_status_completed(body)
    first = httpx.get(body["response_url"], headers=KEY)
    assert first.status_code == 500 and first.json()["error_type"] == "internal_server_error"
    assert httpx.get(body["response_url"], headers=KEY).status_code == 200


def test_expired_result_is_a_404_naming_the_request(make_simulator):
    sim = make_simulator(faults="expire@result")
    body = submit(sim)
    wait_status_completed(body)
    expired = httpx.get(body["response_url"], headers=KEY)
    assert expired.status_code == 404
    assert body["request_id"] in expired.json()["detail"]


def test_lock_makes_every_key_locked(make_simulator):
    sim = make_simulator(faults="lock")
    response = httpx.post(f"{sim.url}/{T2V}", json={"prompt": "a cat"}, headers=KEY)
    assert (response.status_code, response.json()) == (403, {"detail": LOCKED})


def test_latency_delays_every_response(make_simulator):
    sim = make_simulator(faults="latency=200ms")
    started = time.monotonic()
    httpx.get(sim.url + "/")
    assert time.monotonic() - started >= 0.2


def test_drop_on_stream_closes_it_before_completed(make_simulator):
    sim = make_simulator(speed=20, faults="drop@stream")
    body = submit(sim)
    with httpx.stream("GET", body["status_url"] + "/stream", headers=KEY) as stream:
        lines = [line for line in stream.iter_lines() if line.startswith("data: ")]
    assert len(lines) == 1 and json.loads(lines[0].removeprefix("data: "))["status"] != "COMPLETED"
    assert wait_completed(sim, body)["video"]  # polling still reaches the result


def _file(sim, tmp_path, size: int = 200_000) -> tuple[str, bytes]:
    payload = bytes((i * 7) % 251 for i in range(size))
    (tmp_path / "v.mp4").write_bytes(payload)
    return sim.add_file(tmp_path / "v.mp4", "v.mp4"), payload


def test_drop_on_download_resets_mid_body_once_then_a_range_resume_completes(make_simulator, tmp_path):
    sim = make_simulator(faults="drop@download")
    url, payload = _file(sim, tmp_path)
    received = bytearray()
    with pytest.raises(httpx.TransportError), httpx.stream("GET", url) as response:
        assert response.headers["content-length"] == str(len(payload))
        for chunk in response.iter_bytes():
            received += chunk
    assert 0 < len(received) < len(payload)
    resumed = httpx.get(url, headers={"Range": f"bytes={len(received)}-"})
    assert resumed.status_code == 206
    assert bytes(received) + resumed.content == payload
    assert [r.range for r in sim.downloads_of("v.mp4")] == [None, f"bytes={len(received)}-"]


def test_truncate_on_download_announces_the_full_length_but_stops_short(make_simulator, tmp_path):
    sim = make_simulator(faults="truncate@download")
    url, payload = _file(sim, tmp_path)
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError), httpx.stream("GET", url) as response:
        assert response.headers["content-length"] == str(len(payload))
        for chunk in response.iter_bytes():
            received += chunk
    assert 0 < len(received) < len(payload) and payload.startswith(bytes(received))
    assert httpx.get(url).content == payload  # once per file


def test_slow_download_trickles(make_simulator, tmp_path):
    sim = make_simulator(faults="slow@download")
    url, payload = _file(sim, tmp_path)
    started = time.monotonic()
    response = httpx.get(url, headers={"Range": "bytes=0-49151"})  # three 16 KiB pieces
    assert response.content == payload[:49152]
    assert time.monotonic() - started >= 0.5


def test_the_config_seed_makes_two_simulators_fail_the_same_polls(make_simulator):
    def codes() -> list[int]:
        sim = make_simulator(speed=0.01, faults="429@status:0.5", seed=3)
        body = submit(sim)
        return [httpx.get(body["status_url"], headers=KEY).status_code for _ in range(12)]

    first = codes()
    assert first == codes() and 429 in first and 202 in first


def test_a_head_request_does_not_use_up_a_once_per_file_drop(make_simulator, tmp_path):
    sim = make_simulator(faults="drop@download")
    url, payload = _file(sim, tmp_path)
    assert httpx.head(url).headers["content-length"] == str(len(payload))
    with pytest.raises(httpx.TransportError):
        httpx.get(url)


def test_fail_on_run_completes_with_an_error_and_a_500_result(make_simulator):
    sim = make_simulator(faults="fail@run")
    body = submit(sim)
    wait_status_completed(body)
    status = httpx.get(body["status_url"], headers=KEY).json()
    assert status["error_type"] == "generation_failed" and status["error"]
    result = httpx.get(body["response_url"], headers=KEY)
    assert result.status_code == 500 and result.json()["error_type"] == "generation_failed"


def test_a_start_timeout_header_ends_a_job_that_waited_too_long(make_simulator):
    sim = make_simulator(speed=10)  # queued for 0.3 s; the timeout is 0.1 simulated s = 10 ms
    response = httpx.post(
        f"{sim.url}/{T2V}", json={"prompt": "a cat"}, headers={**KEY, "X-Fal-Request-Timeout": "0.1"}
    )
    body = response.json()
    wait_status_completed(body)
    assert httpx.get(body["status_url"], headers=KEY).json()["error_type"] == "request_timeout"
    result = httpx.get(body["response_url"], headers=KEY)
    assert result.status_code == 504 and result.headers["x-fal-request-timeout-type"] == "user"

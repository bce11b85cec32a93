"""The simulator speaks fal's queue protocol: submit, positions, logs, SSE, result, cancel, files, keys."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kling_studio.services.media import probe_video
from kling_studio.services.simulator import SimulatorServer
from kling_studio.services.simulator.server import (
    LOCKED,
    MALFORMED_KEY,
    MISSING_KEY,
    STILL_RUNNING,
    UNKNOWN_KEY,
)

T2V_4K = "fal-ai/kling-video/v3/4k/text-to-video"
I2V_PRO = "fal-ai/kling-video/v3/pro/image-to-video"
KEY = {"Authorization": "Key test-id:test-secret"}
THREE_SHOTS = {
    "multi_prompt": [
        {"prompt": "A lighthouse at dusk, waves on the rocks", "duration": "2"},
        {"prompt": "The lamp turns on", "duration": "3"},
        {"prompt": "Aerial pull-back over the bay", "duration": "2"},
    ],
    "duration": "7",
    "aspect_ratio": "16:9",
    "generate_audio": True,
}


def client(sim: SimulatorServer) -> httpx.Client:
    return httpx.Client(base_url=sim.url, headers=KEY, timeout=30)


def poll_until_done(http: httpx.Client, status_url: str, timeout: float = 30) -> list[tuple[int, dict]]:
    seen: list[tuple[int, dict]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = http.get(status_url, params={"logs": 1})
        seen.append((response.status_code, response.json()))
        if response.json()["status"] == "COMPLETED":
            return seen
        time.sleep(0.005)
    raise AssertionError(f"the job did not complete in {timeout} s; last status {seen[-1]}")


def test_a_three_shot_job_goes_queued_running_completed_and_downloads(make_simulator, tmp_path):
    sim = make_simulator(speed=20)
    with client(sim) as http:
        submitted = http.post(f"/{T2V_4K}", json=THREE_SHOTS)
        assert submitted.status_code == 200
        body = submitted.json()
        request_id = body["request_id"]
        assert submitted.headers["x-fal-request-id"] == request_id
        assert body["status"] == "IN_QUEUE" and body["queue_position"] >= 0
        base = f"{sim.url}/fal-ai/kling-video/requests/{request_id}"  # owner/app only, not the model path
        assert (body["response_url"], body["status_url"], body["cancel_url"]) == (
            base,
            f"{base}/status",
            f"{base}/cancel",
        )

        seen = poll_until_done(http, body["status_url"])
        queued = [b["queue_position"] for code, b in seen if b["status"] == "IN_QUEUE"]
        running_logs = [len(b["logs"]) for code, b in seen if b["status"] == "IN_PROGRESS"]
        assert queued and queued == sorted(queued, reverse=True), "queue positions only ever fall"
        assert running_logs and running_logs[-1] > 1 and running_logs == sorted(running_logs)
        assert all(code == 202 for code, b in seen[:-1]) and seen[-1][0] == 200
        final = seen[-1][1]
        assert final["metrics"]["inference_time"] > 0
        assert {"message", "level", "source", "timestamp"} <= set(final["logs"][0])
        assert "Generating shot 2/3" in " ".join(entry["message"] for entry in final["logs"])

        result = http.get(body["response_url"])
        assert result.status_code == 200
        video = result.json()["video"]
        assert video["content_type"] == "video/mp4" and video["file_name"] == "output.mp4"
        data = http.get(video["url"]).content
    assert len(data) == video["file_size"]
    path = tmp_path / "out.mp4"
    path.write_bytes(data)
    info = probe_video(path)
    assert abs(info.duration - 7) <= 0.1
    assert (info.width, info.height, info.has_audio) == (640, 360, True)


def test_extra_requests_wait_in_the_queue_behind_the_concurrency_limit(make_simulator):
    sim = make_simulator(speed=10, concurrency=2, queue_ahead=0, queue_seconds=0)
    prompt = {"prompt": "a slow pan over a field", "duration": "5", "generate_audio": False}
    with client(sim) as http:
        ids = [http.post(f"/{T2V_4K}", json=prompt).json()["request_id"] for _ in range(4)]
        time.sleep(0.1)
        states = [http.get(f"/fal-ai/kling-video/requests/{i}/status").json() for i in ids]
    assert [s["status"] for s in states] == ["IN_PROGRESS", "IN_PROGRESS", "IN_QUEUE", "IN_QUEUE"]
    assert [s["queue_position"] for s in states[2:]] == [0, 1]


def test_status_without_logs_carries_a_null_logs_key_the_official_client_reads(simulator):
    with client(simulator) as http:
        status_url = http.post(f"/{T2V_4K}", json={"prompt": "a cat"}).json()["status_url"]
        body = http.get(status_url).json()
    assert "logs" in body and body["logs"] is None


def test_the_sse_stream_sends_each_change_pings_and_closes_after_completed(make_simulator):
    sim = make_simulator(speed=4, queue_seconds=0.5, sse_ping_seconds=0.02)
    with client(sim) as http:
        body = http.post(f"/{T2V_4K}", json={"prompt": "a cat", "duration": "3"}).json()
        lines = []
        with http.stream("GET", body["status_url"] + "/stream", params={"logs": 1}) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = list(stream.iter_lines())  # returns only because the server closes the stream
    events = [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: ")]
    statuses = [e["status"] for e in events]
    assert statuses[0] == "IN_QUEUE" and statuses[-1] == "COMPLETED"
    assert "IN_PROGRESS" in statuses
    assert any(line.startswith(": ping") for line in lines)
    assert len(events[-1]["logs"]) >= len(next(e for e in events if e["status"] == "IN_PROGRESS")["logs"])


def test_result_before_completion_is_a_400_and_unknown_requests_are_404(make_simulator):
    sim = make_simulator(speed=1)
    with client(sim) as http:
        body = http.post(f"/{T2V_4K}", json={"prompt": "a cat"}).json()
        early = http.get(body["response_url"])
        missing = http.get("/fal-ai/kling-video/requests/00000000-0000-0000-0000-000000000000/status")
    assert early.status_code == 400 and early.json() == {"detail": STILL_RUNNING}
    assert missing.status_code == 404


def test_cancel_stops_a_queued_job_and_reports_finished_or_unknown_ones(make_simulator):
    sim = make_simulator(speed=1)
    with client(sim) as http:
        body = http.post(f"/{T2V_4K}", json={"prompt": "a cat"}).json()
        cancelled = http.put(body["cancel_url"])
        assert (cancelled.status_code, cancelled.json()) == (202, {"status": "CANCELLATION_REQUESTED"})
        final = poll_until_done(http, body["status_url"], timeout=5)[-1][1]
        assert final["error_type"] == "request_cancelled"
        assert http.get(body["response_url"]).status_code == 400
        again = http.put(body["cancel_url"])
        assert (again.status_code, again.json()) == (400, {"status": "ALREADY_COMPLETED"})
        unknown = http.put("/fal-ai/kling-video/requests/00000000-0000-0000-0000-000000000000/cancel")
        assert (unknown.status_code, unknown.json()) == (404, {"status": "NOT_FOUND"})


@pytest.mark.parametrize(
    ("model", "body", "loc"),
    [
        (
            T2V_4K,
            {"multi_prompt": [{"prompt": "a", "duration": "3"}, {"prompt": " ", "duration": "3"}]},
            ["body", "multi_prompt", 1, "prompt"],
        ),
        (T2V_4K, {"prompt": "a", "multi_prompt": [{"prompt": "b", "duration": "3"}]}, ["body"]),
        (T2V_4K, {}, ["body"]),
        (T2V_4K, {"prompt": "a", "duration": "16"}, ["body", "duration"]),
        (T2V_4K, {"prompt": "a", "duration": 5}, ["body", "duration"]),
        (T2V_4K, {"prompt": "a", "aspect_ratio": "4:3"}, ["body", "aspect_ratio"]),
        (T2V_4K, {"prompt": "a", "cfg_scale": 1.5}, ["body", "cfg_scale"]),
        (T2V_4K, {"prompt": "a", "shot_type": "auto"}, ["body", "shot_type"]),
        (T2V_4K, {"multi_prompt": [{"prompt": "a", "duration": "2"}] * 7}, ["body", "multi_prompt"]),
        (T2V_4K, {"multi_prompt": [{"prompt": "a", "duration": "8"}] * 2}, ["body", "multi_prompt"]),
        (
            T2V_4K,
            {"multi_prompt": [{"prompt": "a", "duration": "0"}]},
            ["body", "multi_prompt", 0, "duration"],
        ),
        (I2V_PRO, {"prompt": "a"}, ["body", "start_image_url"]),
        (
            I2V_PRO,
            {"prompt": "a", "start_image_url": "https://x/a.png", "aspect_ratio": "16:9"},
            ["body", "aspect_ratio"],
        ),
        (
            I2V_PRO,
            {
                "prompt": "a",
                "start_image_url": "https://x/a.png",
                "elements": [{"frontal_image_url": "https://x/f.png", "reference_image_urls": ["u"] * 4}],
            },
            ["body", "elements", 0, "reference_image_urls"],
        ),
    ],
)
def test_invalid_input_gets_fals_422_with_the_field_location(simulator, model, body, loc):
    with client(simulator) as http:
        response = http.post(f"/{model}", json=body)
    assert response.status_code == 422
    assert response.headers["x-fal-retryable"] == "false"
    detail = response.json()["detail"]
    assert loc in [entry["loc"] for entry in detail]
    assert all(entry["msg"] and entry["type"] for entry in detail)


def test_a_valid_image_to_video_request_with_elements_is_accepted(simulator):
    body = {
        "prompt": "@Element1 walks in",
        "start_image_url": "https://example.invalid/start.png",
        "elements": [{"frontal_image_url": "https://x/f.png", "reference_image_urls": ["https://x/r.png"]}],
    }
    with client(simulator) as http:
        assert http.post(f"/{I2V_PRO}", json=body).status_code == 200


@pytest.mark.parametrize(
    ("headers", "code", "detail"),
    [
        ({}, 401, MISSING_KEY),
        ({"Authorization": "Key no-colon"}, 401, MALFORMED_KEY),
        ({"Authorization": "Bearer a:b"}, 401, MALFORMED_KEY),
        ({"Authorization": "Key unknown:secret"}, 401, UNKNOWN_KEY),
        ({"Authorization": "Key locked:secret"}, 403, LOCKED),
    ],
)
def test_bad_and_locked_keys_get_fals_messages(simulator, headers, code, detail):
    with httpx.Client(base_url=simulator.url) as http:
        response = http.post(f"/{T2V_4K}", json={"prompt": "a cat"}, headers=headers)
    assert (response.status_code, response.json()) == (code, {"detail": detail})
    assert simulator.submits_for(T2V_4K) == 1  # logged, but nothing queued:
    assert simulator.jobs is not None and not simulator.jobs.request_ids()


def test_status_needs_a_key_too(simulator):
    with client(simulator) as http:
        status_url = http.post(f"/{T2V_4K}", json={"prompt": "a cat"}).json()["status_url"]
    assert httpx.get(status_url).status_code == 401


def test_files_support_ranges(simulator, tmp_path):
    source = tmp_path / "clip.bin"
    payload = bytes(range(256)) * 40  # 10240 bytes
    source.write_bytes(payload)
    url = simulator.add_file(source, "clip.mp4")
    whole = httpx.get(url)
    assert whole.status_code == 200 and whole.content == payload
    assert whole.headers["accept-ranges"] == "bytes" and whole.headers["content-type"] == "video/mp4"
    middle = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert middle.status_code == 206 and middle.content == payload[100:200]
    assert middle.headers["content-range"] == f"bytes 100-199/{len(payload)}"
    tail = httpx.get(url, headers={"Range": "bytes=10000-"})
    assert tail.status_code == 206 and tail.content == payload[10000:]
    suffix = httpx.get(url, headers={"Range": "bytes=-16"})
    assert suffix.content == payload[-16:]
    beyond = httpx.get(url, headers={"Range": f"bytes={len(payload)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(payload)}"
    head = httpx.head(url)
    assert head.headers["content-length"] == str(len(payload)) and head.content == b""
    stale = httpx.get(url, headers={"Range": "bytes=100-199", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == payload
    assert simulator.downloads_of("clip.mp4")[1].range == "bytes=100-199"


def test_blob_files_are_deterministic_and_sized(simulator):
    url = simulator.blob_url(3_000_000)
    first = httpx.get(url)
    part = httpx.get(url, headers={"Range": "bytes=2999990-"})
    assert len(first.content) == 3_000_000 and part.content == first.content[-10:]
    assert httpx.get(url).content == first.content


def test_storage_upload_gives_a_url_that_serves_the_bytes(simulator):
    with client(simulator) as http:
        token = http.post("/storage/auth/token", params={"storage_type": "fal-cdn-v3"}, json={}).json()
        assert token["token_type"] == "Bearer" and token["base_url"] == f"{simulator.url}/storage"
        upload = httpx.post(
            f"{token['base_url']}/files/upload",
            content=b"\x89PNG fake",
            headers={
                "Authorization": f"Bearer {token['token']}",
                "Content-Type": "image/png",
                "X-Fal-File-Name": "start.png",
            },
        )
        rejected = httpx.post(
            f"{token['base_url']}/files/upload", content=b"x", headers={"Authorization": "Bearer no"}
        )
    assert upload.status_code == 200 and rejected.status_code == 401
    access_url = upload.json()["access_url"]
    assert access_url.startswith(f"{simulator.url}/files/uploads/") and access_url.endswith(".png")
    assert httpx.get(access_url).content == b"\x89PNG fake"


def test_the_request_log_records_what_each_request_carried(simulator):
    with client(simulator) as http:
        body = http.post(f"/{T2V_4K}", json={"prompt": "a cat"}).json()
        http.get(body["status_url"], params={"logs": 1})
    submit, status = simulator.requests_for(body["request_id"])
    assert (submit.method, submit.model_id, submit.status) == ("POST", T2V_4K, 200)
    assert submit.body_length > 0 and submit.headers["Authorization"] == KEY["Authorization"]
    assert (status.method, status.status, status.path.endswith("?logs=1")) == ("GET", 202, True)
    assert simulator.submits_for(T2V_4K) == 1 and simulator.submits_for(I2V_PRO) == 0


def test_the_simulate_command_prints_the_url_serves_and_exits_0_on_ctrl_c(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "kling_studio", "simulate", "--speed", "50", "--work-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        first = process.stdout.readline()
        url = first.split(" on ", 1)[1].split(" ", 1)[0]
        rest = [process.stdout.readline() for _ in range(4)]
        assert f"export KLING_STUDIO_QUEUE_URL={url}\n" in [line.strip() + "\n" for line in rest]
        response = httpx.post(f"{url}/{T2V_4K}", json={"prompt": "a cat"}, headers=KEY)
        assert response.status_code == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert Path(tmp_path).is_dir()


def test_twenty_concurrent_submits_are_all_accepted(simulator):
    from concurrent.futures import ThreadPoolExecutor

    def post(_: int) -> int:
        return httpx.post(
            f"{simulator.url}/{T2V_4K}", json={"prompt": "a cat"}, headers=KEY, timeout=10
        ).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(post, range(20)))
    assert codes == [200] * 20 and len(simulator.jobs.request_ids()) == 20
    assert time.monotonic() - started < 5


def test_stop_returns_promptly_with_a_stream_still_open(make_simulator):
    import threading

    sim = make_simulator(speed=0.01)  # the job stays queued for ages
    body = httpx.post(f"{sim.url}/{T2V_4K}", json={"prompt": "a cat"}, headers=KEY).json()
    opened = threading.Event()

    def follow() -> None:
        try:
            with httpx.stream("GET", body["status_url"] + "/stream", headers=KEY, timeout=30) as stream:
                opened.set()
                for _ in stream.iter_lines():
                    pass
        except httpx.HTTPError:
            pass

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    assert opened.wait(5)
    started = time.monotonic()
    sim.stop()
    reader.join(5)
    assert time.monotonic() - started < 3 and not reader.is_alive()

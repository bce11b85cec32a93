"""fal's official client (``fal_client``) works against the simulator: the proof it speaks fal's protocol.

The client is pointed at the simulator the supported way, by setting ``fal_client.client.QUEUE_URL_FORMAT``
(and ``REST_URL``/``CDN_URL`` for uploads); the key comes from ``FAL_KEY`` like for any fal user.
"""

from __future__ import annotations

import asyncio

import fal_client
import fal_client.client as fal_module
import httpx
import pytest

T2V_4K = "fal-ai/kling-video/v3/4k/text-to-video"
I2V_4K = "fal-ai/kling-video/v3/4k/image-to-video"
THREE_SHOTS = {
    "multi_prompt": [
        {"prompt": "A fox runs through snow", "duration": "2"},
        {"prompt": "It stops and looks back", "duration": "2"},
        {"prompt": "Wide shot of the forest", "duration": "1"},
    ],
    "duration": "5",
    "generate_audio": False,
}


@pytest.fixture
def fal(monkeypatch, make_simulator):
    """A fal_client.SyncClient talking to a fresh simulator; returns (client, simulator)."""
    sim = make_simulator(speed=20)
    monkeypatch.setattr(fal_module, "QUEUE_URL_FORMAT", f"{sim.url}/")
    monkeypatch.setattr(fal_module, "REST_URL", sim.url)
    monkeypatch.setattr(fal_module, "CDN_URL", f"{sim.url}/storage")
    monkeypatch.setenv("FAL_KEY", "conformance-id:conformance-secret")
    return fal_client.SyncClient(), sim


def test_submit_follow_with_logs_and_fetch_the_result(fal):
    client, sim = fal
    handle = client.submit(T2V_4K, THREE_SHOTS)
    events = list(handle.iter_events(with_logs=True, interval=0.01))
    kinds = [type(e) for e in events]
    assert kinds[0] is fal_client.Queued and kinds[-1] is fal_client.Completed
    assert fal_client.InProgress in kinds
    positions = [e.position for e in events if isinstance(e, fal_client.Queued)]
    assert positions == sorted(positions, reverse=True)
    assert any(e.logs for e in events if isinstance(e, fal_client.InProgress))
    completed = events[-1]
    assert completed.metrics["inference_time"] > 0 and completed.error is None

    result = handle.get()
    video = result["video"]
    assert video["content_type"] == "video/mp4"
    assert len(httpx.get(video["url"]).content) == video["file_size"]
    submit = sim.requests_for(handle.request_id)[0]
    assert submit.headers["Authorization"] == "Key conformance-id:conformance-secret"
    assert submit.headers["User-Agent"].startswith("fal-client/")


def test_subscribe_and_the_request_id_helpers(fal):
    client, _ = fal
    updates = []
    result = client.subscribe(
        T2V_4K, {"prompt": "a lighthouse", "duration": "3"}, with_logs=True, on_queue_update=updates.append
    )
    assert result["video"]["file_size"] > 0 and updates
    request_id = client.submit(T2V_4K, {"prompt": "again", "duration": "3"}).request_id
    # Helpers that rebuild the URLs from QUEUE_URL_FORMAT + owner/app, as after a restart:
    assert isinstance(client.status(T2V_4K, request_id), fal_client.Queued | fal_client.InProgress)
    assert client.get_handle(T2V_4K, request_id).get(interval=0.01)["video"]["url"]
    assert client.result(T2V_4K, request_id)["video"]


def test_the_async_client_too(fal):

    async def run() -> dict:
        client = fal_client.AsyncClient()
        handle = await client.submit(T2V_4K, {"prompt": "a cat", "duration": "3"})
        seen = [event async for event in handle.iter_events(with_logs=True, interval=0.01)]
        assert isinstance(seen[-1], fal_client.Completed)
        return await handle.get()

    assert asyncio.run(run())["video"]["file_size"] > 0


def test_validation_errors_reach_the_client_as_422_with_locations(fal):
    client, _ = fal
    with pytest.raises(fal_client.client.FalClientHTTPError) as caught:
        client.submit(T2V_4K, {"multi_prompt": [{"prompt": "", "duration": "3"}]})
    assert caught.value.status_code == 422
    assert caught.value.message[0]["loc"] == ["body", "multi_prompt", 0, "prompt"]


def test_a_locked_account_is_a_403_the_client_does_not_retry(fal, monkeypatch):
    _, sim = fal
    monkeypatch.setenv("FAL_KEY", "locked:secret")
    with pytest.raises(fal_client.client.FalClientHTTPError) as caught:
        fal_client.SyncClient().submit(T2V_4K, {"prompt": "a cat"})
    assert caught.value.status_code == 403 and "Exhausted balance" in caught.value.message
    assert sim.submits_for(T2V_4K) == 1


def test_the_client_retries_through_injected_429s(monkeypatch, make_simulator):
    sim = make_simulator(speed=20, faults="429@status*2")
    monkeypatch.setattr(fal_module, "QUEUE_URL_FORMAT", f"{sim.url}/")
    monkeypatch.setenv("FAL_KEY", "conformance-id:conformance-secret")
    result = fal_client.SyncClient().subscribe(T2V_4K, {"prompt": "a cat", "duration": "3"}, interval=0.01)
    assert result["video"]["file_size"] > 0
    assert [r.status for r in sim.request_log() if r.fault] == [429, 429]


def test_cancel_through_the_client(fal):
    client, _ = fal
    slow = client.submit(T2V_4K, {"prompt": "a cat", "duration": "15"})
    slow.cancel()
    final = list(slow.iter_events(interval=0.01))[-1]
    assert isinstance(final, fal_client.Completed) and final.error_type == "request_cancelled"


def test_upload_file_and_use_it_as_the_start_image(fal, tmp_path):
    client, sim = fal
    image = tmp_path / "start.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    url = client.upload_file(image)
    assert url.startswith(f"{sim.url}/files/uploads/")
    result = client.subscribe(I2V_4K, {"prompt": "it moves", "duration": "3", "start_image_url": url})
    assert result["video"]["file_size"] > 0
    paths = [r.path.split("?")[0] for r in sim.request_log()]
    assert "/storage/auth/token" in paths and "/storage/files/upload" in paths

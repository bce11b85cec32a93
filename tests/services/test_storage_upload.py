"""fal's storage protocol against the simulator: token then upload, each image once, failures typed."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from image_helpers import good_image

from kling_studio.core.references import ProjectReferences
from kling_studio.services.reference_library import ReferenceLibrary, ReferenceMissingError
from kling_studio.services.storage_upload import (
    DEFAULT_STORAGE_URL,
    ReferenceUploader,
    StorageAuthError,
    StorageClient,
    StorageNetworkError,
    StorageRefusedError,
    UploadProgress,
    prepare_references,
    storage_url_from_env,
)

KEY = "testid:test-secret-0000"


def storage_requests(sim, kind: str) -> list:
    return [r for r in sim.request_log() if urlsplit(r.path).path == f"/storage/{kind}"]


@pytest.fixture
def library(tmp_path: Path):
    lib = ReferenceLibrary(tmp_path / "references")
    yield lib
    lib.close()


async def upload_with(storage_url: str, key: str, data: bytes, **kwargs) -> str:
    async with httpx.AsyncClient(timeout=10) as http:
        client = StorageClient(http, key=key, storage_url=storage_url)
        return await client.upload(data, file_name="hero.jpg", content_type="image/jpeg", **kwargs)


def test_the_storage_host_comes_from_the_environment(monkeypatch):
    assert storage_url_from_env() == DEFAULT_STORAGE_URL == "https://rest.fal.ai"
    monkeypatch.setenv("KLING_STUDIO_STORAGE_URL", "http://127.0.0.1:9999/")
    assert storage_url_from_env() == "http://127.0.0.1:9999"


def test_token_then_upload_with_the_key_only_on_the_token_request(simulator):
    data = good_image()
    seen: list[tuple[int, int]] = []
    url = asyncio.run(upload_with(simulator.url, KEY, data, on_progress=lambda s, t: seen.append((s, t))))
    assert httpx.get(url).content == data
    (token,) = storage_requests(simulator, "auth/token")
    (upload,) = storage_requests(simulator, "files/upload")
    assert token.headers["Authorization"] == f"Key {KEY}"
    assert "storage_type=fal-cdn-v3" in token.path
    assert upload.headers["Authorization"].startswith("Bearer ")
    assert KEY not in str(upload.headers)
    assert upload.headers["X-Fal-File-Name"] == "hero.jpg"
    assert upload.headers["Content-Type"] == "image/jpeg"
    assert upload.body_length == len(data)
    assert seen[-1] == (len(data), len(data))
    assert [s for s, _ in seen] == sorted(s for s, _ in seen)


def test_a_refused_key_is_an_auth_error_and_nothing_is_uploaded(simulator):
    with pytest.raises(StorageAuthError, match="key") as refused:
        asyncio.run(upload_with(simulator.url, "locked:secret", good_image()))
    assert refused.value.status == 403
    assert "nothing was charged" in str(refused.value)
    assert storage_requests(simulator, "files/upload") == []


def test_a_server_error_is_retried_then_reported(make_simulator):
    sim = make_simulator(faults="500@upload*2")
    url = asyncio.run(upload_with(sim.url, KEY, good_image()))  # two failures, third try works
    assert url.startswith(sim.url)
    broken = make_simulator(faults="503@upload")
    with pytest.raises(StorageRefusedError, match="HTTP 503") as failed:
        asyncio.run(upload_with(broken.url, KEY, good_image()))
    assert failed.value.status == 503
    assert len(storage_requests(broken, "auth/token")) == 3


def test_no_answer_is_a_network_error_naming_the_host():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StorageNetworkError, match=r"127\.0\.0\.1") as failed:
        asyncio.run(upload_with(f"http://127.0.0.1:{port}", KEY, b"x"))
    assert "not submitted" in str(failed.value)


def test_an_image_is_uploaded_once_and_again_when_the_cached_url_is_old(simulator, library):
    sha = library.import_bytes(good_image(), name="hero").item.sha256
    now = [datetime(2026, 11, 1, tzinfo=UTC)]

    async def run() -> list[str]:
        async with httpx.AsyncClient(timeout=10) as http:
            uploader = ReferenceUploader(
                library, StorageClient(http, key=KEY, storage_url=simulator.url), clock=lambda: now[0]
            )
            first = await uploader.url_for(sha)
            now[0] += timedelta(days=5)
            second = await uploader.url_for(sha)
            now[0] += timedelta(days=2)  # 7 days after the upload: older than the 6-day default
            third = await uploader.url_for(sha)
            return [first, second, third]

    first, second, third = asyncio.run(run())
    assert first == second
    assert third.startswith(simulator.url)
    assert len(storage_requests(simulator, "files/upload")) == 2


def test_concurrent_requests_for_one_image_share_one_upload(simulator, library):
    sha = library.import_bytes(good_image(), name="hero").item.sha256

    async def run() -> set[str]:
        async with httpx.AsyncClient(timeout=10) as http:
            uploader = ReferenceUploader(library, StorageClient(http, key=KEY, storage_url=simulator.url))
            return set(await asyncio.gather(*(uploader.url_for(sha) for _ in range(5))))

    assert len(asyncio.run(run())) == 1
    assert len(storage_requests(simulator, "files/upload")) == 1


def test_prepare_references_uploads_each_distinct_image_once_with_progress(simulator, library):
    a, b, c = (library.import_bytes(good_image(seed=i), name=n).item for i, n in enumerate("abc"))
    refs = ProjectReferences()
    refs.set_start_frame(a.reference)
    refs.add_element("Hero", b.reference, (c.reference, a.reference))
    events: list[UploadProgress] = []

    async def run() -> dict[str, str]:
        async with httpx.AsyncClient(timeout=10) as http:
            uploader = ReferenceUploader(library, StorageClient(http, key=KEY, storage_url=simulator.url))
            return await prepare_references(refs, uploader, events.append)

    urls = asyncio.run(run())
    assert set(urls) == {a.sha256, b.sha256, c.sha256}
    assert len(storage_requests(simulator, "files/upload")) == 3
    assert events[-1].fraction == pytest.approx(1.0)
    assert {e.name for e in events} == {"a", "b", "c"}


def test_a_missing_image_stops_before_any_upload(simulator, library):
    gone = library.import_bytes(good_image(), name="gone").item
    library.remove(gone.sha256)
    refs = ProjectReferences()
    refs.set_start_frame(gone.reference)

    async def run() -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            uploader = ReferenceUploader(library, StorageClient(http, key=KEY, storage_url=simulator.url))
            await prepare_references(refs, uploader)

    with pytest.raises(ReferenceMissingError, match="gone"):
        asyncio.run(run())
    assert storage_requests(simulator, "files/upload") == []

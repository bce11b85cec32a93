"""Downloading a finished video: resume, restarts, drops, wrong sizes, a full disk, over loopback HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from kling_studio.services.downloads import (
    DiskFullError,
    DownloadGoneError,
    DownloadNetworkError,
    DownloadSizeError,
    download,
)
from kling_studio.services.retry import RetryPolicy

FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05, max_elapsed=10)


def blob_bytes(size: int) -> bytes:
    """The simulator's deterministic blob of ``size`` bytes (``/files/_blob/{size}``)."""
    pattern = hashlib.sha256(str(size).encode()).digest() * ((1 << 20) // 32)
    return (pattern * (size // len(pattern) + 1))[:size]


def fetch(
    url: str, dest: Path, *, expected_size: int | None, progress: list | None = None, **kw: Any
) -> Path:
    async def main() -> Path:
        async with httpx.AsyncClient(timeout=10) as http:
            on_progress = (
                (lambda done, total: progress.append((done, total))) if progress is not None else None
            )
            return await download(
                http, url, dest, expected_size=expected_size, on_progress=on_progress, retry=FAST, **kw
            )

    return asyncio.run(main())


class FileServer:
    """A stdlib server for behaviours the simulator does not have: ignoring Range, lying about sizes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.ignore_range = False
        self.announce_length = True
        self.cut_next_at: int | None = None
        self.ranges: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                header = self.headers.get("Range")
                server.ranges.append(header)
                body, status = server.data, 200
                if header and not server.ignore_range:
                    start = int(header.removeprefix("bytes=").rstrip("-"))
                    body, status = server.data[start:], 206
                cut, server.cut_next_at = server.cut_next_at, None
                self.send_response(status)
                if status == 206:
                    self.send_header(
                        "Content-Range", f"bytes {start}-{len(server.data) - 1}/{len(server.data)}"
                    )
                if cut is not None:
                    body = body[:cut]
                if server.announce_length and cut is None:
                    self.send_header("Content-Length", str(len(body)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/video.mp4"
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    server = FileServer(os.urandom(300_000))
    yield server
    server.close()


def test_a_video_downloads_to_its_final_name_with_progress(simulator, tmp_path):
    size = 3_000_000
    progress: list[tuple[int, int | None]] = []
    dest = tmp_path / "outputs" / "job-1.mp4"

    assert fetch(simulator.blob_url(size), dest, expected_size=size, progress=progress) == dest

    assert dest.read_bytes() == blob_bytes(size)
    assert not dest.with_suffix(".mp4.part").exists()
    dones = [done for done, _ in progress]
    assert dones == sorted(dones) and dones[-1] == size and {t for _, t in progress} == {size}


def test_a_partial_file_is_resumed_with_a_range_request(simulator, tmp_path):
    size = 2_000_000
    dest = tmp_path / "job.mp4"
    dest.with_suffix(".mp4.part").write_bytes(blob_bytes(size)[:700_000])

    fetch(simulator.blob_url(size), dest, expected_size=size)

    assert dest.read_bytes() == blob_bytes(size)
    gets = simulator.downloads_of(f"_blob/{size}")
    assert [g.range for g in gets] == ["bytes=700000-"] and gets[0].status == 206


def test_a_connection_dropped_mid_body_resumes_where_it_stopped(make_simulator, tmp_path):
    sim = make_simulator(faults="drop@download")
    size = 4_000_000
    dest = tmp_path / "job.mp4"

    fetch(sim.blob_url(size), dest, expected_size=size)

    assert dest.read_bytes() == blob_bytes(size)
    gets = sim.downloads_of(f"_blob/{size}")
    assert len(gets) == 2 and gets[0].fault == "drop@download"
    assert gets[1].range is not None and gets[1].range.startswith("bytes=")


def test_a_truncated_body_is_noticed_and_the_rest_fetched(make_simulator, tmp_path):
    sim = make_simulator(faults="truncate@download")
    size = 1_000_000
    dest = tmp_path / "job.mp4"

    fetch(sim.blob_url(size), dest, expected_size=size)

    assert dest.read_bytes() == blob_bytes(size)
    gets = sim.downloads_of(f"_blob/{size}")
    assert [g.range for g in gets] == [None, "bytes=900000-"]


def test_a_server_that_ignores_the_range_is_followed_from_the_start(file_server, tmp_path):
    file_server.ignore_range = True
    dest = tmp_path / "job.mp4"
    dest.with_suffix(".mp4.part").write_bytes(b"x" * 1000)  # garbage: must not stay in front

    fetch(file_server.url, dest, expected_size=len(file_server.data))

    assert dest.read_bytes() == file_server.data
    assert file_server.ranges == ["bytes=1000-"]


def test_a_file_smaller_than_fal_announced_is_refused_and_nothing_kept(file_server, tmp_path):
    dest = tmp_path / "job.mp4"
    with pytest.raises(DownloadSizeError) as caught:
        fetch(file_server.url, dest, expected_size=len(file_server.data) + 5000)
    assert caught.value.received == len(file_server.data)
    assert "fal announced" in str(caught.value) and "job.mp4" in str(caught.value)
    assert not dest.exists() and not dest.with_suffix(".mp4.part").exists()


def test_a_body_longer_than_announced_is_refused(file_server, tmp_path):
    file_server.announce_length = False  # close-delimited: only our size check can catch it
    dest = tmp_path / "job.mp4"
    with pytest.raises(DownloadSizeError, match="more than"):
        fetch(file_server.url, dest, expected_size=len(file_server.data) - 100)
    assert not dest.exists()


def test_a_close_delimited_body_that_stops_short_is_resumed(file_server, tmp_path):
    file_server.cut_next_at = 100_000  # no Content-Length, the connection closes after 100 kB
    dest = tmp_path / "job.mp4"

    fetch(file_server.url, dest, expected_size=len(file_server.data))

    assert dest.read_bytes() == file_server.data
    assert file_server.ranges == [None, "bytes=100000-"]


def test_a_link_that_expired_says_so(simulator, tmp_path):
    with pytest.raises(DownloadGoneError, match="no longer at its address") as caught:
        fetch(f"{simulator.url}/files/nothing-here.mp4", tmp_path / "job.mp4", expected_size=10)
    assert caught.value.status == 404


def test_a_full_disk_names_the_folder_and_keeps_the_partial_file(simulator, tmp_path):
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full to make the disk 'full'")
    out = tmp_path / "outputs"
    out.mkdir()
    dest = out / "job.mp4"
    part = dest.with_suffix(".mp4.part")
    part.symlink_to("/dev/full")  # every write fails with ENOSPC, like a full disk

    with pytest.raises(DiskFullError) as caught:
        fetch(simulator.blob_url(2_000_000), dest, expected_size=2_000_000)

    assert caught.value.folder == out
    assert str(out) in str(caught.value) and "full" in str(caught.value)
    assert "resumes where it stopped" in str(caught.value)
    assert part.is_symlink() and not dest.exists()


def test_an_unreachable_server_ends_with_a_network_error_after_retries(tmp_path):
    with pytest.raises(DownloadNetworkError, match="kept failing") as caught:
        fetch("http://127.0.0.1:9/video.mp4", tmp_path / "job.mp4", expected_size=10)
    assert caught.value.bytes_done == 0


def test_a_finished_file_is_not_downloaded_again(simulator, tmp_path):
    size = 50_000
    dest = tmp_path / "job.mp4"
    dest.write_bytes(blob_bytes(size))
    fetch(simulator.blob_url(size), dest, expected_size=size)
    assert simulator.downloads_of(f"_blob/{size}") == []


def test_a_complete_part_left_before_the_rename_is_finished_without_a_request(simulator, tmp_path):
    size = 50_000
    dest = tmp_path / "job.mp4"
    dest.with_suffix(".mp4.part").write_bytes(blob_bytes(size))
    fetch(simulator.blob_url(size), dest, expected_size=size)
    assert dest.read_bytes() == blob_bytes(size)
    assert simulator.downloads_of(f"_blob/{size}") == []


def test_a_broken_progress_listener_does_not_stop_the_download(simulator, tmp_path):
    def broken(done: int, total: int | None) -> None:
        raise RuntimeError("listener bug")

    async def main() -> Path:
        async with httpx.AsyncClient() as http:
            return await download(
                http, simulator.blob_url(10_000), tmp_path / "a.mp4", expected_size=10_000, on_progress=broken
            )

    assert asyncio.run(main()).stat().st_size == 10_000

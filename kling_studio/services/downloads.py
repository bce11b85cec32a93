"""Download a finished video to disk: resumable, size-checked, crash-safe, and light on the event loop.

Bytes go to ``<dest>.part`` first. A ``.part`` left by an earlier try (or an earlier run of the app) is
resumed with ``Range: bytes=N-``; a server that ignores the range (answers 200) is followed from the start.
Dropped connections resume the same way, with backoff. The finished file is checked against the size fal
announced, fsynced, renamed into place atomically and its folder fsynced, so ``dest`` either does not exist
or is complete, even after a power cut.

Speed: the body is read in the pieces the connection delivers and written in ~1 MiB batches on a worker
thread, one batch in flight while the next is read, so memory stays flat in the file size and the event
loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from kling_studio.services.retry import RetryPolicy, retry_after_seconds

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int | None], None]

BATCH_BYTES = 1 << 20
#: On a slow link, bytes held in memory longer than this are written anyway, so a crash loses little.
FLUSH_SECONDS = 0.5
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_UNSATISFIED_RANGE = re.compile(r"^\s*bytes\s+\*/(\d+)\s*$", re.IGNORECASE)
# EFBIG: a file-size limit (ulimit -f, a FAT32 drive's 4 GB) is, to the user, no room for this file either.
_DISK_FULL = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}
_MAX_RESTARTS = 3
_IOV_MAX = 512
_WRITEBACK_STEP = 8 << 20
_FADVISE = getattr(os, "posix_fadvise", None)  # Linux and most Unixes; not macOS or Windows


class DownloadError(Exception):
    """A download failed; the message says what happened and what to do.

    Attributes:
        url: The address downloaded from.
        dest: The file it was going to.
    """

    def __init__(self, message: str, *, url: str, dest: Path) -> None:
        super().__init__(message)
        self.message = message
        self.url = url
        self.dest = dest


class DownloadSizeError(DownloadError):
    """The server sent a different number of bytes than fal announced; the partial file is discarded.

    Attributes:
        expected: The size fal announced.
        received: The size the server delivered (or announced, if it announced a different one).
    """

    def __init__(self, message: str, *, expected: int, received: int, url: str, dest: Path) -> None:
        super().__init__(message, url=url, dest=dest)
        self.expected = expected
        self.received = received


class DownloadGoneError(DownloadError):
    """The file is no longer at its address (404/410): fal's file links expire."""

    def __init__(self, message: str, *, status: int, url: str, dest: Path) -> None:
        super().__init__(message, url=url, dest=dest)
        self.status = status


class DownloadHTTPError(DownloadError):
    """The server answered with a status a download cannot use."""

    def __init__(self, message: str, *, status: int, url: str, dest: Path) -> None:
        super().__init__(message, url=url, dest=dest)
        self.status = status


class DownloadNetworkError(DownloadError):
    """The connection kept failing until the retries ran out; the ``.part`` file is kept for a resume.

    Attributes:
        bytes_done: Bytes safely in the ``.part`` file.
    """

    def __init__(self, message: str, *, bytes_done: int, url: str, dest: Path) -> None:
        super().__init__(message, url=url, dest=dest)
        self.bytes_done = bytes_done


class DiskFullError(DownloadError):
    """The disk (or quota) holding the download folder is full; the ``.part`` file is kept.

    Attributes:
        folder: The folder that is full.
    """

    def __init__(self, message: str, *, folder: Path, url: str, dest: Path) -> None:
        super().__init__(message, url=url, dest=dest)
        self.folder = folder


class DownloadWriteError(DownloadError):
    """The download folder cannot be written (permissions, a missing drive...).

    Attributes:
        folder: The folder that cannot be written.
    """

    def __init__(self, message: str, *, folder: Path, url: str, dest: Path) -> None:
        super().__init__(message, url=url, dest=dest)
        self.folder = folder


class _TryAgain(Exception):
    """This try failed in a way another try may fix (a dropped connection, a 503)."""

    def __init__(self, reason: str, *, retry_after: float | None = None, progressed: bool = False) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.progressed = progressed


class _Restart(Exception):
    """The ``.part`` file cannot be resumed from; start again from byte 0 at once."""


async def download(
    http: httpx.AsyncClient,
    url: str,
    dest: Path,
    *,
    expected_size: int | None,
    on_progress: ProgressCallback | None = None,
    retry: RetryPolicy | None = None,
    batch_bytes: int = BATCH_BYTES,
) -> Path:
    """Download ``url`` to ``dest`` (resuming ``dest.part`` if there is one) and return ``dest``.

    Args:
        http: The shared client (no fal key is sent: file links are public).
        url: The file's address, e.g. the ``video.url`` of a fal result.
        dest: The final path; its folder is created if needed.
        expected_size: The size fal announced (``video.file_size``), checked at the end; None skips the check.
        on_progress: Called with ``(bytes_done, total_or_None)`` after every batch, on the event loop.
        retry: Backoff for dropped connections and 429/5xx answers; the count restarts whenever a try
            brought new bytes.
        batch_bytes: Bytes gathered before each disk write.

    Raises:
        DownloadError: A typed subclass; :class:`DiskFullError` and :class:`DownloadNetworkError` keep the
            ``.part`` file so a later call resumes it.
    """
    dest = Path(dest)
    part = dest.with_suffix(dest.suffix + ".part")
    job = _Download(http, url, dest, part, expected_size, on_progress, retry or RetryPolicy(), batch_bytes)
    try:
        return await job.run()
    except OSError as exc:
        raise _disk_error(exc, url, dest) from exc


class _Download:
    """The state of one :func:`download` call."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        url: str,
        dest: Path,
        part: Path,
        expected_size: int | None,
        on_progress: ProgressCallback | None,
        retry: RetryPolicy,
        batch_bytes: int,
    ) -> None:
        self.http = http
        self.url = url
        self.dest = dest
        self.part = part
        self.expected = expected_size
        self.on_progress = on_progress
        self.retry = retry
        self.batch_bytes = max(64 * 1024, batch_bytes)
        self.total: int | None = expected_size
        self._progress_failed = False

    async def run(self) -> Path:
        await asyncio.to_thread(self.dest.parent.mkdir, parents=True, exist_ok=True)
        if self.expected is not None and not await asyncio.to_thread(self.part.exists):
            size = await asyncio.to_thread(_size_or_none, self.dest)
            if size == self.expected:
                return self.dest  # an earlier run finished it
        budget = self.retry.start()
        restarts = 0
        while True:
            try:
                await self._attempt()
                break
            except _Restart as exc:
                restarts += 1
                log.info("download of %s restarts from byte 0: %s", self.dest.name, exc)
                await asyncio.to_thread(_truncate, self.part)
                if restarts > _MAX_RESTARTS:
                    raise DownloadHTTPError(
                        f"The server for {self.dest.name} kept answering resumed downloads wrongly ({exc}). "
                        "Try the download again later.",
                        status=0,
                        url=self.url,
                        dest=self.dest,
                    ) from exc
            except _TryAgain as exc:
                if exc.progressed:
                    budget.made_progress()
                delay = budget.next_delay(exc.retry_after)
                done = await asyncio.to_thread(_size_or_none, self.part) or 0
                if delay is None:
                    raise DownloadNetworkError(
                        f"The download of {self.dest.name} kept failing ({exc}); {_mib(done)} of it is saved "
                        f"in {self.part.parent} and the download resumes from there next time. Check the "
                        "internet connection and try again.",
                        bytes_done=done,
                        url=self.url,
                        dest=self.dest,
                    ) from exc
                log.info("download of %s interrupted (%s); resuming in %.2f s", self.dest.name, exc, delay)
                await asyncio.sleep(delay)
        await asyncio.to_thread(_commit, self.part, self.dest)
        return self.dest

    async def _attempt(self) -> None:
        """One GET: resume or start, stream to ``.part`` and fsync it, or raise why not."""
        offset = await asyncio.to_thread(_size_or_none, self.part) or 0
        if self.expected is not None and offset > self.expected:
            raise _Restart(f"the partial file is larger ({offset} bytes) than the video ({self.expected})")
        if self.expected is not None and offset == self.expected and offset > 0:
            return  # complete already; an earlier run stopped before the rename
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        try:
            async with self.http.stream("GET", self.url, headers=headers) as response:
                append = self._check_answer(response, offset)
                await self._receive(response, offset if append else 0, append)
        except _Complete:
            return
        except httpx.TransportError as exc:
            now = await asyncio.to_thread(_size_or_none, self.part) or 0
            raise _TryAgain(_describe(exc), progressed=now > offset) from exc

    def _check_answer(self, response: httpx.Response, offset: int) -> bool:
        """Whether to append to the ``.part`` (True) or overwrite it; raises for unusable answers."""
        status = response.status_code
        if status == 416 and offset:
            match = _UNSATISFIED_RANGE.match(response.headers.get("content-range", ""))
            size = int(match[1]) if match else None
            if size is not None and size == offset:
                self._size_check(size)
                raise _Complete()
            raise _Restart(f"the server has {size if size is not None else 'an unknown number of'} bytes")
        if status in (404, 410):
            raise DownloadGoneError(
                f"The video file for {self.dest.name} is no longer at its address (HTTP {status}); "
                "fal's file links expire. If the job finished recently, fetch its result again for a "
                "fresh link.",
                status=status,
                url=self.url,
                dest=self.dest,
            )
        if status in self.retry.statuses or status >= 500:
            raise _TryAgain(f"HTTP {status}", retry_after=retry_after_seconds(response))
        if status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
            if match is None or int(match[1]) != offset:
                raise _Restart(
                    f"it answered the range request with {response.headers.get('content-range')!r}"
                )
            if match[3] != "*":
                self._size_check(int(match[3]))
            return True
        if status == 200:
            if offset:
                log.info("server ignored the range for %s; downloading it from the start", self.dest.name)
            length = response.headers.get("content-length")
            if length is not None and length.isdigit() and _identity(response):
                self._size_check(int(length))
            return False
        raise DownloadHTTPError(
            f"The server refused the video file for {self.dest.name} (HTTP {status}). Try again later.",
            status=status,
            url=self.url,
            dest=self.dest,
        )

    def _size_check(self, server_size: int) -> None:
        """Fail early when the server's file is not the size fal announced."""
        if self.expected is not None and server_size != self.expected:
            with contextlib.suppress(OSError):
                self.part.unlink()
            raise DownloadSizeError(
                f"The server's file for {self.dest.name} is {server_size:,} bytes but fal announced "
                f"{self.expected:,}, so it is not the finished video. Nothing was kept; fetch the job's "
                "result again and retry the download.",
                expected=self.expected,
                received=server_size,
                url=self.url,
                dest=self.dest,
            )
        self.total = server_size

    async def _receive(self, response: httpx.Response, offset: int, append: bool) -> None:
        """Stream the body into the ``.part`` file from ``offset``."""
        sink = await _PartFile.open(self.part, append=append, start=offset)
        received = offset
        last_write = time.monotonic()
        limit = self.total
        batch: list[bytes] = []
        batched = 0
        self._report(received)
        chunks = response.aiter_raw() if _identity(response) else response.aiter_bytes()
        try:
            async for piece in chunks:
                if limit is not None and received + batched + len(piece) > limit:
                    raise self._too_long(limit)
                batch.append(piece)
                batched += len(piece)
                if batched >= self.batch_bytes or time.monotonic() - last_write > FLUSH_SECONDS:
                    await sink.write(batch)
                    received += batched
                    batch, batched = [], 0
                    last_write = time.monotonic()
                    self._report(received)
        except httpx.TransportError:
            if batch:  # keep what arrived before the drop: the resume starts after it
                await sink.write(batch)
            await sink.finish()
            raise
        else:
            if batch:
                await sink.write(batch)
                received += batched
            await sink.finish()
        finally:
            await sink.close()
        self._report(received)
        if limit is not None and received < limit:
            raise _TryAgain(
                f"the body ended after {received:,} of {limit:,} bytes", progressed=received > offset
            )

    def _too_long(self, limit: int) -> DownloadSizeError:
        with contextlib.suppress(OSError):
            self.part.unlink()
        return DownloadSizeError(
            f"The server sent more than the {limit:,} bytes announced for {self.dest.name}, so it is not the "
            "video fal made. Nothing was kept; fetch the job's result again and retry the download.",
            expected=limit,
            received=limit + 1,
            url=self.url,
            dest=self.dest,
        )

    def _report(self, done: int) -> None:
        if self.on_progress is None:
            return
        try:
            self.on_progress(done, self.total)
        except Exception:  # a progress listener must not break the download
            if not self._progress_failed:
                self._progress_failed = True
                log.exception("download progress callback failed; the download carries on")


class _Complete(Exception):
    """The ``.part`` already holds the whole file."""


class _PartFile:
    """The ``.part`` file, written on a worker thread with at most one batch in flight."""

    def __init__(self, fd: int, start: int) -> None:
        self._fd: int | None = fd
        self._pending: asyncio.Future[None] | None = None
        self._written = self._flushed = start  # touched only by the one write in flight

    @classmethod
    async def open(cls, path: Path, *, append: bool, start: int) -> _PartFile:
        flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0)
        flags |= os.O_APPEND if append else os.O_TRUNC
        return cls(await asyncio.to_thread(os.open, path, flags, 0o644), start if append else 0)

    async def write(self, batch: list[bytes]) -> None:
        """Queue a batch; waits only for the previous batch, so reading and writing overlap."""
        assert self._fd is not None
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await pending
        self._pending = asyncio.ensure_future(asyncio.to_thread(self._write_batch, self._fd, batch))

    def _write_batch(self, fd: int, batch: list[bytes]) -> None:
        """Worker thread: write, and start the disk writing early so the final fsync is short."""
        _write_all(fd, batch)
        self._written += sum(len(piece) for piece in batch)
        if _FADVISE is not None and self._written - self._flushed >= _WRITEBACK_STEP:
            # DONTNEED starts writeback of these dirty pages now (and frees them from the cache once
            # written), instead of leaving hundreds of MB for the fsync at the end.
            with contextlib.suppress(OSError):
                _FADVISE(fd, self._flushed, self._written - self._flushed, os.POSIX_FADV_DONTNEED)
            self._flushed = self._written

    async def finish(self) -> None:
        """Wait for the last batch and make the bytes durable."""
        assert self._fd is not None
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await pending
        await asyncio.to_thread(_sync, self._fd)

    async def close(self) -> None:
        """Close the file, waiting for a batch still in flight (a failure here was already reported)."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            with contextlib.suppress(OSError):
                await pending
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                await asyncio.to_thread(os.close, fd)


def _write_all(fd: int, pieces: list[bytes]) -> None:
    """Write every piece, in order, with as few system calls as the platform allows."""
    if not hasattr(os, "writev"):  # Windows
        view = memoryview(b"".join(pieces))
        while view:
            view = view[os.write(fd, view) :]
        return
    views = [memoryview(piece) for piece in pieces if piece]
    while views:
        written = os.writev(fd, views[:_IOV_MAX])
        while views and written >= len(views[0]):
            written -= len(views.pop(0))
        if written:
            views[0] = views[0][written:]


def _sync(fd: int) -> None:
    """Flush the file's data (and its size) to the disk."""
    getattr(os, "fdatasync", os.fsync)(fd)


def _commit(part: Path, dest: Path) -> None:
    """Rename the finished ``.part`` into place and make the rename durable."""
    os.replace(part, dest)
    if os.name == "nt":  # Windows cannot open a folder to fsync it; NTFS journals the rename
        return
    fd = os.open(dest.parent, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # some file systems do not fsync folders
            os.fsync(fd)
    finally:
        os.close(fd)


def _size_or_none(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def _truncate(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError), open(path, "r+b") as file:
        file.truncate(0)


def _identity(response: httpx.Response) -> bool:
    return response.headers.get("content-encoding", "identity").strip().lower() in ("", "identity")


def _describe(exc: httpx.TransportError) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


def _disk_error(exc: OSError, url: str, dest: Path) -> DownloadError:
    folder = dest.parent
    if exc.errno in _DISK_FULL:
        return DiskFullError(
            f"The disk holding {folder} is full, so {dest.name} cannot be saved. Free some space there "
            "(or choose another output folder); the download resumes where it stopped once there is room.",
            folder=folder,
            url=url,
            dest=dest,
        )
    reason = exc.strerror or type(exc).__name__
    return DownloadWriteError(
        f"Kling Studio cannot write {dest.name} into {folder} ({reason}). Make the folder writable or choose "
        "another output folder, then retry the download.",
        folder=folder,
        url=url,
        dest=dest,
    )

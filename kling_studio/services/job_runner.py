"""The job runner: sends jobs to fal, follows them, fetches and keeps every paid result.

Money rules, in the order things happen:

1. The job row (and its cost in the ledger, checked against the budgets) is on disk *before* the POST.
2. The POST is sent once. If the connection breaks after sending, the job becomes ``maybe_submitted``:
   it may be on fal's side, and it is never re-sent without the user saying so.
3. The request id is committed the moment fal answers.
4. The result is fetched and downloaded as soon as the job completes (fal keeps it an hour, or six minutes
   for large bodies); a broken download resumes from its ``.part`` file.

The runner lives on the asyncio loop; it owns its tasks and cancels them in :meth:`close`. Progress is
published to listeners as the updated :class:`Job` (no Qt here: the UI adapts these calls to signals).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from kling_studio.services import paths
from kling_studio.services.checkpoints import checkpoint
from kling_studio.services.downloads import DiskFullError, DownloadError, DownloadGoneError, download
from kling_studio.services.fal_errors import (
    FalAuthError,
    FalBalanceLockedError,
    FalError,
    FalNetworkError,
    FalProtocolError,
    FalRequestCancelledError,
    FalResultExpiredError,
    FalUnavailableError,
    FalValidationError,
)
from kling_studio.services.fal_queue import FalQueueClient, SubmitReceipt
from kling_studio.services.job_lease import try_lease
from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import Job, JobError, JobState, NewJob
from kling_studio.services.ledger import BudgetPolicy
from kling_studio.services.provenance import sidecar_for, write_sidecar

log = logging.getLogger(__name__)

JobListener = Callable[[Job], None]

#: How often download progress is written to the database (seconds); events follow the same pace.
PROGRESS_INTERVAL = 0.25
#: How long a job whose follow or download keeps failing waits before the next try.
RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)


class JobRunner:
    """Drives jobs from submit to a file on disk; one per process."""

    def __init__(
        self,
        store: JobStore,
        client: FalQueueClient,
        http: httpx.AsyncClient,
        *,
        max_active: int = 2,
        outputs_root: Callable[[str], Path] = paths.outputs_dir,
        locks_dir: Path | None = None,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self._store = store
        self._client = client
        self._http = http
        self._outputs_root = outputs_root
        self._locks_dir = locks_dir or paths.data_dir() / "locks"
        self._retry_delays = retry_delays
        self._submit_slots = asyncio.Semaphore(max_active)
        self._download_slots = asyncio.Semaphore(max_active)
        self._listeners: list[JobListener] = []
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._settled: dict[str, asyncio.Event] = {}
        self._progress_tasks: dict[str, list[asyncio.Task[None]]] = {}
        self._closed = False

    # ---- events -------------------------------------------------------------------------------------
    def subscribe(self, listener: JobListener) -> Callable[[], None]:
        """Call ``listener(job)`` after every change this runner makes; returns an unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _publish(self, job: Job) -> Job:
        for listener in list(self._listeners):
            try:
                listener(job)
            except Exception:  # one broken listener must not silence the others or the runner
                log.exception("job listener failed")
        if job.is_terminal or job.state is JobState.MAYBE_SUBMITTED:
            self._settled.setdefault(job.id, asyncio.Event()).set()
        return job

    # ---- life cycle ---------------------------------------------------------------------------------
    async def start(self) -> list[Job]:
        """Settle what a crash left behind and resume every unfinished job; returns the resumed jobs."""
        before = {j.id for j in await asyncio.to_thread(self._store.list, states=[JobState.SUBMITTING])}
        unfinished = await asyncio.to_thread(self._store.recover_after_crash)
        for job_id in before:
            job = await asyncio.to_thread(self._store.get, job_id)
            if job.state is JobState.MAYBE_SUBMITTED:
                self._publish(job)
        for job in unfinished:
            self._drive_later(job.id)
        return unfinished

    async def close(self) -> None:
        """Stop following and downloading (jobs stay resumable on disk) and wait for the tasks to end."""
        self._closed = True
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    # ---- actions ------------------------------------------------------------------------------------
    async def submit(self, spec: NewJob, *, budget: BudgetPolicy | None = None) -> Job:
        """Record, send and start following a job; returns it as it stands after the POST.

        Raises:
            BudgetExceededError: the price would pass a budget; nothing was recorded or sent.
        """
        job = self._publish(await asyncio.to_thread(self._store.create_submitting, spec, budget=budget))
        async with self._submit_slots:
            await checkpoint("before-post", job.id)
            try:
                receipt = await self._client.submit(spec.model_id, spec.input)
            except FalError as exc:
                return self._publish(await asyncio.to_thread(self._settle_refused_submit, job.id, exc))
            await checkpoint("after-post", job.id)
            job = await asyncio.to_thread(self._store.mark_submitted, job.id, receipt.to_dict())
        self._publish(job)
        self._drive_later(job.id)
        return job

    async def cancel(self, job_id: str) -> Job:
        """Ask fal to cancel; a job fal already finished is kept and downloaded (it is paid for)."""
        job = await asyncio.to_thread(self._store.get, job_id)
        if job.is_terminal:
            return job
        if job.state is JobState.MAYBE_SUBMITTED or job.request_id is None:
            return self._publish(await asyncio.to_thread(
                self._store.mark_cancelled, job.id, charged=None,
                message="Cancelled here; if it reached fal, cancel it on fal.ai/dashboard too."))
        if job.state in (JobState.COMPLETED, JobState.DOWNLOADING):
            return job  # already paid: cancelling would only throw the result away
        await self._stop_driving(job.id)  # so the follow loop does not race the cancellation
        try:
            answer = await self._client.cancel(_receipt(job))
        except BaseException:
            self._drive_later(job.id)
            raise
        job = await asyncio.to_thread(self._store.get, job.id)
        if answer == "ALREADY_COMPLETED" or job.is_terminal:
            self._drive_later(job.id)
            return job
        charged = False if job.state is JobState.QUEUED else None
        message = "Cancelled." if charged is False else "Cancelled while running; fal may still charge it."
        return self._publish(await asyncio.to_thread(
            self._store.mark_cancelled, job.id, charged=charged, message=message))

    async def _stop_driving(self, job_id: str) -> None:
        task = self._tasks.pop(job_id, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def wait(self, job_id: str) -> Job:
        """Wait until the job is downloaded or settled otherwise; returns it then.

        Bound it with ``asyncio.timeout``: a timeout abandons the wait, never the job.
        """
        job = await asyncio.to_thread(self._store.get, job_id)
        if job.is_terminal or job.state is JobState.MAYBE_SUBMITTED:
            return job
        event = self._settled.setdefault(job.id, asyncio.Event())
        if job.id not in self._tasks:
            self._drive_later(job.id)
        # Return too when the runner stops driving the job without settling it (disk full, a refused key,
        # a database that cannot be written): the job stays resumable and the caller shows where it stands.
        settled = asyncio.ensure_future(event.wait())
        try:
            while not event.is_set():
                task = self._tasks.get(job.id)
                if task is None or task.done():
                    break
                await asyncio.wait({settled, task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            settled.cancel()
        return await asyncio.to_thread(self._store.get, job.id)

    def active_jobs(self) -> list[str]:
        """Ids of jobs this runner is following or downloading now."""
        return [job_id for job_id, task in self._tasks.items() if not task.done()]

    # ---- driving a job ------------------------------------------------------------------------------
    def _drive_later(self, job_id: str) -> None:
        if self._closed or (job_id in self._tasks and not self._tasks[job_id].done()):
            return
        task = asyncio.get_running_loop().create_task(self._drive(job_id), name=f"job-{job_id}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda t, j=job_id: self._forget(j, t))

    def _forget(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(job_id) is task:
            del self._tasks[job_id]

    async def _drive(self, job_id: str) -> None:
        lease = await asyncio.to_thread(try_lease, self._locks_dir, job_id)
        if lease is None:
            log.info("job %s is being driven by another Kling Studio process", job_id)
            await self._watch_other_process(job_id)
            return
        try:
            await self._drive_with_lease(job_id)
        except Exception:
            # E.g. the job database cannot be written (disk full): the job stays as it is on disk and
            # resumes at the next start. Logged here, or the task would die with nobody looking.
            log.exception("stopped driving job %s; it resumes at the next start", job_id)
        finally:
            lease.release()

    async def _drive_with_lease(self, job_id: str) -> None:
        failures = 0
        while True:
            job = await asyncio.to_thread(self._store.get, job_id)
            try:
                if job.state in (JobState.QUEUED, JobState.RUNNING):
                    job = await self._follow(job)
                if job.state in (JobState.COMPLETED, JobState.DOWNLOADING):
                    job = await self._fetch_and_download(job)
                return
            except (FalResultExpiredError, DownloadGoneError) as exc:
                self._publish(await asyncio.to_thread(self._store.mark_expired, job_id, str(exc)))
                return
            except FalRequestCancelledError as exc:
                self._publish(await asyncio.to_thread(
                    self._store.mark_cancelled, job_id, charged=None, message=str(exc)))
                return
            except DiskFullError as exc:
                # The paid result is safe at fal for a while and the .part file is kept: resume frees it.
                await self._note_error(job_id, "disk_full", str(exc))
                return
            except (FalAuthError, FalBalanceLockedError) as exc:
                # The job is safe on fal's side; it resumes once the key works again.
                await self._note_error(job_id, "auth", f"{exc} The job will resume when you restart.")
                return
            except (FalNetworkError, FalUnavailableError, DownloadError, OSError) as exc:
                failures += 1
                delay = self._retry_delays[min(failures - 1, len(self._retry_delays) - 1)]
                await self._note_error(job_id, "retrying", f"{exc} Trying again in {delay:g} s.")
                await asyncio.sleep(delay)
            except FalError as exc:
                await self._note_error(job_id, "fal", f"{exc} Retrying later.")
                failures += 1
                if failures > len(self._retry_delays):
                    return
                await asyncio.sleep(self._retry_delays[min(failures - 1, len(self._retry_delays) - 1)])

    async def _follow(self, job: Job) -> Job:
        await checkpoint("queued", job.id)
        # Closed here, in this task, when a return leaves it early: left to the garbage collector, the
        # stream's body iterator is finalised outside any task ("async generator ignored GeneratorExit").
        async with contextlib.aclosing(self._client.follow(_receipt(job))) as statuses:
            async for status in statuses:
                if status.state == "IN_QUEUE":
                    if status.queue_position != job.queue_position:
                        job = self._publish(await asyncio.to_thread(
                            self._store.update_progress, job.id, queue_position=status.queue_position))
                elif status.state == "IN_PROGRESS":
                    state = JobState.RUNNING if job.state is JobState.QUEUED else None
                    job = self._publish(await asyncio.to_thread(
                        self._store.update_progress, job.id, state=state, logs=status.logs or None))
                elif status.state == "COMPLETED":
                    if status.error_type == "request_cancelled":
                        return self._publish(await asyncio.to_thread(
                            self._store.mark_cancelled, job.id, charged=None, message="Cancelled on fal."))
                    if status.error:
                        message = f"fal reports the generation failed: {status.error}"
                        return self._publish(await asyncio.to_thread(
                            self._store.mark_failed, job.id, status.error_type or "generation", message,
                            charged=None))
                    return self._publish(await asyncio.to_thread(
                        self._store.update_progress, job.id, state=JobState.COMPLETED, logs=status.logs or None))
        return await asyncio.to_thread(self._store.get, job.id)

    async def _fetch_and_download(self, job: Job) -> Job:
        if not job.video_url:
            output = await self._client.result(_receipt(job))
            video = output.get("video") if isinstance(output, dict) else None
            if not isinstance(video, dict) or not isinstance(video.get("url"), str):
                raise FalError(f"fal's result for job {job.id} has no video in it.")
            size = video.get("file_size")
            job = self._publish(await asyncio.to_thread(
                self._store.update_progress, job.id, video_url=video["url"],
                file_size=size if isinstance(size, int) and size >= 0 else None))
        dest = self._outputs_root(job.project_slug) / f"{job.id}.mp4"
        async with self._download_slots:
            if job.state is JobState.COMPLETED:
                job = self._publish(await asyncio.to_thread(
                    self._store.update_progress, job.id, state=JobState.DOWNLOADING))
            await download(self._http, job.video_url or "", dest, expected_size=job.file_size,
                           on_progress=self._progress_writer(job))
        for task in self._progress_tasks.pop(job.id, []):
            await asyncio.gather(task, return_exceptions=True)
        size = dest.stat().st_size
        await asyncio.to_thread(write_sidecar, dest, sidecar_for(job, dest, file_size=size))
        downloaded = await asyncio.to_thread(self._store.mark_downloaded, job.id, dest, file_size=size)
        return self._publish(downloaded)

    def _progress_writer(self, job: Job) -> Callable[[int, int | None], None]:
        """A progress callback that records bytes at most every PROGRESS_INTERVAL, off the event loop."""
        last = [0.0]
        pending = self._progress_tasks.setdefault(job.id, [])

        async def persist(done: int) -> None:
            self._publish(await asyncio.to_thread(self._store.update_progress, job.id, bytes_downloaded=done))

        def on_progress(done: int, total: int | None) -> None:
            now = time.monotonic()
            if now - last[0] < PROGRESS_INTERVAL or (pending and not pending[-1].done()):
                return
            last[0] = now
            pending[:] = [asyncio.get_running_loop().create_task(persist(done))]

        return on_progress

    async def _note_error(self, job_id: str, kind: str, message: str) -> None:
        job = await asyncio.to_thread(self._store.update_progress, job_id, error=JobError(kind, message))
        self._publish(job)

    async def _watch_other_process(self, job_id: str) -> None:
        """Another process drives the job: mirror its progress from the database until it settles."""
        while True:
            await asyncio.sleep(0.5)
            job = await asyncio.to_thread(self._store.get, job_id)
            self._publish(job)
            if job.is_terminal:
                return
            lease = await asyncio.to_thread(try_lease, self._locks_dir, job_id)
            if lease is not None:  # the other process went away: take over
                lease.release()
                await self._drive(job_id)
                return

    # ---- settling a refused submit ------------------------------------------------------------------
    def _settle_refused_submit(self, job_id: str, exc: FalError) -> Job:
        reached = isinstance(exc, FalNetworkError) and exc.may_have_reached_fal
        # A success status with a body we cannot read: fal has the job, we do not have its id.
        reached = reached or (isinstance(exc, FalProtocolError) and (exc.status or 0) < 300)
        if reached:
            return self._store.update_progress(
                job_id, state=JobState.MAYBE_SUBMITTED,
                error=JobError("maybe_submitted", f"{exc} It may have reached fal: check fal.ai/dashboard "
                               "before sending it again."))
        if isinstance(exc, FalValidationError):
            return self._store.mark_failed(job_id, "validation", str(exc), charged=None)
        return self._store.mark_failed(job_id, _error_kind(exc), str(exc), charged=False)


def _receipt(job: Job) -> SubmitReceipt:
    return SubmitReceipt.from_dict({
        "request_id": job.request_id,
        "status_url": job.status_url,
        "response_url": job.response_url,
        "cancel_url": job.cancel_url,
        "queue_position": job.queue_position,
    })


def _error_kind(exc: FalError) -> str:
    return {
        FalAuthError: "auth",
        FalBalanceLockedError: "balance",
        FalUnavailableError: "server",
        FalNetworkError: "network",
    }.get(type(exc), "fal")


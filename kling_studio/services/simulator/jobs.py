"""The simulator's queue: each request waits its turn, runs with growing logs, renders its video, completes.

A small concurrency limit (fal starts new accounts at 2) means extra requests wait with a falling
``queue_position``; a few simulated requests from "other users" ahead of each new one make the position fall
even when a request is alone. Every visible change bumps the job's ``version`` and wakes anyone waiting in
:meth:`JobBook.wait_for_change`, which is what drives the SSE status stream.

Cancelled requests end as ``COMPLETED`` with ``error``/``error_type`` set and their result answers 400 — fal
does not document this exactly, so a client should treat any completed-with-error status as final.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kling_studio.services.simulator.faults import FaultPlan
from kling_studio.services.simulator.render import RenderSpec, Resolution, aspect_from_image, render_video
from kling_studio.services.simulator.validation import OWNER_APP, GenerationInput

GENERATION_FAILED = "Kling generation failed: the model returned no video (simulated failure)"
IN_QUEUE = "IN_QUEUE"
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timeline:
    """How long the simulated phases take at speed 1, and how fast the simulator runs.

    Args:
        speed: Divides every simulated wait (not the real render time); 1 is realistic-but-short.
        queue_seconds: Time each request spends queued before it may start.
        queue_ahead: Simulated requests ahead of each new one, draining over ``queue_seconds``.
        concurrency: Requests running at once; the rest wait in the queue.
    """

    speed: float = 1.0
    queue_seconds: float = 3.0
    queue_ahead: int = 2
    concurrency: int = 2

    def scaled(self, seconds: float) -> float:
        """``seconds`` of simulated time in real seconds."""
        return seconds / self.speed if self.speed > 0 else seconds


@dataclass
class Job:
    """One request in the simulator's queue; read and written only under the book's lock."""

    request_id: str
    model_id: str
    input: GenerationInput
    start_image: bytes | None
    seq: int
    submitted_at: float
    state: str = IN_QUEUE
    queue_position: int = 0
    logs: list[dict[str, str]] = field(default_factory=list)
    version: int = 0
    started_at: float | None = None
    completed_at: float | None = None
    cancel_requested: bool = False
    start_timeout: float | None = None
    error: str | None = None
    error_type: str | None = None
    file_name: str | None = None
    file_size: int = 0

    @property
    def base_path(self) -> str:
        """``{owner}/{app}/requests/{id}``: the path status, result and cancel hang off."""
        return f"{OWNER_APP}/requests/{self.request_id}"


class FileStore:
    """Files the simulator serves under ``/files/``: a thread-safe name → path map."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, Path] = {}

    def add(self, name: str, path: Path) -> None:
        """Serve ``path`` as ``/files/{name}``."""
        with self._lock:
            self._files[name] = path

    def get(self, name: str) -> Path | None:
        """The path served as ``name``, or None."""
        with self._lock:
            return self._files.get(name)


class JobBook:
    """Owns every job and the daemon threads that move them through their timeline.

    Args:
        timeline: Phase lengths and speed.
        resolution: ``full`` or ``preview`` renders.
        work_dir: Where rendered videos are cached (one file per distinct input).
        files: Where finished videos are published for download.
        faults: The plan consulted at the ``run`` site (``fail@run``).
    """

    def __init__(
        self,
        timeline: Timeline,
        resolution: Resolution,
        work_dir: Path,
        files: FileStore,
        faults: FaultPlan | None = None,
    ) -> None:
        self._timeline = timeline
        self._faults = faults or FaultPlan()
        self._resolution = resolution
        self._work_dir = work_dir
        self._files = files
        self._cond = threading.Condition()
        self._jobs: dict[str, Job] = {}
        self._running = 0
        self._seq = 0
        self._closed = False
        self._render_lock = threading.Lock()  # one render at a time: the machine's cores are shared

    def submit(
        self,
        model_id: str,
        generation: GenerationInput,
        start_image: bytes | None = None,
        *,
        start_timeout: float | None = None,
    ) -> Job:
        """Queue a validated request and start its timeline; returns the new job.

        Args:
            model_id: The endpoint posted to.
            generation: The validated input.
            start_image: Image-to-video's start frame, if the simulator could fetch it.
            start_timeout: ``X-Fal-Request-Timeout``: simulated seconds the job may wait before it starts.
        """
        with self._cond:
            self._seq += 1
            job = Job(
                request_id=str(uuid.uuid4()),
                model_id=model_id,
                input=generation,
                start_image=start_image,
                seq=self._seq,
                submitted_at=time.monotonic(),
                start_timeout=start_timeout,
            )
            self._jobs[job.request_id] = job
            job.queue_position = self._position(job, job.submitted_at)
        threading.Thread(
            target=self._run, args=(job,), name=f"sim-job-{job.request_id[:8]}", daemon=True
        ).start()
        return job

    def get(self, request_id: str) -> Job | None:
        """The job with this id, or None."""
        with self._cond:
            return self._jobs.get(request_id)

    def snapshot(self, request_id: str) -> Job | None:
        """A consistent copy of the job (safe to read without the lock), or None for an unknown id."""
        with self._cond:
            job = self._jobs.get(request_id)
            return None if job is None else replace(job, logs=list(job.logs))

    def request_ids(self) -> list[str]:
        """Every request id submitted so far, oldest first."""
        with self._cond:
            return [job.request_id for job in sorted(self._jobs.values(), key=lambda j: j.seq)]

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def status(self, request_id: str, *, with_logs: bool) -> tuple[dict[str, Any], int] | None:
        """The job's status body as fal sends it, and its version; None for an unknown id."""
        with self._cond:
            job = self._jobs.get(request_id)
            return None if job is None else (self._status_body(job, with_logs), job.version)

    def wait_for_change(
        self, request_id: str, seen_version: int, timeout: float, *, with_logs: bool
    ) -> tuple[dict[str, Any], int]:
        """Block until the version differs from ``seen_version`` or ``timeout`` passes; returns the status."""
        deadline = time.monotonic() + timeout
        with self._cond:
            job = self._jobs[request_id]
            while job.version == seen_version and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return self._status_body(job, with_logs), job.version

    def cancel(self, request_id: str) -> str:
        """Ask to cancel; returns ``CANCELLATION_REQUESTED``, ``ALREADY_COMPLETED`` or ``NOT_FOUND``."""
        with self._cond:
            job = self._jobs.get(request_id)
            if job is None:
                return "NOT_FOUND"
            if job.state == COMPLETED:
                return "ALREADY_COMPLETED"
            job.cancel_requested = True
            self._cond.notify_all()
            return "CANCELLATION_REQUESTED"

    def close(self) -> None:
        """Stop every timeline (threads end at their next wake-up)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # -- the timeline, one daemon thread per job ------------------------------------------------------

    def _run(self, job: Job) -> None:
        try:
            if not self._wait_in_queue(job):
                return
            if not self._run_logs(job):
                return
            fault = self._faults.pick("run", job.request_id)
            if fault is not None and fault.kind == "fail":
                self._finish(job, error=GENERATION_FAILED, error_type="generation_failed")
                return
            self._render_and_complete(job)
        except Exception as exc:  # a bug here must end the job visibly, not leave it running forever
            if self._closed:
                return  # the simulator stopped mid-render and removed its work directory
            log.exception("simulated job %s failed", job.request_id)
            self._finish(job, error=f"Simulator failure: {exc}", error_type="internal_server_error")

    def _wait_in_queue(self, job: Job) -> bool:
        ready_at = job.submitted_at + self._timeline.scaled(self._timeline.queue_seconds)
        give_up_at = None
        if job.start_timeout is not None:
            give_up_at = job.submitted_at + self._timeline.scaled(job.start_timeout)
        with self._cond:
            while True:
                if self._closed:
                    return False
                if job.cancel_requested:
                    self._finish_locked(job, error="Request was cancelled", error_type="request_cancelled")
                    return False
                now = time.monotonic()
                position = self._position(job, now)
                if position == 0 and now >= ready_at and self._running < self._timeline.concurrency:
                    self._running += 1
                    job.state = IN_PROGRESS
                    job.started_at = now
                    job.queue_position = 0
                    self._bump(job)
                    return True
                if give_up_at is not None and now >= give_up_at:
                    self._finish_locked(job, error="Request timed out", error_type="request_timeout")
                    return False
                if position != job.queue_position:
                    job.queue_position = position
                    self._bump(job)
                tick = self._next_tick(job, now, ready_at)
                self._cond.wait(tick if give_up_at is None else max(0.001, min(tick, give_up_at - now)))

    def _position(self, job: Job, now: float) -> int:
        """Real requests ahead (submitted earlier, still queued) plus the draining simulated ones."""
        ahead = sum(1 for other in self._jobs.values() if other.state == IN_QUEUE and other.seq < job.seq)
        total = self._timeline.scaled(self._timeline.queue_seconds)
        remaining = max(0.0, job.submitted_at + total - now)
        phantom = math.ceil(self._timeline.queue_ahead * remaining / total) if total > 0 else 0
        return ahead + phantom

    def _next_tick(self, job: Job, now: float, ready_at: float) -> float:
        total = self._timeline.scaled(self._timeline.queue_seconds)
        step = total / (self._timeline.queue_ahead + 1) if self._timeline.queue_ahead else total
        return max(0.005, min(step, ready_at - now) if ready_at > now else 0.25)

    def _run_logs(self, job: Job) -> bool:
        spec = job.input
        shots = spec.shots
        messages = [
            f"Starting Kling V3 {spec.tier} {spec.kind}: {len(shots)} shot(s), {spec.seconds} s"
            + (", with audio" if spec.generate_audio else ""),
            *(
                f"Generating shot {i}/{len(shots)} ({s.seconds} s): {_clip(s.prompt)}"
                for i, s in enumerate(shots, 1)
            ),
        ]
        if spec.generate_audio:
            messages.append("Generating audio track")
        messages.append("Encoding video")
        run_time = self._timeline.scaled(float(spec.seconds))
        step = run_time / len(messages)
        start = time.monotonic()
        with self._cond:
            for index, message in enumerate(messages):
                due = start + index * step
                while not self._closed and not job.cancel_requested and time.monotonic() < due:
                    self._cond.wait(due - time.monotonic())
                if self._closed:
                    return False
                if job.cancel_requested:
                    self._finish_locked(job, error="Request was cancelled", error_type="request_cancelled")
                    return False
                job.logs.append(_log_entry(message))
                self._bump(job)
            end = start + run_time
            while not self._closed and not job.cancel_requested and time.monotonic() < end:
                self._cond.wait(end - time.monotonic())
            if job.cancel_requested:
                self._finish_locked(job, error="Request was cancelled", error_type="request_cancelled")
                return False
        return not self._closed

    def _render_and_complete(self, job: Job) -> None:
        spec = job.input
        aspect = spec.aspect_ratio
        if spec.kind == "image-to-video":
            aspect = aspect_from_image(job.start_image) or "16:9"
        render_spec = RenderSpec(
            shots=spec.shots,
            aspect_ratio=aspect,
            resolution=self._resolution,
            generate_audio=spec.generate_audio,
            label=f"KLING STUDIO SIMULATOR · {spec.tier} {spec.kind}",
            start_image=job.start_image,
        )
        path = self._work_dir / f"render-{_render_key(render_spec)}.mp4"
        with self._render_lock:
            if not path.exists():
                render_video(render_spec, path)
        name = f"{job.request_id}.mp4"
        self._files.add(name, path)
        with self._cond:
            job.file_name = name
            job.file_size = path.stat().st_size
            job.logs.append(_log_entry(f"Video ready: {job.file_size} bytes"))
        self._finish(job)

    def _finish(self, job: Job, *, error: str | None = None, error_type: str | None = None) -> None:
        with self._cond:
            self._finish_locked(job, error=error, error_type=error_type)

    def _finish_locked(self, job: Job, *, error: str | None = None, error_type: str | None = None) -> None:
        if job.state == COMPLETED:
            return
        if job.state == IN_PROGRESS:
            self._running -= 1
        job.state = COMPLETED
        job.completed_at = time.monotonic()
        job.error, job.error_type = error, error_type
        self._bump(job)

    def _bump(self, job: Job) -> None:
        job.version += 1
        self._cond.notify_all()

    def _status_body(self, job: Job, with_logs: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"status": job.state, "request_id": job.request_id}
        if job.state == IN_QUEUE:
            body["queue_position"] = job.queue_position
        body["logs"] = [dict(entry) for entry in job.logs] if with_logs else None
        if job.state == COMPLETED:
            started = job.started_at or job.completed_at or 0.0
            body["metrics"] = {"inference_time": round((job.completed_at or started) - started, 3)}
            if job.error:
                body["error"], body["error_type"] = job.error, job.error_type
        return body


def _clip(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _log_entry(message: str) -> dict[str, str]:
    return {
        "message": message,
        "level": "INFO",
        "source": "user",
        "timestamp": datetime.now(UTC).isoformat(timespec="microseconds"),
    }


def _render_key(spec: RenderSpec) -> str:
    """A hash of everything that changes the pixels or the sound, so identical inputs render once."""
    payload = {
        "shots": [[s.prompt, s.seconds] for s in spec.shots],
        "aspect": spec.aspect_ratio,
        "resolution": spec.resolution,
        "audio": spec.generate_audio,
        "label": spec.label,
        "image": hashlib.sha256(spec.start_image).hexdigest() if spec.start_image else None,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]

"""Jobs in every state, made through the real job store's own API (no SQL), for the queue and library tests."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import Job, JobError, JobState, NewJob
from kling_studio.services.ledger import BudgetPolicy

NO_BUDGET = BudgetPolicy()
MODEL_4K = "fal-ai/kling-video/v3/4k/text-to-video"


def spec(
    project: str = "Espresso spot",
    *,
    cost: str = "2.10",
    shots: tuple[tuple[str, int], ...] = (("A matte black espresso machine", 2), ("Steam rising", 3)),
    simulated: bool = True,
) -> NewJob:
    """A multi-shot 4K job for ``project``."""
    fal_input = {
        "multi_prompt": [{"prompt": p, "duration": str(s)} for p, s in shots],
        "duration": str(sum(s for _, s in shots)),
        "aspect_ratio": "16:9",
        "generate_audio": True,
    }
    return NewJob(project, MODEL_4K, "4k", fal_input, Decimal(cost), simulated=simulated)


def make_job(store: JobStore, state: JobState, *, output: Path | None = None, **spec_args: object) -> Job:
    """A job brought to ``state`` the way the runner would."""
    job = store.create_submitting(spec(**spec_args), budget=NO_BUDGET)  # type: ignore[arg-type]
    if state is JobState.SUBMITTING:
        return job
    if state is JobState.MAYBE_SUBMITTED:
        return store.update_progress(job.id, state=JobState.MAYBE_SUBMITTED)
    if state is JobState.CANCELLED:
        return store.mark_cancelled(job.id, message="Cancelled.")
    job = store.mark_submitted(job.id, {"request_id": f"req-{job.id}", "queue_position": 2})
    if state is JobState.QUEUED:
        return job
    logs = [{"message": "Generating shot 1 of 2", "timestamp": "2026-11-22T08:00:01"}]
    job = store.update_progress(job.id, state=JobState.RUNNING, logs=logs)
    if state is JobState.RUNNING:
        return job
    if state is JobState.FAILED:
        return store.mark_failed(job.id, "validation", "The prompt was refused by fal's content checker.",
                                 charged=None)
    job = store.mark_completed(job.id, video_url="http://127.0.0.1/x.mp4", file_size=1000)
    if state is JobState.COMPLETED:
        return job
    if state is JobState.EXPIRED:
        return store.mark_expired(job.id, "fal no longer holds the result.")
    job = store.update_progress(job.id, state=JobState.DOWNLOADING, bytes_downloaded=420)
    if state is JobState.DOWNLOADING:
        return job
    assert state is JobState.DOWNLOADED
    assert output is not None, "a downloaded job needs its file"
    return store.mark_downloaded(job.id, output, file_size=output.stat().st_size)


def note_error(store: JobStore, job: Job, message: str) -> Job:
    """A non-fatal problem recorded on a running job."""
    return store.update_progress(job.id, error=JobError("retrying", message))

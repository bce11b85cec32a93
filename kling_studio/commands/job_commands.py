"""`kling-studio submit | jobs | wait | cancel | resume`: the job queue from a terminal.

Progress goes to stderr; the one thing a script wants (a job id, an output path, JSON) goes to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kling_studio.core.errors import UserError
from kling_studio.core.limits import Tier
from kling_studio.core.pricing import estimate, estimate_request, format_usd
from kling_studio.core.project_file import load_project
from kling_studio.core.request import FalRequest, build_request
from kling_studio.services.jobs import Job, JobState, NewJob

if TYPE_CHECKING:
    from kling_studio.core.references import ProjectReferences
    from kling_studio.services.storage_upload import UploadProgress
    from kling_studio.services.studio_services import StudioServices


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the job commands."""
    submit = subparsers.add_parser("submit", help="send a project (or a raw fal input), follow it to a file")
    submit.add_argument("file", nargs="?", type=Path, help="project file")
    submit.add_argument("--tier", choices=[t.value for t in Tier], help="override the project's tier")
    submit.add_argument("--model", help="with --input: a fal model id, for power users")
    submit.add_argument("--input", type=Path, help="with --model: a JSON file with the exact fal input")
    submit.add_argument("--yes", action="store_true", help="do not ask before paying")
    submit.add_argument("--detach", action="store_true", help="return once fal has the job (resume later)")
    submit.set_defaults(func=_submit)

    jobs = subparsers.add_parser("jobs", help="list jobs, newest first")
    jobs.add_argument("--json", action="store_true", help="machine-readable output")
    jobs.add_argument("--limit", type=int, default=50)
    jobs.set_defaults(func=_jobs)

    wait = subparsers.add_parser("wait", help="follow one job until its video is downloaded; prints the path")
    wait.add_argument("job")
    wait.add_argument("--timeout", type=float, help="give up waiting after S seconds (the job goes on)")
    wait.set_defaults(func=_wait)

    cancel = subparsers.add_parser("cancel", help="ask fal to cancel a job")
    cancel.add_argument("job")
    cancel.set_defaults(func=_cancel)

    resume = subparsers.add_parser("resume", help="finish every unfinished job, then exit")
    resume.add_argument("--timeout", type=float, help="stop waiting after S seconds (jobs stay resumable)")
    resume.set_defaults(func=_resume)


# ---- submit ---------------------------------------------------------------------------------------------
async def _open_services() -> StudioServices:
    # Imported on use: httpx and keyring cost ~0.7 s, which `kling-studio validate` should not pay.
    from kling_studio.services.studio_services import StudioServices

    return await StudioServices.open(start_runner=False)


def _submit(args: argparse.Namespace) -> int:
    if args.file is not None and (args.model or args.input):
        raise UserError("Give either a project FILE or --model with --input, not both.")
    if args.file is None and not (args.model and args.input):
        raise UserError("Give a project FILE, or --model ID --input INPUT.json for a raw fal input.")
    return asyncio.run(_submit_async(args))


async def _submit_async(args: argparse.Namespace) -> int:
    services = await _open_services()
    try:
        spec, summary, references = _job_spec(args, services)
        note = " · Simulator — nothing is charged" if services.simulated else ""
        _err(f"{summary}{note}")
        if not args.yes and not services.simulated:
            _confirm(f"Pay {format_usd(spec.estimated_cost)} for this job?")
        # After the price is accepted: the budget check, the reference uploads, then the POST.
        job = await services.submit(spec, references, on_progress=_upload_printer())
        _err(f"job {job.id}: {_describe(job)}")
        if job.state in (JobState.FAILED, JobState.MAYBE_SUBMITTED):
            print(job.id)
            return 2 if job.state is JobState.FAILED else 1
        if args.detach:
            print(job.id)
            return 0
        return await _follow_to_end(services, job.id)
    finally:
        await services.close()


def _job_spec(
    args: argparse.Namespace, services: StudioServices
) -> tuple[NewJob, str, ProjectReferences | None]:
    references = None
    if args.file is not None:
        project = load_project(args.file)
        tier = Tier(args.tier) if args.tier else None
        request = build_request(project, tier)
        est = estimate(project, tier, catalog=services.catalog)
        name, path, references = project.name, args.file.resolve(), project.references
    else:
        request = FalRequest(args.model, _read_input(args.input))
        est = estimate_request(request, services.catalog)
        name, path = "Raw requests", None
    spec = NewJob(
        project_name=name,
        model_id=request.model_id,
        tier=str(est.tier),
        input=dict(request.arguments),
        estimated_cost=est.total,
        simulated=services.simulated,
        project_path=path,
    )
    summary = f"{request.model_id}: {est.seconds} s → {format_usd(est.total)}"
    return spec, summary, references


def _upload_printer() -> Callable[[UploadProgress], None]:
    """One stderr line per reference image, once it is uploaded (or its earlier upload is reused)."""

    def on_progress(progress: UploadProgress) -> None:
        if progress.cached or progress.sent >= progress.total:
            from kling_studio.services.job_submit import describe_upload

            _err(describe_upload(progress))

    return on_progress


def _read_input(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such file.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path} is not valid JSON: {exc}. Fix the file and try again.") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a JSON object (the fal input), not {type(data).__name__}.")
    return data


def _confirm(question: str) -> None:
    if not sys.stdin.isatty():
        raise UserError(f"{question} Add --yes to confirm the price when not running interactively.")
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise UserError("Not submitted: nothing was sent and nothing was charged.")


# ---- following --------------------------------------------------------------------------------------------
async def _follow_to_end(services: StudioServices, job_id: str, limit: float | None = None) -> int:
    unsubscribe = services.runner.subscribe(_progress_printer(job_id))
    try:
        async with asyncio.timeout(limit):
            job = await services.runner.wait(job_id)
    except TimeoutError:
        job = services.store.get(job_id)
        _err(f"job {job.id} is still {job.state.label}; it goes on: run `kling-studio wait {job.id}` later.")
        return 1
    finally:
        unsubscribe()
    return _report_end(job)


def _report_end(job: Job) -> int:
    if job.state is JobState.DOWNLOADED:
        print(job.output_path)
        return 0
    message = job.error.message if job.error else job.state.label
    _err(f"job {job.id} {job.state.label}: {message}")
    return 1


def _progress_printer(job_id: str) -> Callable[[Job], None]:
    last: list[str] = [""]

    def on_job(job: Job) -> None:
        if job.id != job_id:
            return
        line = _describe(job)
        if line != last[0]:
            last[0] = line
            _err(f"job {job.id}: {line}")

    return on_job


def _describe(job: Job) -> str:
    if job.state is JobState.QUEUED and job.queue_position is not None:
        return f"queued (position {job.queue_position + 1})"
    if job.state is JobState.RUNNING and job.logs:
        return f"running: {job.logs[-1].get('message', '')}"
    if job.state is JobState.DOWNLOADING and job.file_size:
        return f"downloading {100 * job.bytes_downloaded // job.file_size}%"
    if job.error and job.state in (JobState.FAILED, JobState.MAYBE_SUBMITTED, JobState.EXPIRED):
        return f"{job.state.label}: {job.error.message}"
    return job.state.label


# ---- jobs / wait / cancel / resume ---------------------------------------------------------------------
def _jobs(args: argparse.Namespace) -> int:
    return asyncio.run(_jobs_async(args))


async def _jobs_async(args: argparse.Namespace) -> int:
    services = await _open_services()
    try:
        jobs = await asyncio.to_thread(services.store.list, limit=args.limit)
    finally:
        await services.close()
    if args.json:
        print(json.dumps([_job_json(j) for j in jobs], indent=2, ensure_ascii=False))
        return 0
    if not jobs:
        print("No jobs yet.")
        return 0
    for job in jobs:
        sim = " (simulated)" if job.simulated else ""
        price = format_usd(job.estimated_cost)
        print(f"{job.id}  {job.created_at:%Y-%m-%d %H:%M}  {job.tier:<8} {price:>8}{sim}  {job.project_name}"
              f"  — {_describe(job)}")
    return 0


def _job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "project": job.project_name,
        "model_id": job.model_id,
        "tier": job.tier,
        "state": job.state.value,
        "estimated_cost": str(job.estimated_cost),
        "currency": job.currency,
        "simulated": job.simulated,
        "request_id": job.request_id,
        "queue_position": job.queue_position,
        "output_path": None if job.output_path is None else str(job.output_path),
        "bytes_downloaded": job.bytes_downloaded,
        "file_size": job.file_size,
        "error": None if job.error is None else {"kind": job.error.kind, "message": job.error.message},
        "created_at": job.created_at.isoformat(timespec="seconds"),
    }


def _wait(args: argparse.Namespace) -> int:
    return asyncio.run(_wait_async(args))


async def _wait_async(args: argparse.Namespace) -> int:
    services = await _open_services()
    try:
        job = await asyncio.to_thread(services.store.get, args.job)
        return await _follow_to_end(services, job.id, args.timeout)
    finally:
        await services.close()


def _cancel(args: argparse.Namespace) -> int:
    return asyncio.run(_cancel_async(args))


async def _cancel_async(args: argparse.Namespace) -> int:
    services = await _open_services()
    try:
        job = await services.runner.cancel((await asyncio.to_thread(services.store.get, args.job)).id)
    finally:
        await services.close()
    _err(f"job {job.id}: {_describe(job)}")
    return 0 if job.state is JobState.CANCELLED else 1


def _resume(args: argparse.Namespace) -> int:
    return asyncio.run(_resume_async(args))


async def _resume_async(args: argparse.Namespace) -> int:
    services = await _open_services()
    try:
        resumed = await services.runner.start()
        parked = await asyncio.to_thread(services.store.list, states=[JobState.MAYBE_SUBMITTED])
        for job in parked:
            _err(f"job {job.id}: {job.state.label} — not re-sent. Check fal.ai/dashboard.")
        if not resumed:
            _err("Nothing to resume.")
            return 0
        _err(f"Resuming {len(resumed)} job(s)…")
        codes = [await _follow_to_end(services, job.id, args.timeout) for job in resumed]
    finally:
        await services.close()
    return max(codes)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)

"""Status traffic: HTTP requests per job-minute while jobs are followed, read from the simulator's request log.

Jobs go through the real runner and fal client (SSE status stream with polling fallback, the app's default
poll intervals) against the simulator in its own process, each job spending ~6 s queued (3 s with
``--quick``) and ~3 s running.

* SSE healthy: every status request per job (stream connections and polls), per minute of the job's life
  (submit to result). Targets: at most 1 stream connection per job, and no polling at all.
* Baseline, same run: the same jobs with the stream unavailable (``503@stream``), so the client polls —
  what following would cost without SSE.

    python benchmarks/status_traffic.py [--quick] [--json] [--jobs 8]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Result, SimulatorProcess, Target, emit, load_average, measured
from event_loop import KEY, app_http_client, job_spec

from kling_studio.services.fal_queue import FalQueueClient
from kling_studio.services.job_runner import JobRunner
from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import JobState


async def follow_jobs(url: str, work: Path, jobs: int) -> list[str]:
    """Submit ``jobs`` jobs and follow them to their files; returns their fal request ids."""
    store = JobStore(work / "jobs.sqlite3")
    try:
        async with app_http_client() as http:
            client = FalQueueClient(http, queue_url=url, key=KEY)
            runner = JobRunner(
                store, client, http, outputs_root=lambda slug: work / "outputs" / slug, locks_dir=work / "locks"
            )
            await runner.start()
            try:
                spec = job_spec()
                submitted = [await runner.submit(spec) for _ in range(jobs)]
                finished = await asyncio.gather(*(runner.wait(job.id) for job in submitted))
            finally:
                await runner.close()
    finally:
        store.close()
    bad = [job.state for job in finished if job.state is not JobState.DOWNLOADED]
    if bad:
        raise RuntimeError(f"{len(bad)} jobs did not finish downloaded: {bad}")
    return [job.request_id for job in finished if job.request_id]


def traffic(log: list[dict], request_ids: list[str]) -> dict[str, list[float]]:
    """Per job: stream connections, polls, all status requests per job-minute (submit to result fetch)."""
    by_job: dict[str, list[dict]] = defaultdict(list)
    for record in log:
        if record["request_id"] in request_ids:
            by_job[record["request_id"]].append(record)
    out: dict[str, list[float]] = {"streams": [], "polls": [], "per_minute": [], "minutes": []}
    for request_id in request_ids:
        records = sorted(by_job[request_id], key=lambda r: r["time"])
        paths = [urlsplit(r["path"]).path for r in records]
        streams = sum(1 for p in paths if p.endswith("/status/stream"))
        polls = sum(1 for p in paths if p.endswith("/status"))
        submit = next(r["time"] for r in records if r["method"] == "POST")
        result = max(r["time"] for r, p in zip(records, paths, strict=True) if p.endswith(request_id))
        minutes = (result - submit) / 60
        out["streams"].append(streams)
        out["polls"].append(polls)
        out["minutes"].append(minutes)
        out["per_minute"].append((streams + polls) / minutes)
    return out


def measure(jobs: int, cache: Path, faults: str, queue_seconds: float) -> dict[str, list[float]]:
    """Follow ``jobs`` jobs against a fresh simulator with ``faults``; the per-job traffic."""
    sim = SimulatorProcess(speed=1.0, concurrency=jobs, queue_seconds=queue_seconds, work_dir=cache, faults=faults)
    work = Path(tempfile.mkdtemp(prefix="kling-bench-traffic-"))
    try:
        ids = asyncio.run(follow_jobs(sim.url, work, jobs))
        return traffic(sim.request_log(), ids)
    finally:
        sim.stop()
        shutil.rmtree(work, ignore_errors=True)


def worst_job(name: str, samples: list[float], unit: str, target: Target) -> Result:
    """A row whose value is the worst job's (the spread shows every job's)."""
    return Result(f"{name} (worst job)", max(samples), unit, target, tuple(samples))


def run(quick: bool, *, jobs: int | None = None) -> list[Result]:
    """Measure and return the table rows."""
    jobs = jobs or (4 if quick else 8)
    cache = Path(tempfile.gettempdir()) / "kling-studio-bench-sim"
    queued = 3.0 if quick else 6.0
    sse = measure(jobs, cache, "", queued)
    polled = measure(jobs, cache, "503@stream", queued)
    minutes = statistics.median(sse["minutes"]) * 60
    return [
        measured(
            "status traffic: requests per job-minute (SSE)",
            sse["per_minute"],
            "req/job-min",
            Target("info"),
            baseline=polled["per_minute"],
            baseline_name="(stream down: polling)",
            note=f"{jobs} jobs of ~{minutes:.0f} s each, followed at once; load {load_average()}",
        ),
        worst_job("status traffic: stream connections per job", sse["streams"], "conn", Target("max", 1)),
        worst_job("status traffic: polls while the stream is healthy", sse["polls"], "req", Target("max", 0)),
    ]


def main() -> int:
    """Command line: run and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer jobs (CI smoke)")
    parser.add_argument("--json", action="store_true", help="print RESULT lines for run.py")
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    emit(run(args.quick, jobs=args.jobs), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Crash trials: the CLI is SIGKILLed at random (seeded) moments of paid jobs; a restart must make it right.

Each trial runs two ``kling-studio submit`` processes at once in one data folder against a shared simulator,
kills each at a moment drawn from a seeded generator — held exactly at a boundary (before the POST, after the
POST before the request id is saved, while queued), during start-up, or at a random time after the job
appeared (queued, running, fetching the result or downloading) — sometimes kills the first ``resume`` too,
then runs ``kling-studio resume``. Afterwards every job must be downloaded (a complete file, its sidecar) or
parked as "may have been submitted", and the simulator's request log (each trial has its own key) must show:

* results lost — a request fal ran whose video is neither on disk nor flagged for the user: 0
* duplicate POSTs — any POST sent by ``resume``, or more POSTs than submit processes: 0
* partial files left — ``*.part`` downloads or temporary save files: 0
"""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from reliability_helpers import HOLD_ENV, cli_env, job_rows, leftovers, run_cli, start_cli, write_project

BASE_SEED = 20261122
VICTIMS_PER_TRIAL = 2
WORKERS = 3
# (kind, weight): where a victim is killed.
KILL_MODES = (
    ("before-post", 15),
    ("after-post", 15),
    ("queued", 10),
    ("startup", 10),
    ("after-job", 50),
)
RESUME_KILL_CHANCE = 0.25
RESUME_TIMEOUT = 60.0


@dataclass
class Trial:
    """What one trial did and found."""

    index: int
    jobs: int = 0
    posts: int = 0
    downloaded: int = 0
    parked: int = 0
    lost: int = 0
    duplicate_posts: int = 0
    partial_files: list[str] = field(default_factory=list)
    bad_outputs: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    killed_in: Counter = field(default_factory=Counter)
    resume_killed: bool = False
    problems: list[str] = field(default_factory=list)


def _kill_mode(rng: random.Random) -> str:
    kinds, weights = zip(*KILL_MODES, strict=True)
    return rng.choices(kinds, weights)[0]


def _victim(project: Path, env: dict[str, str], mode: str, delay: float) -> str:
    """Run one ``submit`` and SIGKILL it as ``mode`` says; returns what happened (for the problems list)."""
    if mode in ("before-post", "after-post", "queued"):
        env = {**env, HOLD_ENV: mode}
    proc = start_cli("submit", str(project), "--yes", env=env)
    outcome = "killed"
    try:
        if mode == "startup":
            time.sleep(delay)
        else:
            wanted = f"HOLD {mode}" if mode in ("before-post", "after-post", "queued") else "job "
            while True:
                line = proc.stderr.readline()
                if not line:  # the process ended before the moment came
                    outcome = "ended-before-kill"
                    break
                if line.startswith(wanted):
                    break
            if mode == "after-job" and outcome == "killed":
                time.sleep(delay)
        if proc.poll() is not None:
            outcome = "ended-before-kill"
        else:
            proc.send_signal(signal.SIGKILL)
    finally:
        try:
            _out, rest = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _out, rest = proc.communicate()
    if outcome != "killed" and proc.returncode not in (0, -signal.SIGKILL) and mode != "startup":
        return f"submit ({mode}) ended with {proc.returncode} before its kill: {(rest or '')[-400:]}"
    return ""


def _run_trial(index: int, root: Path, sim, project: Path) -> Trial:
    rng = random.Random(BASE_SEED + index)
    trial = Trial(index)
    key = f"trial{index:04d}:crash-trial-secret-{index:04d}"
    env = cli_env(root, sim.url, key)

    kinds = [_kill_mode(rng) for _ in range(VICTIMS_PER_TRIAL)]
    # From spawn, start-up takes about a second; after the job appeared, the job is done within about one.
    modes = [(kind, rng.uniform(0.0, 1.5 if kind == "startup" else 0.8)) for kind in kinds]
    results: list[str] = [""] * len(modes)

    def victim(i: int) -> None:
        results[i] = _victim(project, env, *modes[i])

    threads = [threading.Thread(target=victim, args=(i,)) for i in range(len(modes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    trial.problems += [r for r in results if r]
    for row in job_rows(root / "data"):
        trial.killed_in[row["state"]] += 1

    resume_started = time.time()
    if rng.random() < RESUME_KILL_CHANCE:
        trial.resume_killed = True
        proc = start_cli("resume", "--timeout", str(RESUME_TIMEOUT), env=env)
        try:
            proc.wait(timeout=rng.uniform(0.3, 2.5))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    resumed = run_cli("resume", "--timeout", str(RESUME_TIMEOUT), env=env, timeout=RESUME_TIMEOUT + 60)

    rows = job_rows(root / "data")
    trial.jobs = len(rows)
    auth = f"Key {key}"
    mine = [r for r in sim.request_log() if _header(r.headers, "authorization") == auth]
    posts = [r for r in mine if r.method == "POST" and r.model_id is not None]
    trial.posts = len(posts)
    late_posts = [r for r in posts if r.time >= resume_started]
    trial.duplicate_posts = len(late_posts) + max(0, len(posts) - VICTIMS_PER_TRIAL)

    ran_at_fal = {r.request_id for r in posts if r.status == 200 and r.request_id}
    tracked = set()
    for row in rows:
        state = row["state"]
        if state == "downloaded":
            output = Path(row["output_path"])
            if not output.is_file() or output.stat().st_size != row["file_size"]:
                trial.bad_outputs.append(f"{row['id']}: {output} incomplete")
            elif not output.with_suffix(".json").is_file():
                trial.bad_outputs.append(f"{row['id']}: no sidecar")
            else:
                trial.downloaded += 1
                tracked.add(row["request_id"])
        elif state == "maybe_submitted":
            trial.parked += 1
            if "fal.ai/dashboard" not in resumed.stderr:
                trial.problems.append(f"{row['id']} parked but resume did not tell the user where to look")
        else:
            trial.unfinished.append(f"{row['id']}: {state} ({row['error_message']})")
    untracked = ran_at_fal - tracked
    trial.lost = max(0, len(untracked) - trial.parked) + sum(
        1 for row in rows if row["request_id"] and row["state"] != "downloaded"
    )
    trial.partial_files = [str(p) for p in leftovers(root / "data")]
    if resumed.returncode != 0:
        trial.problems.append(f"resume exited {resumed.returncode}: {resumed.stderr[-500:]}")
    return trial


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


@pytest.mark.slow
def test_crash_trials_lose_no_result_send_no_second_post_and_leave_no_partial_file(
    tmp_path, make_simulator, trial_count, figures
):
    # Slow enough that kills land while queued, running and downloading; some downloads trickle (slow-loris).
    sim = make_simulator(speed=20, concurrency=8, faults=f"slow@download:0.3,seed={BASE_SEED}")
    project = write_project(tmp_path / "crash-trial.klingproj")
    started = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        trials = list(
            pool.map(lambda i: _run_trial(i, tmp_path / f"trial-{i:04d}", sim, project), range(trial_count))
        )
    elapsed = time.monotonic() - started

    killed_in: Counter = Counter()
    for trial in trials:
        killed_in.update(trial.killed_in)
    totals = {
        "trials": len(trials),
        "jobs": sum(t.jobs for t in trials),
        "downloaded": sum(t.downloaded for t in trials),
        "parked_maybe_submitted": sum(t.parked for t in trials),
        "results_lost": sum(t.lost for t in trials),
        "duplicate_posts": sum(t.duplicate_posts for t in trials),
        "partial_files_left": sum(len(t.partial_files) for t in trials),
        "resumes_also_killed": sum(t.resume_killed for t in trials),
        "seconds": round(elapsed, 1),
    }
    figures.record("crash trials", **totals, states_at_kill=dict(sorted(killed_in.items())))

    failures = [
        f"trial {t.index}: lost={t.lost} dup={t.duplicate_posts} partial={t.partial_files} "
        f"bad={t.bad_outputs} unfinished={t.unfinished} problems={t.problems}"
        for t in trials
        if t.lost or t.duplicate_posts or t.partial_files or t.bad_outputs or t.unfinished or t.problems
    ]
    assert not failures, "\n".join(failures)
    assert totals["jobs"] > 0 and totals["downloaded"] > 0 and totals["parked_maybe_submitted"] > 0

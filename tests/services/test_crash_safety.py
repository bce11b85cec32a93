"""SIGKILL the CLI at each boundary of a paid job; `kling-studio resume` must finish or truthfully park it,
and fal (the simulator) must never see a second POST."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from runner_helpers import TEST_KEY, multi_shot_project

from kling_studio.core.limits import Tier
from kling_studio.core.project_file import save_project

HOLD_ENV = "KLING_STUDIO_HOLD_AT"


def _env(tmp_path: Path, sim_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != HOLD_ENV}
    env.update(
        KLING_STUDIO_DATA_DIR=str(tmp_path / "data"),
        KLING_STUDIO_CONFIG_DIR=str(tmp_path / "config"),
        KLING_STUDIO_QUEUE_URL=sim_url,
        FAL_KEY=TEST_KEY,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def _project_file(tmp_path: Path) -> Path:
    path = tmp_path / "spot.klingproj"
    save_project(multi_shot_project((1, 1, 1), tier=Tier.PRO), path)
    return path


def _cli(*args: str, env: dict[str, str], timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kling_studio", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def _start_submit(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kling_studio", "submit", str(_project_file(tmp_path)), "--yes"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_when(proc: subprocess.Popen[str], ready, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            return
        if proc.poll() is not None:
            raise AssertionError(f"the CLI ended before the boundary: {proc.stderr.read()}")
        time.sleep(0.02)
    proc.kill()
    raise AssertionError("the boundary was never reached")


def _kill_at_hold(proc: subprocess.Popen[str], name: str) -> None:
    line = ""
    deadline = time.monotonic() + 60
    while not line.startswith(f"HOLD {name}") and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            raise AssertionError(f"the CLI ended before {name}")
    _kill_when(proc, lambda: True)


def _jobs(tmp_path: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(tmp_path / "data" / "jobs.sqlite3")
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM jobs").fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("boundary", ["before-post", "after-post"])
def test_a_kill_while_sending_parks_the_job_as_maybe_submitted_and_never_resends(tmp_path, make_simulator, boundary):
    sim = make_simulator()
    proc = _start_submit(tmp_path, _env(tmp_path, sim.url, **{HOLD_ENV: boundary}))
    _kill_at_hold(proc, boundary)
    posts_before = sim.submits_for()
    assert posts_before == (0 if boundary == "before-post" else 1)

    result = _cli("resume", env=_env(tmp_path, sim.url))

    assert result.returncode == 0, result.stderr
    [job] = _jobs(tmp_path)
    assert job["state"] == "maybe_submitted"
    assert "fal.ai/dashboard" in result.stderr
    assert sim.submits_for() == posts_before  # no second POST, ever


def test_a_kill_while_queued_is_resumed_to_a_downloaded_file(tmp_path, make_simulator):
    sim = make_simulator()
    proc = _start_submit(tmp_path, _env(tmp_path, sim.url, **{HOLD_ENV: "queued"}))
    _kill_at_hold(proc, "queued")

    result = _cli("resume", env=_env(tmp_path, sim.url))

    assert result.returncode == 0, result.stderr
    [job] = _jobs(tmp_path)
    assert job["state"] == "downloaded"
    assert Path(job["output_path"]).stat().st_size == job["file_size"]
    assert Path(result.stdout.strip()) == Path(job["output_path"])
    assert sim.submits_for() == 1


def test_a_kill_mid_download_resumes_with_a_range_request(tmp_path, make_simulator):
    sim = make_simulator(faults="slow@download*1")
    proc = _start_submit(tmp_path, _env(tmp_path, sim.url))
    outputs = tmp_path / "data" / "outputs"
    _kill_when(proc, lambda: any(p.stat().st_size > 0 for p in outputs.rglob("*.part")))

    result = _cli("resume", env=_env(tmp_path, sim.url), timeout=120)

    assert result.returncode == 0, result.stderr
    [job] = _jobs(tmp_path)
    assert job["state"] == "downloaded"
    assert not list(outputs.rglob("*.part"))
    file_requests = [r for r in sim.request_log() if r.path.startswith("/files/") and r.method == "GET"]
    assert any(r.range and r.range.startswith("bytes=") and r.range != "bytes=0-" for r in file_requests)
    assert sim.submits_for() == 1

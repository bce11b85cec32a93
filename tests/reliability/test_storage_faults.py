"""Storage faults: a full disk mid-download, a read-only data folder, a damaged database, a project file
replaced while it is saved, and a clock that jumps. Each must give a clear message and destroy nothing that
was already safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from reliability_helpers import (
    SimulatorProcess,
    cli_env,
    job_rows,
    leftovers,
    run_cli,
    short_project,
    write_project,
)

from kling_studio.core.limits import Mode, Tier
from kling_studio.core.project import Project
from kling_studio.core.project_file import ProjectFileError, load_project, project_to_dict, save_project
from kling_studio.core.settings import Settings, SettingsValues
from kling_studio.core.storyboard import Shot, Storyboard
from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import JobState, NewJob
from kling_studio.services.ledger import BudgetExceededError, BudgetPolicy

KEY = "storageid:storage-secret-0000"
# Big enough that the video (15 s with sound, ~0.4 MB as a preview) cannot fit, small enough for the database.
FILE_SIZE_LIMIT = 200_000


def _figures(figures, case: str) -> None:
    figures.add("storage faults", "cases_with_clear_message_and_data_intact")
    cases = figures.sections.get("storage faults", {}).get("cases", "")
    figures.record("storage faults", cases=f"{cases}; {case}" if cases else case)


# ---- a full disk during a download ----------------------------------------------------------------------


def _limited_file_size() -> None:
    # SIGXFSZ would kill the process; ignored, the write fails with EFBIG like a full disk fails with ENOSPC.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


def _loud_project() -> Project:
    shots = [Shot(f"shot {i}: surf rolling onto a pebble beach, handheld", 5) for i in (1, 2, 3)]
    return Project(
        name="Disk full",
        storyboard=Storyboard(mode=Mode.MULTI, shots=shots),
        settings=Settings(SettingsValues(tier=Tier.STANDARD, generate_audio=True)),
    )


@pytest.mark.slow
def test_a_full_disk_mid_download_keeps_the_part_file_says_so_and_a_later_resume_finishes(tmp_path, figures):
    sim = SimulatorProcess(speed=200, work_dir=tmp_path / "renders")
    try:
        env = cli_env(tmp_path, sim.url, KEY)
        project = write_project(tmp_path / "loud.kproj", _loud_project())
        submitted = run_cli("submit", str(project), "--yes", "--detach", env=env)
        assert submitted.returncode == 0, submitted.stderr
        [row] = job_rows(tmp_path / "data")
        deadline = time.monotonic() + 60
        while sim.snapshot(row["request_id"]).state != "COMPLETED" and time.monotonic() < deadline:
            time.sleep(0.1)

        full = run_cli("resume", env=env, preexec_fn=_limited_file_size, timeout=90)

        assert full.returncode != 0
        assert "is full" in full.stderr and "Free some space" in full.stderr, full.stderr
        assert "Traceback" not in full.stderr
        [row] = job_rows(tmp_path / "data")
        assert row["state"] in ("completed", "downloading")  # paid, not lost, waiting for room
        [part] = list((tmp_path / "data" / "outputs").rglob("*.mp4.part"))
        assert 0 < part.stat().st_size <= FILE_SIZE_LIMIT

        again = run_cli("resume", env=env, timeout=90)

        assert again.returncode == 0, again.stderr
        [row] = job_rows(tmp_path / "data")
        assert row["state"] == "downloaded"
        output = Path(row["output_path"])
        assert output.stat().st_size == row["file_size"] > FILE_SIZE_LIMIT
        assert not leftovers(tmp_path / "data")
        ranges = [r.range for r in sim.request_log() if r.path.startswith("/files/") and r.range]
        assert any(r != "bytes=0-" for r in ranges), "the second resume started over instead of resuming"
    finally:
        sim.stop()
    _figures(figures, "disk full")


# ---- a read-only data folder ------------------------------------------------------------------------------


@contextlib.contextmanager
def _read_only(folder: Path) -> Iterator[None]:
    """Make ``folder`` read-only: a read-only bind mount as root (root ignores permissions), chmod otherwise."""
    if os.geteuid() != 0:
        mode = folder.stat().st_mode
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(mode)
        return
    mounted = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot make a read-only mount here: {mounted.stderr.decode().strip()}")
    try:
        remount = subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], capture_output=True)
        if remount.returncode != 0:
            pytest.skip(f"cannot remount read-only here: {remount.stderr.decode().strip()}")
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def _job_spec(name: str = "Safe job", cost: str = "0.50") -> NewJob:
    return NewJob(
        project_name=name,
        model_id="fal-ai/kling-video/v3/pro/text-to-video",
        tier="pro",
        input={"prompt": "a lighthouse", "duration": "3"},
        estimated_cost=Decimal(cost),
    )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_read_only_data_folder_is_named_with_the_fix_and_the_database_is_untouched(tmp_path, figures):
    data = tmp_path / "data"
    with JobStore(data / "jobs.sqlite3") as store:
        job = store.create_submitting(_job_spec())
        store.mark_submitted(job.id, {"request_id": "req-1", "status_url": "http://x/s"})
    before = _digest(data / "jobs.sqlite3")
    env = cli_env(tmp_path, "http://127.0.0.1:9", KEY)
    project = write_project(tmp_path / "p.kproj")

    with _read_only(data):
        listed = run_cli("jobs", env=env)
        submitted = run_cli("submit", str(project), "--yes", env=env)

    for result in (listed, submitted):
        assert result.returncode == 2, result.stderr
        assert str(data) in result.stderr and "read-only" in result.stderr
        assert "KLING_STUDIO_DATA_DIR" in result.stderr and "Traceback" not in result.stderr
    assert _digest(data / "jobs.sqlite3") == before
    assert [r["id"] for r in job_rows(data)] == [job.id]
    _figures(figures, "read-only data folder")


# ---- a damaged database -------------------------------------------------------------------------------------


def _overwrite_header(path: Path) -> None:
    with path.open("r+b") as file:
        file.write(b"this is not sqlite, it was overwritten by a broken sync tool" * 2)


def _truncate_half(path: Path) -> None:
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)


@pytest.mark.parametrize("damage", [_overwrite_header, _truncate_half], ids=["garbage-header", "truncated"])
def test_a_damaged_database_is_moved_aside_untouched_and_a_fresh_one_is_started(tmp_path, figures, damage):
    data = tmp_path / "data"
    with JobStore(data / "jobs.sqlite3") as store:
        for n in range(40):  # enough rows that the file spans many pages
            store.create_submitting(_job_spec(f"Project {n} " + "x" * 200))
    db = data / "jobs.sqlite3"
    damage(db)
    damaged_bytes = db.read_bytes()
    env = cli_env(tmp_path, "http://127.0.0.1:9", KEY)

    first = run_cli("jobs", env=env)

    assert first.returncode == 2, (first.returncode, first.stderr)
    assert "damaged" in first.stderr and "moved, untouched, to" in first.stderr, first.stderr
    assert "Traceback" not in first.stderr
    [kept] = [p for p in data.glob("jobs.sqlite3.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
    assert str(kept) in first.stderr
    assert kept.read_bytes() == damaged_bytes  # kept aside exactly as found, never overwritten

    second = run_cli("jobs", "--json", env=env)

    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "[]"
    assert kept.read_bytes() == damaged_bytes
    _figures(figures, f"damaged database ({damage.__name__.strip('_').replace('_', ' ')})")


# ---- a project file replaced while it is saved ---------------------------------------------------------


def test_a_project_file_replaced_during_saves_is_always_whole_and_no_temp_file_is_left(tmp_path, figures):
    path = tmp_path / "spot.kproj"
    ours = short_project("Ours", seconds=(2, 2, 2))
    theirs = short_project("Theirs (a sync tool's copy)", seconds=(3, 3))
    expected = {p.name: project_to_dict(p) for p in (ours, theirs)}
    save_project(ours, path)
    stop = threading.Event()
    seen: list[str] = []
    broken: list[str] = []

    def replace_it() -> None:  # another program swaps in its own complete copy, over and over
        staged = tmp_path / "incoming.kproj"
        while not stop.is_set():
            save_project(theirs, staged)
            os.replace(staged, path)

    def read_it() -> None:
        while not stop.is_set():
            try:
                project = load_project(path)
            except ProjectFileError as exc:
                broken.append(str(exc))
                continue
            seen.append(project.name)
            if project_to_dict(project) != expected[project.name]:
                broken.append(f"a mixed file: {project.name}")

    threads = [threading.Thread(target=replace_it), threading.Thread(target=read_it)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(150):
            save_project(ours, path)
    finally:
        stop.set()
        for thread in threads:
            thread.join()

    assert not broken, broken[:3]
    assert {"Ours", "Theirs (a sync tool's copy)"} >= set(seen) and seen
    assert project_to_dict(load_project(path)) in expected.values()
    assert not leftovers(tmp_path)
    _figures(figures, "project replaced mid-save")


def test_saving_over_a_project_replaced_by_a_folder_fails_plainly_and_leaves_no_temp_file(tmp_path, figures):
    path = tmp_path / "spot.kproj"
    save_project(short_project("Ours"), path)
    backup = path.read_bytes()
    path.unlink()
    path.mkdir()  # replaced by a folder (a bad merge, a sync conflict)
    (path / "keep.txt").write_text("someone's data")

    with pytest.raises(ProjectFileError) as refused:
        save_project(short_project("Ours, edited"), path)

    assert str(path) in str(refused.value) and "Cannot save" in str(refused.value)
    assert (path / "keep.txt").read_text() == "someone's data"
    assert not leftovers(tmp_path)
    shutil.rmtree(path)
    path.write_bytes(backup)
    assert load_project(path).name == "Ours"
    _figures(figures, "project replaced by a folder")


# ---- the clock jumps ------------------------------------------------------------------------------------------


class _Clock:
    """A wall clock a test can move (NTP corrections, a laptop waking in another time zone)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def test_a_clock_jumping_back_or_forward_loses_no_job_and_no_spend_and_budgets_still_hold(tmp_path, figures):
    clock = _Clock(datetime(2026, 11, 22, 15, 0).astimezone())
    with JobStore(tmp_path / "jobs.sqlite3", clock=clock) as store:
        store.ledger.set_budget(BudgetPolicy(daily=Decimal("1.00")))
        first = store.create_submitting(_job_spec(cost="0.50"))
        clock.now -= timedelta(hours=2)  # NTP pulls the clock back, same day
        store.mark_submitted(first.id, {"request_id": "req-1", "status_url": "http://x/s"})
        second = store.create_submitting(_job_spec(cost="0.50"))
        with pytest.raises(BudgetExceededError) as refused:
            store.create_submitting(_job_spec(cost="0.50"))
        assert "1.00" in str(refused.value)
        clock.now += timedelta(days=3)  # the laptop wakes up days later
        store.update_progress(first.id, state=JobState.COMPLETED)
        store.mark_downloaded(first.id, tmp_path / "first.mp4", file_size=10)
        store.mark_submitted(second.id, {"request_id": "req-2", "status_url": "http://x/s"})

        assert store.get(first.id).state is JobState.DOWNLOADED
        assert store.get(second.id).state is JobState.QUEUED
        assert [j.id for j in store.unfinished()] == [second.id]
        assert sum(e.amount for e in store.ledger.entries()) == Decimal("1.00")  # nothing lost, nothing doubled
        assert store.ledger.spend_this_month() == Decimal("1.00")
    _figures(figures, "clock jump")


def test_after_the_clock_jumps_back_a_day_a_stale_submitting_job_is_still_parked(tmp_path, figures):
    """A row left ``submitting`` by a process that is alive but no longer sending (a reused pid) must not
    look "just created" for a day because the clock went back."""
    clock = _Clock(datetime(2026, 11, 22, 15, 0).astimezone())
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        with JobStore(tmp_path / "jobs.sqlite3", clock=clock) as store:
            job = store.create_submitting(_job_spec())
            with store.transaction() as conn:  # as if another, still-living process had written it
                conn.execute("UPDATE jobs SET owner_pid = ? WHERE id = ?", (sleeper.pid, job.id))
        clock.now -= timedelta(days=1)
        clock.now += timedelta(minutes=30)
        with JobStore(tmp_path / "jobs.sqlite3", clock=clock) as restarted:
            restarted.recover_after_crash()
            assert restarted.get(job.id).state is JobState.MAYBE_SUBMITTED
    finally:
        sleeper.kill()
        sleeper.wait()
    _figures(figures, "clock jump back with a stale submit")


# ---- closing the database while a worker thread still uses it -------------------------------------------------

_CLOSE_RACE = """
import sys, tempfile, threading, time
from decimal import Decimal
from pathlib import Path
from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import NewJob

store = JobStore(Path(sys.argv[1]) / "jobs.sqlite3")
spec = NewJob(project_name="p", model_id="fal-ai/kling-video/v3/pro/text-to-video", tier="pro", input={},
              estimated_cost=Decimal("1"))
job = store.create_submitting(spec)
stop = threading.Event()

def work():
    n = 0
    while not stop.is_set():
        store.update_progress(job.id, queue_position=n % 5)
        n += 1

threads = [threading.Thread(target=work) for _ in range(3)]
for thread in threads:
    thread.start()
for _ in range(200):
    store.close()  # what a runner closed mid-call does: its to_thread worker is still writing
    time.sleep(0.002)
stop.set()
for thread in threads:
    thread.join()
store.close()
print(store.get(job.id).queue_position is not None)
"""


def test_closing_the_store_while_worker_threads_write_neither_crashes_nor_loses_the_row(tmp_path, figures):
    # In a subprocess: before the fix, sqlite3 segfaulted (a connection closed under another thread).
    result = subprocess.run(
        [sys.executable, "-c", _CLOSE_RACE, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert result.stdout.strip() == "True"
    _figures(figures, "database closed mid-call")

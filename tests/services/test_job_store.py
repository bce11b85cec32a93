"""The job store keeps every paid job on disk: through its whole life, across processes and across crashes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from kling_studio.services.job_store import DatabaseDamagedError, JobStore, list_sql
from kling_studio.services.jobs import (
    ALLOWED_TRANSITIONS,
    AmbiguousJobIdError,
    ChargeStatus,
    IllegalTransitionError,
    JobError,
    JobNotFoundError,
    JobState,
    JobStoreError,
    NewJob,
)
from kling_studio.services.ledger import BudgetExceededError, BudgetPolicy
from kling_studio.services.migrations import SCHEMA_VERSION, NewerDatabaseError

MODEL_4K = "fal-ai/kling-video/v3/4k/text-to-video"
RECEIPT = {
    "status": "IN_QUEUE",
    "request_id": "req-0001",
    "status_url": "https://queue.fal.run/fal-ai/kling-video/requests/req-0001/status",
    "response_url": "https://queue.fal.run/fal-ai/kling-video/requests/req-0001",
    "cancel_url": "https://queue.fal.run/fal-ai/kling-video/requests/req-0001/cancel",
    "queue_position": 2,
}
REPO_ROOT = Path(__file__).resolve().parents[2]


def new_job(cost: str = "2.10", project: str = "Night Market", **overrides: object) -> NewJob:
    fields: dict[str, object] = {
        "project_name": project,
        "model_id": MODEL_4K,
        "tier": "4k",
        "input": {
            "prompt": "a lantern-lit night market, slow dolly",
            "duration": "5",
            "generate_audio": True,
        },
        "estimated_cost": Decimal(cost),
    }
    fields.update(overrides)
    return NewJob(**fields)  # type: ignore[arg-type]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "jobs.sqlite3"


@pytest.fixture
def store(db_path: Path):
    with JobStore(db_path) as opened:
        yield opened


def run_child(code: str, *, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run Python code in a fresh process (the CLI and the app are separate processes)."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"child failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


# --- a job's life -------------------------------------------------------------------------------------------


def test_a_job_keeps_everything_from_submit_to_download(store: JobStore, tmp_path: Path) -> None:
    spec = new_job(project="Café Night #2", project_path=tmp_path / "cafe.kling")
    job = store.create_submitting(spec)
    assert job.state is JobState.SUBMITTING
    assert job.request_id is None
    assert job.input == spec.input
    assert job.estimated_cost == Decimal("2.10")
    assert job.project_slug == "cafe-night-2"
    assert job.project_path == tmp_path / "cafe.kling"
    assert job.charge is ChargeStatus.RESERVED
    assert len(job.id) == 8 and all(c in "0123456789abcdef" for c in job.id)
    assert job.created_at.tzinfo is not None

    job = store.mark_submitted(job.id, RECEIPT)
    assert (job.state, job.request_id, job.queue_position) == (JobState.QUEUED, "req-0001", 2)
    assert job.status_url == RECEIPT["status_url"]
    assert job.response_url == RECEIPT["response_url"]
    assert job.cancel_url == RECEIPT["cancel_url"]
    assert job.submitted_at is not None

    job = store.update_progress(job.id, queue_position=0)
    assert job.queue_position == 0
    logs = [{"message": "Rendering shot 1", "level": "INFO", "source": "user", "timestamp": "t"}]
    job = store.update_progress(job.id, state=JobState.RUNNING, logs=logs)
    assert (job.state, job.queue_position, job.logs) == (JobState.RUNNING, None, tuple(logs))

    url = "https://v3.fal.media/files/output.mp4"
    job = store.mark_completed(job.id, video_url=url, file_size=8_062_911)
    assert (job.state, job.video_url, job.file_size) == (JobState.COMPLETED, url, 8_062_911)
    assert job.completed_at is not None and job.charge is ChargeStatus.CHARGED

    job = store.update_progress(job.id, state=JobState.DOWNLOADING, bytes_downloaded=1_000_000)
    assert job.bytes_downloaded == 1_000_000
    output = tmp_path / "outputs" / "cafe-night-2" / f"{job.id}.mp4"
    job = store.mark_downloaded(job.id, output, file_size=8_062_911)
    assert (job.state, job.output_path, job.bytes_downloaded) == (JobState.DOWNLOADED, output, 8_062_911)
    assert job.downloaded_at is not None and job.downloaded_at >= job.completed_at
    assert job.is_terminal


def test_the_input_sent_is_kept_exactly(store: JobStore) -> None:
    payload = {
        "multi_prompt": [
            {"prompt": "食べ物の屋台 — steam", "duration": "3"},
            {"prompt": "close-up", "duration": "2"},
        ],
        "duration": "5",
        "cfg_scale": 0.5,
    }
    job = store.create_submitting(new_job(input=payload))
    assert json.loads(store.get(job.id).input_json) == payload
    assert "食べ物の屋台" in store.get(job.id).input_json


def test_logs_are_bounded(store: JobStore) -> None:
    job = store.mark_submitted(store.create_submitting(new_job()).id, RECEIPT)
    logs = [{"message": f"line {i}" + "x" * (5000 if i == 499 else 0)} for i in range(500)]
    job = store.update_progress(job.id, state=JobState.RUNNING, logs=logs)
    assert len(job.logs) == 200
    assert job.logs[0]["message"] == "line 300"
    assert len(job.logs[-1]["message"]) <= 2000


def test_a_failed_download_goes_back_to_completed_and_keeps_the_paid_result(store: JobStore) -> None:
    job = store.mark_submitted(store.create_submitting(new_job()).id, RECEIPT)
    store.mark_completed(job.id, video_url="https://v3.fal.media/x.mp4", file_size=100)
    store.update_progress(job.id, state=JobState.DOWNLOADING, bytes_downloaded=40)
    job = store.update_progress(
        job.id, state=JobState.COMPLETED, error=JobError("network", "The connection dropped; retrying.")
    )
    assert job.state is JobState.COMPLETED
    assert job.error == JobError("network", "The connection dropped; retrying.")
    assert job.bytes_downloaded == 40
    assert job in store.unfinished()


# --- the state machine --------------------------------------------------------------------------------------


@pytest.mark.parametrize("terminal", [s for s in JobState if not ALLOWED_TRANSITIONS[s]])
def test_terminal_states_are_terminal(store: JobStore, terminal: JobState) -> None:
    job = store.mark_submitted(store.create_submitting(new_job()).id, RECEIPT)
    if terminal is JobState.DOWNLOADED:
        store.mark_completed(job.id)
        store.mark_downloaded(job.id, Path("/tmp/out.mp4"), file_size=1)
    elif terminal is JobState.FAILED:
        store.mark_failed(job.id, "server", "fal is down", charged=False)
    elif terminal is JobState.CANCELLED:
        store.mark_cancelled(job.id)
    elif terminal is JobState.EXPIRED:
        store.mark_expired(job.id, "fal no longer holds the result")
    assert store.get(job.id).state is terminal
    for target in JobState:
        with pytest.raises(IllegalTransitionError) as caught:
            store.update_progress(job.id, state=target)
        assert job.id in str(caught.value)
    with pytest.raises(JobStoreError):
        store.update_progress(job.id, bytes_downloaded=5)
    assert store.get(job.id).state is terminal


def test_a_downloaded_job_cannot_go_back_to_running(store: JobStore) -> None:
    job = store.mark_submitted(store.create_submitting(new_job()).id, RECEIPT)
    store.mark_completed(job.id)
    store.mark_downloaded(job.id, Path("/tmp/out.mp4"), file_size=1)
    with pytest.raises(IllegalTransitionError, match="it cannot become running") as caught:
        store.update_progress(job.id, state=JobState.RUNNING)
    assert caught.value.current is JobState.DOWNLOADED
    assert store.get(job.id).state is JobState.DOWNLOADED


def test_illegal_moves_are_refused_and_change_nothing(store: JobStore) -> None:
    job = store.create_submitting(new_job())
    with pytest.raises(IllegalTransitionError):
        store.update_progress(job.id, state=JobState.DOWNLOADED)
    with pytest.raises(IllegalTransitionError):
        store.update_progress(job.id, state=JobState.EXPIRED)
    after = store.get(job.id)
    assert after.state is JobState.SUBMITTING
    assert after.change_seq == job.change_seq


def test_every_state_can_be_reached_only_through_the_table(store: JobStore) -> None:
    reachable = {JobState.SUBMITTING}
    frontier = [JobState.SUBMITTING]
    while frontier:
        for nxt in ALLOWED_TRANSITIONS[frontier.pop()]:
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    assert reachable == set(JobState)


# --- durability and crashes ---------------------------------------------------------------------------------


def test_a_row_is_on_disk_when_the_call_returns(db_path: Path) -> None:
    """A process that is killed right after create_submitting returns leaves the row behind."""
    child = run_child(
        f"""
        import os, signal
        from decimal import Decimal
        from pathlib import Path
        from kling_studio.services.job_store import JobStore
        from kling_studio.services.jobs import NewJob
        store = JobStore(Path({str(db_path)!r}))
        job = store.create_submitting(NewJob("Crash", {MODEL_4K!r}, "4k", {{"prompt": "p"}}, Decimal("6.30")))
        print(job.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL
    job_id = child.stdout.strip()
    with sqlite3.connect(db_path) as raw:  # a plain second connection, not our store
        row = raw.execute("SELECT state, estimated_cost FROM jobs WHERE id = ?", (job_id,)).fetchone()
        spend = raw.execute("SELECT amount, status FROM spend WHERE job_id = ?", (job_id,)).fetchone()
    assert row == ("submitting", "6.30")
    assert spend == ("6.30", "reserved")


def test_writes_are_synchronous_full_in_wal_mode(store: JobStore) -> None:
    with store.snapshot() as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_after_a_crash_mid_submit_the_job_is_maybe_submitted_and_never_resumed(db_path: Path) -> None:
    child = run_child(
        f"""
        import os, signal
        from decimal import Decimal
        from pathlib import Path
        from kling_studio.services.job_store import JobStore
        from kling_studio.services.jobs import NewJob
        store = JobStore(Path({str(db_path)!r}))
        def spec(prompt):
            return NewJob("Crash", {MODEL_4K!r}, "4k", {{"prompt": prompt}}, Decimal("2.10"))
        sent = store.create_submitting(spec("a"))
        store.mark_submitted(sent.id, {RECEIPT!r})
        lost = store.create_submitting(spec("b"))
        print(sent.id, lost.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # the POST for `lost` may or may not have happened
        """,
        check=False,
    )
    sent_id, lost_id = child.stdout.split()
    with JobStore(db_path) as store:
        unfinished = store.recover_after_crash()
        assert [job.id for job in unfinished] == [sent_id]  # resume the one with a request id…
        lost = store.get(lost_id)
        assert lost.state is JobState.MAYBE_SUBMITTED  # …and never re-send the other
        assert lost.error is not None and "fal.ai/dashboard" in lost.error.message
        assert lost.charge is ChargeStatus.MAYBE_CHARGED
        assert lost.id not in {job.id for job in store.unfinished()}
        assert store.ledger.spend_today() == Decimal("4.20")  # may have been charged: still counted
        # Running recovery again changes nothing.
        assert [job.id for job in store.recover_after_crash()] == [sent_id]
        assert store.get(lost_id).change_seq == lost.change_seq


def test_recovery_leaves_alone_a_submit_still_in_flight(store: JobStore, db_path: Path) -> None:
    # The app is sending a job in another process while the CLI starts `resume`.
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    code = f"""
import sys
from decimal import Decimal
from pathlib import Path
from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import NewJob
store = JobStore(Path({str(db_path)!r}))
job = store.create_submitting(NewJob("App", {MODEL_4K!r}, "4k", {{"prompt": "p"}}, Decimal("2.10")))
print(job.id, flush=True)
sys.stdin.read()  # "POSTing" until the test closes stdin
"""
    app = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        app_job_id = app.stdout.readline().strip()  # type: ignore[union-attr]
        store.recover_after_crash()
        assert store.get(app_job_id).state is JobState.SUBMITTING
    finally:
        app.kill()
        app.wait(timeout=30)
    store.recover_after_crash()  # the app died mid-POST: now it may have been submitted
    assert store.get(app_job_id).state is JobState.MAYBE_SUBMITTED

    mine = store.create_submitting(new_job())  # this store is sending it right now
    store.recover_after_crash()
    assert store.get(mine.id).state is JobState.SUBMITTING
    assert store.mark_submitted(mine.id, RECEIPT).state is JobState.QUEUED


def test_a_job_marked_maybe_submitted_heals_when_its_request_id_arrives(
    store: JobStore, db_path: Path
) -> None:
    job = store.create_submitting(new_job())
    with JobStore(db_path) as restarted:
        restarted.recover_after_crash()  # another store instance: it cannot know this one is still sending
    assert store.get(job.id).state is JobState.MAYBE_SUBMITTED
    healed = store.mark_submitted(job.id, RECEIPT)
    assert (healed.state, healed.request_id, healed.error) == (JobState.QUEUED, "req-0001", None)
    assert healed.charge is ChargeStatus.RESERVED


def test_a_second_process_sees_every_change(store: JobStore, db_path: Path) -> None:
    job = store.mark_submitted(store.create_submitting(new_job()).id, RECEIPT)
    seen, seq = store.changed_since(0)
    assert [j.id for j in seen] == [job.id]
    child = run_child(
        f"""
        from pathlib import Path
        from kling_studio.services.job_store import JobStore
        from kling_studio.services.jobs import JobState
        with JobStore(Path({str(db_path)!r})) as store:
            store.update_progress({job.id!r}, state=JobState.RUNNING)
            print(store.get({job.id!r}).state)
        """
    )
    assert child.stdout.strip() == "running"
    changed, new_seq = store.changed_since(seq)
    assert [(j.id, j.state) for j in changed] == [(job.id, JobState.RUNNING)]
    assert new_seq > seq
    assert store.changed_since(new_seq) == ([], new_seq)


# --- damaged and foreign files ------------------------------------------------------------------------------


def test_a_garbage_file_is_moved_aside_intact_with_a_clear_error(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    garbage = b"this is not a database, it is a shopping list\n" * 200
    db_path.write_bytes(garbage)
    with pytest.raises(DatabaseDamagedError) as caught:
        JobStore(db_path)
    error = caught.value
    assert str(db_path) in str(error)
    assert error.moved_to is not None and error.moved_to.name.startswith("jobs.sqlite3.damaged-")
    assert error.moved_to.read_bytes() == garbage
    assert not db_path.exists()
    with JobStore(db_path) as fresh:  # the next start gets a new, empty database
        assert fresh.count() == 0


def test_a_truncated_database_is_moved_aside_not_overwritten(db_path: Path) -> None:
    with JobStore(db_path) as store, store.transaction():
        for i in range(400):
            store.create_submitting(new_job(input={"prompt": f"shot {i} " + "detail " * 60}))
    assert not Path(f"{db_path}-wal").exists() or Path(f"{db_path}-wal").stat().st_size == 0
    whole = db_path.read_bytes()
    truncated = whole[: len(whole) // 2]
    db_path.write_bytes(truncated)
    with pytest.raises(DatabaseDamagedError) as caught:
        JobStore(db_path)
    assert caught.value.moved_to is not None
    assert caught.value.moved_to.read_bytes() == truncated
    # A second damage the same second gets its own name: nothing is ever overwritten.
    db_path.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(DatabaseDamagedError) as again:
        JobStore(db_path)
    assert again.value.moved_to != caught.value.moved_to
    assert caught.value.moved_to.read_bytes() == truncated


def test_a_database_from_a_newer_version_is_refused_untouched(db_path: Path) -> None:
    JobStore(db_path).close()
    with sqlite3.connect(db_path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = db_path.read_bytes()
    with pytest.raises(NewerDatabaseError, match="newer Kling Studio"):
        JobStore(db_path)
    assert db_path.read_bytes() == before


def test_a_version_1_database_gains_job_references_and_keeps_its_jobs(db_path: Path) -> None:
    with JobStore(db_path) as store:
        old = store.create_submitting(new_job())
    with sqlite3.connect(db_path) as raw:  # back to schema 1, as an older Kling Studio left it
        raw.execute("ALTER TABLE jobs DROP COLUMN references_json")
        raw.execute("PRAGMA user_version = 1")
    with JobStore(db_path) as store:
        assert store.get(old.id).references == ()
        entry = {"sha256": "ab" * 32, "name": "Hero", "url": "https://x/ab.jpg", "used_as": ["start_frame"]}
        job = store.create_submitting(new_job(references=(entry,)))
        assert store.get(job.id).references == (entry,)


def test_the_budget_can_be_checked_without_recording_anything(store: JobStore) -> None:
    store.ledger.set_budget(BudgetPolicy(daily=Decimal("3.00")))
    store.check_budget(new_job("2.10"))
    store.create_submitting(new_job("2.10"))
    with pytest.raises(BudgetExceededError):
        store.check_budget(new_job("1.00"))
    assert len(store.list()) == 1


def test_several_processes_can_create_the_database_at_once(db_path: Path) -> None:
    code = f"""
        from pathlib import Path
        from kling_studio.services.job_store import JobStore
        JobStore(Path({str(db_path)!r})).close()
    """
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env) for _ in range(6)]
    assert [p.wait(timeout=60) for p in procs] == [0] * 6
    with JobStore(db_path) as store, store.snapshot() as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


# --- reading ------------------------------------------------------------------------------------------------


def test_jobs_are_found_by_id_or_unique_prefix(store: JobStore) -> None:
    job = store.create_submitting(new_job())
    assert store.get(job.id.upper()).id == job.id
    assert store.get(job.id[:6]).id == job.id
    with pytest.raises(JobNotFoundError, match="kling-studio jobs"):
        store.get("ffffffff" if job.id != "ffffffff" else "00000000")
    with pytest.raises(JobNotFoundError):
        store.get("ab")  # too short to be a prefix


def test_an_ambiguous_prefix_names_the_matches(store: JobStore, db_path: Path) -> None:
    first, second = (store.create_submitting(new_job()) for _ in range(2))
    with sqlite3.connect(db_path) as raw:  # give them ids that share a prefix
        raw.execute("PRAGMA foreign_keys = OFF")
        for job, new_id in ((first, "abcd0001"), (second, "abcd0002")):
            raw.execute("UPDATE jobs SET id = ? WHERE id = ?", (new_id, job.id))
            raw.execute("UPDATE spend SET job_id = ? WHERE job_id = ?", (new_id, job.id))
    with pytest.raises(AmbiguousJobIdError, match="abcd0001, abcd0002"):
        store.get("abcd")
    assert store.get("abcd0002").estimated_cost == Decimal("2.10")


def test_retry_links_to_the_original_and_counts_attempts(store: JobStore) -> None:
    first = store.create_submitting(new_job())
    store.mark_failed(first.id, "server", "503 runner_scheduling_failure", charged=False)
    second = store.create_submitting(new_job(origin_job_id=first.id))
    third = store.create_submitting(new_job(origin_job_id=second.id))
    assert (second.attempt, second.origin_job_id) == (2, first.id)
    assert third.attempt == 3


def test_listing_ten_thousand_jobs_uses_indexes(store: JobStore, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.perf_counter()
    with store.transaction():  # one commit for the fixture data; each call alone commits itself
        for i in range(10_000):
            job = store.create_submitting(new_job(project=f"Project {i % 7}"))
            if i % 3 == 0:
                store.mark_submitted(job.id, {**RECEIPT, "request_id": f"req-{i}"})
    created = time.perf_counter() - started
    last_seq = store.changed_since(0)[1]

    timings = {}
    for name, call in {
        "page 1": lambda: store.list(limit=50),
        "page 180": lambda: store.list(limit=50, offset=9000),
        "queued, page 1": lambda: store.list(states=[JobState.QUEUED], limit=50),
        "count queued": lambda: store.count(states=[JobState.QUEUED]),
        "unfinished": store.unfinished,
        "changed since (10 changes)": lambda: store.changed_since(last_seq - 10),
        "spend today": store.ledger.spend_today,
    }.items():
        t0 = time.perf_counter()
        result = call()
        timings[name] = (time.perf_counter() - t0) * 1000
        assert result is not None

    newest = store.list(limit=50)
    assert len(newest) == 50
    assert [j.created_at for j in newest] == sorted((j.created_at for j in newest), reverse=True)
    assert len(store.list(limit=50, offset=9_990)) == 10
    assert store.count() == 10_000
    assert store.count(states=[JobState.QUEUED]) == 3_334
    assert len(store.unfinished()) == 3_334
    assert store.ledger.spend_today() == Decimal("2.10") * 10_000

    with store.snapshot() as conn:
        for where, params in [("", ()), ("WHERE jobs.state IN (?)", ("queued",))]:
            plan = conn.execute(f"EXPLAIN QUERY PLAN {list_sql(where)} LIMIT 50", params).fetchall()
            details = [row["detail"] for row in plan]
            assert any("USING INDEX" in d or "USING COVERING INDEX" in d for d in details), details
            assert not any(d.startswith("SCAN jobs") and "INDEX" not in d for d in details), details
        day_plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT amount FROM spend WHERE local_day = ? AND simulated = 0", ("x",)
        ).fetchall()
        assert any("spend_day" in row["detail"] for row in day_plan)

    with capsys.disabled():
        shown = ", ".join(f"{name} {ms:.1f} ms" for name, ms in timings.items())
        print(f"\n10,000 jobs created in {created:.1f} s (one transaction); {shown}")


def test_budget_policy_none_means_the_saved_one(store: JobStore) -> None:
    store.ledger.set_budget(BudgetPolicy(daily=Decimal("3.00")))
    store.create_submitting(new_job("2.10"))
    with pytest.raises(BudgetExceededError):
        store.create_submitting(new_job("2.10"))
    assert store.create_submitting(new_job("2.10"), budget=BudgetPolicy()).state is JobState.SUBMITTING


def test_the_planted_key_never_reaches_the_database(
    store: JobStore, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole job's life with a key set leaves no trace of the key in the database files."""
    planted = "plantedid:PLANTED-SECRET-0001"
    monkeypatch.setenv("FAL_KEY", planted)
    job = store.create_submitting(new_job())
    store.mark_submitted(job.id, RECEIPT)
    store.update_progress(job.id, state=JobState.RUNNING, logs=[{"message": "Authorization accepted"}])
    store.mark_failed(job.id, "auth", "fal did not accept the key ending in 0001", charged=False)
    store.close()
    for path in db_path.parent.iterdir():
        assert planted.encode() not in path.read_bytes(), path
        assert b"PLANTED-SECRET" not in path.read_bytes(), path


def test_timestamps_are_utc_iso_text(store: JobStore, db_path: Path) -> None:
    job = store.create_submitting(new_job())
    with sqlite3.connect(db_path) as raw:
        (created,) = raw.execute("SELECT created_at FROM jobs WHERE id = ?", (job.id,)).fetchone()
    assert created.endswith("+00:00")
    assert datetime.fromisoformat(created).tzinfo == UTC

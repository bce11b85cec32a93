"""20 submits at once against a budget that fits 5: exactly 5 get through, from threads or from processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import JobState, NewJob
from kling_studio.services.ledger import BudgetExceededError, BudgetPolicy

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL = "fal-ai/kling-video/v3/4k/text-to-video"
SUBMITS = 20


def spec(project: str = "Race") -> NewJob:
    return NewJob(project, MODEL, "4k", {"prompt": "p", "duration": "5"}, Decimal("2.10"))


@pytest.mark.parametrize(
    "policy",
    [
        BudgetPolicy(daily=Decimal("10.50")),  # 5 × 2.10 exactly: the 5th fits, the 6th does not
        BudgetPolicy(monthly=Decimal("11.00")),
        BudgetPolicy(per_project={"Race": Decimal("12.00")}),
    ],
    ids=["daily", "monthly", "project"],
)
def test_twenty_threads_against_a_budget_for_five(tmp_path: Path, policy: BudgetPolicy) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    barrier = threading.Barrier(SUBMITS)
    accepted: list[str] = []
    refused: list[BudgetExceededError] = []
    unexpected: list[BaseException] = []

    def submit() -> None:
        barrier.wait()
        try:
            accepted.append(store.create_submitting(spec(), budget=policy).id)
        except BudgetExceededError as exc:
            refused.append(exc)
        except BaseException as exc:
            unexpected.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(SUBMITS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert unexpected == []
    assert len(accepted) == 5
    assert len(refused) == 15
    assert store.count() == 5
    assert store.count(states=[JobState.SUBMITTING]) == 5
    assert store.ledger.spend_today() == Decimal("10.50")
    assert all(exc.spent == Decimal("10.50") and exc.price == Decimal("2.10") for exc in refused)
    store.close()


def test_twenty_processes_against_a_budget_for_five(tmp_path: Path) -> None:
    db_path = tmp_path / "jobs.sqlite3"
    with JobStore(db_path) as store:
        store.ledger.set_budget(BudgetPolicy(daily=Decimal("10.50")))  # every process reads the saved policy
    go = tmp_path / "go"
    code = textwrap.dedent(
        f"""
        import sys, time
        from decimal import Decimal
        from pathlib import Path
        from kling_studio.services.job_store import JobStore
        from kling_studio.services.jobs import NewJob
        from kling_studio.services.ledger import BudgetExceededError
        store = JobStore(Path({str(db_path)!r}))
        print("ready", flush=True)
        go = Path({str(go)!r})
        while not go.exists():
            time.sleep(0.002)
        try:
            job = store.create_submitting(NewJob("Race", {MODEL!r}, "4k", {{"prompt": "p"}}, Decimal("2.10")))
        except BudgetExceededError as exc:
            print("refused", exc.spent, flush=True)
        else:
            print("accepted", job.id, flush=True)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for _ in range(SUBMITS)
    ]
    try:
        for proc in procs:  # all open and waiting before anyone submits
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        go.touch()
        outputs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    assert [proc.returncode for proc in procs] == [0] * SUBMITS, [err for _, err in outputs]
    verdicts = [out.split()[0] for out, _ in outputs]
    assert verdicts.count("accepted") == 5
    assert verdicts.count("refused") == 15
    with JobStore(db_path) as store:
        assert store.count() == 5
        assert store.ledger.spend_today() == Decimal("10.50")
        assert {out.split()[1] for out, _ in outputs if out.startswith("accepted")} == {
            job.id for job in store.list()
        }

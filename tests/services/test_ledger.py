"""The spend ledger: exact sums, refunds, simulated spend apart, local days and months, saved budgets."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from kling_studio.services.job_store import JobStore
from kling_studio.services.jobs import ChargeStatus, JobState, NewJob
from kling_studio.services.ledger import BudgetExceededError, BudgetPolicy, format_money

PACIFIC = timezone(timedelta(hours=-8), "PST")
RECEIPT = {"request_id": "req-1", "status_url": "s", "response_url": "r", "cancel_url": "c"}


class Clock:
    """A clock the test moves by hand, in the user's local zone."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 21, 12, 0, tzinfo=PACIFIC))


@pytest.fixture
def store(tmp_path: Path, clock: Clock):
    with JobStore(tmp_path / "jobs.sqlite3", clock=clock) as opened:
        yield opened


def submit(
    store: JobStore, cost: str, *, project: str = "Harbour", simulated: bool = False, budget=None
) -> str:
    spec = NewJob(
        project_name=project,
        model_id="fal-ai/kling-video/v3/pro/text-to-video",
        tier="pro",
        input={"prompt": "harbour at dawn"},
        estimated_cost=Decimal(cost),
        simulated=simulated,
    )
    return store.create_submitting(spec, budget=budget).id


def test_sums_are_exact_decimals(store: JobStore) -> None:
    # Prices per second × seconds, as the pricing table gives them: float sums would drift.
    for cost in ["0.56", "1.176", "2.10", "6.30", "0.1", "0.2", "0.084", "0.84"]:
        submit(store, cost)
    assert store.ledger.spend_today() == Decimal("11.360")
    assert str(store.ledger.spend_today()) == "11.360"
    assert 0.1 + 0.2 != 0.3  # the reason the ledger never uses float
    assert store.ledger.spend_this_month() == Decimal("11.360")
    assert store.ledger.spend_for_project("Harbour") == Decimal("11.360")
    assert store.ledger.spend_for_project("Elsewhere") == Decimal(0)


def test_refunds_maybe_charged_and_charged(store: JobStore) -> None:
    server_error = submit(store, "2.10")
    validation = submit(store, "6.30")
    ran = submit(store, "1.00")
    cancelled_in_queue = submit(store, "0.50")
    store.mark_failed(server_error, "server", "503 runner_scheduling_failure", charged=False)
    store.mark_failed(validation, "validation", "prompt: too long", charged=None)
    store.mark_submitted(ran, RECEIPT)
    store.mark_completed(ran)
    store.mark_submitted(cancelled_in_queue, RECEIPT)
    store.mark_cancelled(cancelled_in_queue, charged=False)

    assert store.get(server_error).charge is ChargeStatus.REFUNDED
    assert store.get(validation).charge is ChargeStatus.MAYBE_CHARGED
    assert store.get(ran).charge is ChargeStatus.CHARGED
    assert store.ledger.spend_today() == Decimal("7.30")  # 6.30 maybe + 1.00 charged
    assert store.ledger.spend_maybe_charged() == Decimal("6.30")
    entries = {e.job_id: e for e in store.ledger.entries()}
    assert entries[server_error].charge is ChargeStatus.REFUNDED
    assert entries[server_error].amount == Decimal("2.10")  # the line stays, visibly refunded


def test_a_refund_frees_the_budget(store: JobStore) -> None:
    policy = BudgetPolicy(daily=Decimal("3.00"))
    first = submit(store, "2.10", budget=policy)
    with pytest.raises(BudgetExceededError):
        submit(store, "2.10", budget=policy)
    store.mark_failed(first, "server", "500", charged=False)
    submit(store, "2.10", budget=policy)


def test_simulated_spend_is_apart_from_real_spend(store: JobStore) -> None:
    submit(store, "2.10")
    submit(store, "6.30", simulated=True)
    submit(store, "6.30", simulated=True)
    assert store.ledger.spend_today() == Decimal("2.10")
    assert store.ledger.spend_today(simulated=True) == Decimal("12.60")
    assert store.ledger.spend_this_month(simulated=True) == Decimal("12.60")
    assert store.ledger.spend_for_project("Harbour") == Decimal("2.10")
    assert store.get(store.list(limit=1)[0].id).simulated is True


def test_budgets_count_real_and_simulated_spend_separately(store: JobStore) -> None:
    policy = BudgetPolicy(daily=Decimal("5.00"))
    submit(store, "4.20", budget=policy)
    submit(store, "4.20", simulated=True, budget=policy)  # real spend does not block a rehearsal
    with pytest.raises(BudgetExceededError) as caught:
        submit(store, "2.10", simulated=True, budget=policy)
    assert caught.value.simulated is True
    assert "nothing is charged" in str(caught.value)
    with pytest.raises(BudgetExceededError) as real:
        submit(store, "2.10", budget=policy)
    assert real.value.spent == Decimal("4.20")


def test_the_day_is_the_users_local_day(store: JobStore, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 21, 23, 30, tzinfo=PACIFIC)  # 07:30 UTC on the 22nd
    submit(store, "2.10")
    assert store.ledger.spend_today() == Decimal("2.10")
    clock.now = datetime(2026, 11, 22, 0, 10, tzinfo=PACIFIC)  # local midnight has passed
    assert store.ledger.spend_today() == Decimal(0)
    assert store.ledger.spend_this_month() == Decimal("2.10")
    policy = BudgetPolicy(daily=Decimal("2.10"))
    submit(store, "2.10", budget=policy)  # a new day, a fresh daily budget
    assert store.ledger.entries()[0].local_day == "2026-11-22"
    assert store.ledger.entries()[1].local_day == "2026-11-21"


def test_the_month_is_the_users_local_month(store: JobStore, clock: Clock) -> None:
    policy = BudgetPolicy(monthly=Decimal("10.00"))
    clock.now = datetime(2026, 11, 30, 23, 59, tzinfo=PACIFIC)
    submit(store, "8.40", budget=policy)
    with pytest.raises(BudgetExceededError, match="this month"):
        submit(store, "2.10", budget=policy)
    clock.now = datetime(2026, 12, 1, 0, 1, tzinfo=PACIFIC)
    submit(store, "2.10", budget=policy)
    assert store.ledger.spend_this_month() == Decimal("2.10")


def test_a_project_budget_covers_only_that_project(store: JobStore) -> None:
    policy = BudgetPolicy(per_project={"Harbour": Decimal("5.00")})
    submit(store, "4.20", budget=policy)
    submit(store, "4.20", project="Desert", budget=policy)
    with pytest.raises(BudgetExceededError) as caught:
        submit(store, "1.00", budget=policy)
    assert caught.value.budget == "Harbour"
    assert "project 'Harbour'" in str(caught.value)


def test_the_refusal_names_the_budget_the_spend_the_limit_and_the_price(store: JobStore) -> None:
    policy = BudgetPolicy(daily=Decimal("10"))
    submit(store, "8.40", budget=policy)
    before = store.count()
    with pytest.raises(BudgetExceededError) as caught:
        submit(store, "2.10", budget=policy)
    message = str(caught.value)
    for part in ("daily budget", "$8.40", "$10.00", "$2.10", "Nothing was sent", "Settings"):
        assert part in message, part
    assert (caught.value.spent, caught.value.limit, caught.value.price) == (
        Decimal("8.40"),
        Decimal("10"),
        Decimal("2.10"),
    )
    assert store.count() == before  # nothing recorded for the refused job
    assert store.ledger.spend_today() == Decimal("8.40")


def test_the_budget_is_saved_in_the_database(tmp_path: Path) -> None:
    policy = BudgetPolicy(daily=Decimal("20"), monthly=Decimal("150.50"), per_project={"Ad": Decimal("30")})
    with JobStore(tmp_path / "jobs.sqlite3") as store:
        assert store.ledger.budget() == BudgetPolicy()
        store.ledger.set_budget(policy)
    with JobStore(tmp_path / "jobs.sqlite3") as reopened:
        assert reopened.ledger.budget() == policy
        reopened.ledger.set_budget(BudgetPolicy(monthly=Decimal("99")))
        assert reopened.ledger.budget() == BudgetPolicy(monthly=Decimal("99"))


def test_budgets_refuse_floats_and_negative_amounts() -> None:
    with pytest.raises(ValueError, match="daily budget"):
        BudgetPolicy(daily=10.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="zero or more"):
        BudgetPolicy(monthly=Decimal("-1"))
    assert BudgetPolicy(daily="7.5").daily == Decimal("7.5")  # type: ignore[arg-type]
    assert BudgetPolicy.from_json(BudgetPolicy(daily=Decimal("1.10")).to_json()).daily == Decimal("1.10")


def test_a_float_price_is_refused(store: JobStore) -> None:
    spec = NewJob("Harbour", "m", "pro", {}, 2.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="estimated cost"):
        store.create_submitting(spec)


def test_money_is_shown_in_dollars_and_keeps_sub_cent_digits() -> None:
    assert format_money(Decimal("2.1")) == "$2.10"
    assert format_money(Decimal("10")) == "$10.00"
    assert format_money(Decimal("0.336")) == "$0.336"
    assert format_money(Decimal("3"), "EUR") == "3.00 EUR"


def test_a_downloaded_job_stays_charged(store: JobStore, tmp_path: Path) -> None:
    job_id = submit(store, "2.10")
    store.mark_submitted(job_id, RECEIPT)
    store.update_progress(job_id, state=JobState.RUNNING)
    store.mark_completed(job_id)
    store.mark_downloaded(job_id, tmp_path / "x.mp4", file_size=10)
    assert store.get(job_id).charge is ChargeStatus.CHARGED
    assert store.ledger.spend_today() == Decimal("2.10")


def test_settling_follows_the_state_a_job_enters(store: JobStore) -> None:
    maybe = submit(store, "2.10")
    store.update_progress(maybe, state=JobState.MAYBE_SUBMITTED)  # the runner's "may have reached fal"
    expired = submit(store, "6.30")
    store.mark_submitted(expired, RECEIPT)
    store.mark_expired(expired, "fal no longer holds the result")
    assert store.get(maybe).charge is ChargeStatus.MAYBE_CHARGED
    assert store.get(expired).charge is ChargeStatus.CHARGED  # the generation ran; the result was lost
    assert store.ledger.spend_today() == Decimal("8.40")
    assert store.ledger.spend_maybe_charged() == Decimal("2.10")

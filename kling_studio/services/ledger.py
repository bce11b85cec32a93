"""The spend ledger and budgets: what each job cost, what was spent today / this month / per project.

Money is :class:`~decimal.Decimal` everywhere and TEXT in the database (sums are done in Python, exactly).

Decisions:
    * **Days and months are the user's local ones**, taken from the clock when a spend is recorded
      (``local_day`` / ``local_month`` columns). A daily budget means "my calendar day"; travelling to
      another time zone does not move spend already recorded from one day to another.
    * **Simulated jobs never count as real spend.** They are recorded with ``simulated = 1`` and shown as
      a separate figure. Budgets apply to them *separately* (a rehearsal: the simulator refuses what the
      real service would, counting only simulated spend), so a budget behaves the same with or without a key.
    * A job's amount counts from the moment it is submitted (``reserved``) until it is settled as
      ``refunded`` (fal never charged it: 5xx, never sent, cancelled while queued). A 422, or a submit that
      may have gone through, stays counted as ``maybe_charged``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Protocol

from kling_studio.core.errors import UserError
from kling_studio.services.jobs import ChargeStatus

BUDGET_SETTING = "budget"


class BudgetExceededError(UserError):
    """A submit would take spend past a budget; nothing was sent and nothing was recorded."""

    def __init__(
        self,
        *,
        budget: str,
        limit: Decimal,
        spent: Decimal,
        price: Decimal,
        currency: str = "USD",
        simulated: bool = False,
    ) -> None:
        self.budget = budget
        self.limit = limit
        self.spent = spent
        self.price = price
        self.simulated = simulated
        period, fix = _BUDGET_WORDS.get(budget, (f"on project {budget!r}", "raise that project's budget"))
        what = "simulated spend (nothing is charged)" if simulated else "spent"
        super().__init__(
            f"Over budget: this job costs {format_money(price, currency)}, and "
            f"{format_money(spent, currency)} is already {what} {period}; "
            f"the {budget_label(budget)} is {format_money(limit, currency)}. "
            f"Nothing was sent. To go ahead, {fix} in Settings → Budget."
        )


_BUDGET_WORDS = {
    "daily": ("today", "raise the daily budget (or wait until tomorrow)"),
    "monthly": ("this month", "raise the monthly budget (or wait until next month)"),
}


def budget_label(budget: str) -> str:
    """``"daily"`` → ``"daily budget"``; a project name → ``"budget for project 'X'"``."""
    if budget in _BUDGET_WORDS:
        return f"{budget} budget"
    return f"budget for project {budget!r}"


def format_money(amount: Decimal, currency: str = "USD") -> str:
    """``Decimal("2.1")`` → ``"$2.10"``, sub-cent digits kept (``$0.336``), ``"2.10 EUR"`` otherwise."""
    shown = amount.quantize(Decimal("0.01")) if amount.as_tuple().exponent >= -2 else amount  # type: ignore[operator]
    return f"${shown}" if currency == "USD" else f"{shown} {currency}"


def parse_amount(value: object, what: str = "amount") -> Decimal:
    """A non-negative, finite Decimal from a Decimal, int or numeric string (never a float: inexact).

    Raises:
        ValueError: naming ``what`` and the value.
    """
    if isinstance(value, (float, bool)):
        raise ValueError(f"{what} must be a Decimal or a string like '2.10', not {type(value).__name__}")
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise ValueError(f"{what} is not a number: {value!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{what} must be zero or more: {value!r}")
    return amount


@dataclass(frozen=True)
class BudgetPolicy:
    """Optional spending limits; ``None`` (or no entry) means no limit.

    Attributes:
        daily: limit per local calendar day.
        monthly: limit per local calendar month.
        per_project: limit per project name, over the project's whole life.
    """

    daily: Decimal | None = None
    monthly: Decimal | None = None
    per_project: Mapping[str, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.daily is not None:
            object.__setattr__(self, "daily", parse_amount(self.daily, "daily budget"))
        if self.monthly is not None:
            object.__setattr__(self, "monthly", parse_amount(self.monthly, "monthly budget"))
        projects = {
            name: parse_amount(v, f"budget for project {name!r}") for name, v in self.per_project.items()
        }
        object.__setattr__(self, "per_project", projects)

    def to_json(self) -> str:
        """The policy as JSON text, amounts as strings."""
        return json.dumps(
            {
                "daily": None if self.daily is None else str(self.daily),
                "monthly": None if self.monthly is None else str(self.monthly),
                "per_project": {name: str(v) for name, v in sorted(self.per_project.items())},
            }
        )

    @classmethod
    def from_json(cls, text: str) -> BudgetPolicy:
        """Read :meth:`to_json` output."""
        data = json.loads(text)
        return cls(
            daily=None if data.get("daily") is None else Decimal(data["daily"]),
            monthly=None if data.get("monthly") is None else Decimal(data["monthly"]),
            per_project={name: Decimal(v) for name, v in (data.get("per_project") or {}).items()},
        )


class SpendDatabase(Protocol):
    """What the ledger needs from the job store: read and write transactions on its connection."""

    def snapshot(self) -> AbstractContextManager[sqlite3.Connection]:
        """A consistent read transaction."""
        ...

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` write transaction, committed on success."""
        ...


@dataclass(frozen=True)
class SpendEntry:
    """One job's line in the ledger."""

    job_id: str
    amount: Decimal
    currency: str
    model_id: str
    tier: str
    project_name: str
    simulated: bool
    charge: ChargeStatus
    local_day: str
    recorded_at: datetime


class Ledger:
    """Read spend and get/set budgets. Writes that go with a job happen inside the job store's
    transactions."""

    def __init__(self, database: SpendDatabase, clock: Callable[[], datetime]) -> None:
        """Read spend through ``database``.

        Args:
            database: the job store (or anything with its transactions).
            clock: returns the current time, timezone-aware, in the user's local zone.
        """
        self._database = database
        self._clock = clock

    def spend_today(self, *, simulated: bool = False) -> Decimal:
        """Spend counted today (local day): real spend, or the simulated figure with ``simulated=True``."""
        with self._database.snapshot() as conn:
            return _sum(conn, "local_day = ?", (self._clock().date().isoformat(),), simulated)

    def spend_this_month(self, *, simulated: bool = False) -> Decimal:
        """Spend counted this local calendar month."""
        with self._database.snapshot() as conn:
            return _sum(conn, "local_month = ?", (self._clock().strftime("%Y-%m"),), simulated)

    def spend_for_project(self, project_name: str, *, simulated: bool = False) -> Decimal:
        """Spend counted for a project over its whole life."""
        with self._database.snapshot() as conn:
            return _sum(conn, "project_name = ?", (project_name,), simulated)

    def spend_maybe_charged(self, *, simulated: bool = False) -> Decimal:
        """The part of all spend that fal may or may not have charged (check the fal dashboard)."""
        with self._database.snapshot() as conn:
            return _sum(conn, "status = ?", (ChargeStatus.MAYBE_CHARGED.value,), simulated)

    def entries(self, *, limit: int = 100, offset: int = 0) -> list[SpendEntry]:
        """Ledger lines, newest first."""
        with self._database.snapshot() as conn:
            rows = conn.execute(
                "SELECT * FROM spend ORDER BY recorded_at DESC, rowid DESC LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall()
        return [_entry(row) for row in rows]

    def budget(self) -> BudgetPolicy:
        """The saved budget policy (no limits when none was saved)."""
        with self._database.snapshot() as conn:
            return load_policy(conn)

    def set_budget(self, policy: BudgetPolicy) -> None:
        """Save the budget policy; it applies to the next submit."""
        with self._database.transaction() as conn:
            conn.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (BUDGET_SETTING, policy.to_json()),
            )


# --- used by the job store inside its transactions ----------------------------------------------------------


def load_policy(conn: sqlite3.Connection) -> BudgetPolicy:
    """The saved policy, read on ``conn`` (inside the caller's transaction)."""
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (BUDGET_SETTING,)).fetchone()
    return BudgetPolicy.from_json(row[0]) if row else BudgetPolicy()


def check_budget(
    conn: sqlite3.Connection,
    policy: BudgetPolicy,
    *,
    project_name: str,
    price: Decimal,
    currency: str,
    simulated: bool,
    now: datetime,
) -> None:
    """Raise :class:`BudgetExceededError` if ``price`` on top of counted spend passes any limit in ``policy``.

    Must run in the same ``BEGIN IMMEDIATE`` transaction that records the spend, so concurrent submits
    (threads or
    processes) are checked one after another.
    """
    checks: list[tuple[str, Decimal | None, str, tuple[object, ...]]] = [
        ("daily", policy.daily, "local_day = ?", (now.date().isoformat(),)),
        ("monthly", policy.monthly, "local_month = ?", (now.strftime("%Y-%m"),)),
        (project_name, policy.per_project.get(project_name), "project_name = ?", (project_name,)),
    ]
    for name, limit, where, params in checks:
        if limit is None:
            continue
        spent = _sum(conn, where, params, simulated)
        if spent + price > limit:
            raise BudgetExceededError(
                budget=name, limit=limit, spent=spent, price=price, currency=currency, simulated=simulated
            )


def record_spend(
    conn: sqlite3.Connection,
    *,
    job_id: str,
    amount: Decimal,
    currency: str,
    model_id: str,
    tier: str,
    project_name: str,
    simulated: bool,
    now: datetime,
) -> None:
    """Add the job's line as ``reserved`` (inside the caller's transaction)."""
    conn.execute(
        "INSERT INTO spend(job_id, amount, currency, model_id, tier, project_name, simulated, status, "
        "local_day, local_month, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            job_id,
            str(amount),
            currency,
            model_id,
            tier,
            project_name,
            int(simulated),
            ChargeStatus.RESERVED.value,
            now.date().isoformat(),
            now.strftime("%Y-%m"),
            now.astimezone(UTC).isoformat(),
        ),
    )


def settle(conn: sqlite3.Connection, job_id: str, status: ChargeStatus) -> None:
    """Set the job's charge status (inside the caller's transaction)."""
    conn.execute("UPDATE spend SET status = ? WHERE job_id = ?", (status.value, job_id))


def _sum(conn: sqlite3.Connection, where: str, params: tuple[object, ...], simulated: bool) -> Decimal:
    rows = conn.execute(
        f"SELECT amount FROM spend WHERE {where} AND simulated = ? AND status != ?",
        (*params, int(simulated), ChargeStatus.REFUNDED.value),
    )
    return sum(_amounts(rows), Decimal(0))


def _amounts(rows: Iterator[tuple[str]]) -> Iterator[Decimal]:
    for (amount,) in rows:
        yield Decimal(amount)


def _entry(row: sqlite3.Row) -> SpendEntry:
    return SpendEntry(
        job_id=row["job_id"],
        amount=Decimal(row["amount"]),
        currency=row["currency"],
        model_id=row["model_id"],
        tier=row["tier"],
        project_name=row["project_name"],
        simulated=bool(row["simulated"]),
        charge=ChargeStatus(row["status"]),
        local_day=row["local_day"],
        recorded_at=datetime.fromisoformat(row["recorded_at"]),
    )

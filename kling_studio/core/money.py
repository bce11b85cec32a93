"""Money as exact decimals: ``Decimal`` from the price file to the total; rounding is for display only."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")


def parse_amount(text: str) -> Decimal:
    """An exact, finite, non-negative amount from its decimal text (``"0.42"``).

    Raises:
        ValueError: When ``text`` is not such a number; the message says what was found.
    """
    try:
        amount = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise ValueError(f"{text!r} is not a decimal number") from None
    if not amount.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    if amount < 0:
        raise ValueError(f"{text!r} is negative")
    return amount


def to_cents(amount: Decimal) -> Decimal:
    """``amount`` rounded half up to whole cents (for display and for budgets shown to people)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_usd(amount: Decimal) -> str:
    """``$5.04``: rounded half up to cents, thousands separated (``$1,234.50``), minus sign first."""
    cents = to_cents(amount)
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents):,.2f}"

"""A fact: one citable number or date about the customer, with its derivation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

Unit = Literal["USD", "percent", "months", "years", "count", "date", "text"]
PeriodKind = Literal["month", "trailing_months", "next_days", "year_to_date", "as_of"]
PLACES: dict[str, Decimal] = {
    "USD": Decimal("0.01"),
    "percent": Decimal("0.1"),
    "months": Decimal("0.1"),
    "years": Decimal("0.01"),
    "count": Decimal("1"),
}


def quantize(value: Decimal | float | int, unit: str) -> Decimal:
    """Round a number to the precision its unit is shown with."""
    return Decimal(str(value)).quantize(PLACES.get(unit, Decimal("0.01")), ROUND_HALF_UP)


def format_value(value: Decimal | str, unit: str) -> str:
    """How a fact's value is shown to a customer."""
    if unit == "USD":
        amount = Decimal(value)
        return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"
    if unit == "percent":
        return f"{Decimal(value):.1f}%"
    if unit == "months":
        return f"{Decimal(value):.1f} months"
    if unit == "years":
        return f"{Decimal(value):.2f} years"
    if unit == "date":
        return say_date(dt.date.fromisoformat(str(value)))
    return str(value)


def say_date(day: dt.date) -> str:
    """A date in words, US style: "January 6, 2027"."""
    return f"{day:%B} {day.day}, {day.year}"


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """First and last day of a YYYY-MM month."""
    first = dt.date.fromisoformat(f"{month}-01")
    return first, (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """The period a fact's value belongs to, and how a draft says it."""

    kind: PeriodKind
    start: dt.date
    end: dt.date
    words: str

    @classmethod
    def month(cls, month: str) -> Period:
        """One calendar month (YYYY-MM): "in November 2026"."""
        start, end = month_bounds(month)
        return cls("month", start, end, f"in {start:%B} {start.year}")

    @classmethod
    def trailing(cls, months: list[str]) -> Period:
        """An average per month over complete months, oldest first (YYYY-MM)."""
        words = f"a month on average over the last {len(months)} complete months"
        return cls(
            "trailing_months", month_bounds(months[0])[0], month_bounds(months[-1])[1], words
        )

    @classmethod
    def next_days(cls, as_of: dt.date, days: int) -> Period:
        """The days after `as_of` up to and including `as_of + days`."""
        return cls("next_days", as_of, as_of + dt.timedelta(days), f"in the next {days} days")

    @classmethod
    def on(cls, day: dt.date, words: str | None = None) -> Period:
        """A value as of one date (a balance, a deposit)."""
        return cls("as_of", day, day, words or f"as of {say_date(day)}")

    @classmethod
    def year_to_date(cls, as_of: dt.date) -> Period:
        """From January 1 of `as_of`'s year up to `as_of`."""
        return cls("year_to_date", as_of.replace(month=1, day=1), as_of, "so far this year")

    @property
    def months(self) -> int:
        """How many calendar months the period spans (for trailing averages)."""
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    def to_json(self) -> dict[str, str]:
        """JSON form: kind, ISO start and end, words."""
        return {
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "words": self.words,
        }


@dataclass(frozen=True)
class Fact:
    """A citable fact: stable id, value, unit and a short derivation."""

    id: str
    label: str
    value: Decimal | str
    unit: Unit
    derivation: str
    period: Period | None = None

    @classmethod
    def number(
        cls,
        fid: str,
        label: str,
        value: Decimal | float | int,
        unit: Unit,
        derivation: str,
        period: Period | None = None,
    ) -> Fact:
        """A numeric fact, rounded to its unit's precision."""
        return cls(fid, label, quantize(value, unit), unit, derivation, period)

    @classmethod
    def date(
        cls, fid: str, label: str, value: dt.date, derivation: str, period: Period | None = None
    ) -> Fact:
        """A date fact."""
        return cls(fid, label, value.isoformat(), "date", derivation, period)

    @property
    def display(self) -> str:
        """The value as the customer sees it."""
        return format_value(self.value, self.unit)

    def to_json(self) -> dict[str, Any]:
        """JSON form: numbers stay numbers, dates ISO strings."""
        value: Any = float(self.value) if isinstance(self.value, Decimal) else self.value
        if self.unit == "count" and isinstance(self.value, Decimal):
            value = int(self.value)
        return {
            "id": self.id,
            "label": self.label,
            "value": value,
            "unit": self.unit,
            "display": self.display,
            "derivation": self.derivation,
            "period": self.period.to_json() if self.period else None,
        }

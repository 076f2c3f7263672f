"""A fact: one citable number or date about the customer, with its derivation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

Unit = Literal["USD", "percent", "months", "years", "count", "date", "text"]
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
        day = dt.date.fromisoformat(str(value))
        return f"{day:%B} {day.day}, {day.year}"
    return str(value)


@dataclass(frozen=True)
class Fact:
    """A citable fact: stable id, value, unit and a short derivation."""

    id: str
    label: str
    value: Decimal | str
    unit: Unit
    derivation: str

    @classmethod
    def number(
        cls, fid: str, label: str, value: Decimal | float | int, unit: Unit, derivation: str
    ) -> Fact:
        """A numeric fact, rounded to its unit's precision."""
        return cls(fid, label, quantize(value, unit), unit, derivation)

    @classmethod
    def date(cls, fid: str, label: str, value: dt.date, derivation: str) -> Fact:
        """A date fact."""
        return cls(fid, label, value.isoformat(), "date", derivation)

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
        }

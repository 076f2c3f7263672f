"""Verify that every amount, percentage and date in a text traces to a fact."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from advisor.grounding.claims import Claim, find_claims
from portfolio_context.facts import Fact

MONTH_ID = re.compile(r"(\d{4})-(\d{2})")


class Verifier:
    """Knows the facts an answer may state; checks claims against them."""

    def __init__(
        self, facts: list[Fact], context: list[str], as_of: dt.date | None = None, draft: str = ""
    ) -> None:
        self.values: set[tuple[Decimal, str]] = set()
        self.dates: set[dt.date] = {as_of} if as_of else set()
        self.months: set[tuple[int, int]] = set()
        for fact in facts:
            self._learn_fact(fact)
        for text in [*context, draft]:
            self._learn_text(text)
        self.draft = find_claims(draft)
        self.days = {(d.month, d.day) for d in self.dates}
        self.months |= {(d.year, d.month) for d in self.dates}

    def _learn_fact(self, fact: Fact) -> None:
        """Add a fact's value and the numbers in its wording."""
        if fact.unit == "date":
            self.dates.add(dt.date.fromisoformat(str(fact.value)))
        elif isinstance(fact.value, Decimal):
            self.values.add((fact.value, written_as(fact.unit)))
        self._learn_text(f"{fact.label} {fact.derivation}")
        for year, month in MONTH_ID.findall(f"{fact.id} {fact.label} {fact.derivation}"):
            self.months.add((int(year), int(month)))

    def _learn_text(self, text: str) -> None:
        """Add every number and date stated in trusted text."""
        for claim in find_claims(text):
            if claim.value is not None:
                self.values.add((claim.value * claim.multiplier, claim.unit))
            if claim.date:
                self.dates.add(claim.date)
            if claim.month:
                self.months.add(claim.month)

    def grounded(self, claim: Claim) -> bool:
        """Whether the claim matches a known value (at the precision it is written with)."""
        if claim.kind == "date":
            return claim.date in self.dates if claim.date else claim.day in self.days
        if claim.kind == "month":
            return claim.month in self.months
        return any(unit == claim.unit and same_number(claim, v) for v, unit in self.values)

    def locate(self, claim: Claim, start: int) -> int | None:
        """Index of the first draft claim at or after `start` that this claim restates."""
        for index in range(start, len(self.draft)):
            if same_claim(claim, self.draft[index]):
                return index
        return None

    def in_draft(self, claim: Claim) -> bool:
        """Whether the draft states this claim anywhere."""
        return self.locate(claim, 0) is not None

    def ungrounded(self, text: str) -> list[Claim]:
        """Claims in `text` that trace to no fact."""
        return [c for c in find_claims(text) if not self.grounded(c)]

    def states(self, text: str, fact: Fact) -> bool:
        """Whether `text` states this fact's value."""
        for claim in find_claims(text):
            if fact.unit == "date":
                day = dt.date.fromisoformat(str(fact.value))
                if claim.date == day or claim.day == (day.month, day.day):
                    return True
            elif (
                isinstance(fact.value, Decimal)
                and claim.unit == written_as(fact.unit)
                and same_number(claim, fact.value)
            ):
                return True
        return False


def same_number(claim: Claim, value: Decimal) -> bool:
    """Whether a number claim states `value` at the precision it is written with (sign kept)."""
    if claim.value is None:
        return False
    stated = claim.value * claim.multiplier
    tolerance = Decimal(5) * Decimal(10) ** -(claim.decimals + 1) * claim.multiplier
    return abs(value - stated) <= tolerance


def same_claim(claim: Claim, other: Claim) -> bool:
    """Whether two claims state the same thing."""
    if claim.kind == "number" and other.kind == "number":
        assert other.value is not None
        return same_number(claim, other.value * other.multiplier)
    if claim.kind != other.kind:
        return False
    return (claim.date, claim.month, claim.day) == (other.date, other.month, other.day) or (
        claim.day is not None
        and other.date is not None
        and claim.day == (other.date.month, other.date.day)
    )


def written_as(unit: str) -> str:
    """The way a fact's unit must be written in text: money, percentage, or a plain number."""
    return unit if unit in ("USD", "percent") else ""

"""Deterministic generator of one synthetic customer: accounts, bills, holdings, transactions."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from portfolio_context import catalog
from portfolio_context.synth_marketing import (
    credit_outcome,
    latent_stress,
    marketing_fields,
    nudge_for_stress,
)

PROFILES = ["saver", "debt_heavy", "balanced", "gig_worker", "pre_retiree", "young_professional"]
EVENTS_BY_PROFILE = {
    "saver": ["home_buying", "marriage", "new_baby"],
    "debt_heavy": ["new_baby", "job_change"],
    "balanced": ["home_buying", "marriage", "new_baby", "job_change"],
    "gig_worker": ["new_baby", "marriage"],
    "pre_retiree": ["retirement"],
    "young_professional": ["marriage", "job_change", "home_buying"],
}
Row = dict[str, Any]


def cents(value: float) -> Decimal:
    """A money amount rounded to the cent."""
    return Decimal(str(round(value, 2)))


@dataclass
class CustomerRows:
    """Every row generated for one customer, keyed by table."""

    customer: Row
    accounts: list[Row] = field(default_factory=list)
    bills: list[Row] = field(default_factory=list)
    holdings: list[Row] = field(default_factory=list)
    transactions: list[Row] = field(default_factory=list)
    credit: Row = field(default_factory=dict)
    events: list[Row] = field(default_factory=list)


class CustomerSynth:
    """Generates one customer from a seed; identical output for identical (seed, index, as_of)."""

    def __init__(
        self, seed: int, index: int, as_of: dt.date, knobs: dict[str, Any] | None = None
    ) -> None:
        from portfolio_context.synth_events import spec

        self.knobs = knobs or spec()  # the life-event simulation's knobs (synth_events.yaml)
        self.rng = random.Random(f"{seed}:{index}")
        self.as_of = as_of
        self.start = as_of - dt.timedelta(days=400)
        self.cid = f"C{index:04d}"
        self.profile = PROFILES[index % len(PROFILES)] if index < 6 else self.rng.choice(PROFILES)
        self.event = self._pick_event()
        self.salary = self._salary()
        self.stress = latent_stress(seed, index, self.profile)
        self.seed, self.index = seed, index

    def _pick_event(self) -> str | None:
        """The life event planted in this customer's data, if any."""
        if self.rng.random() < 0.45:
            return self.rng.choice(EVENTS_BY_PROFILE[self.profile])
        return None

    def _salary(self) -> float:
        """Gross annual income by profile."""
        lo, hi = {
            "saver": (70_000, 160_000),
            "debt_heavy": (38_000, 75_000),
            "balanced": (55_000, 110_000),
            "gig_worker": (28_000, 60_000),
            "pre_retiree": (65_000, 140_000),
            "young_professional": (52_000, 95_000),
        }[self.profile]
        return round(self.rng.uniform(lo, hi), -2)

    def build(self) -> CustomerRows:
        """All rows of this customer."""
        rows = CustomerRows(customer=self._customer_row())
        from portfolio_context.synth_flows import FlowBuilder
        from portfolio_context.synth_history import HistoryBuilder
        from portfolio_context.synth_life import live

        FlowBuilder(self, rows).build()
        HistoryBuilder(self, rows).build()
        story = live(self, rows)
        age = self.as_of.year - int(rows.customer["birth_year"])
        home = story.household
        rows.customer.update(self._marketing(age, home.marital, home.retired))
        nudge_for_stress(self.seed, self.index, self.stress, rows.accounts, rows.credit)
        rows.credit["delinquent_12m"] = credit_outcome(self.seed, self.index, self.stress)
        return rows

    def _customer_row(self) -> Row:
        """The customer record."""
        rng = self.rng
        age = rng.randint(58, 66) if self.profile == "pre_retiree" else rng.randint(23, 55)
        if self.profile == "young_professional":
            age = rng.randint(23, 32)
        return {
            "id": self.cid,
            "name": f"{rng.choice(catalog.FIRST_NAMES)} {rng.choice(catalog.LAST_NAMES)}",
            "birth_year": self.as_of.year - age,
            "profile": self.profile,
            "income_type": "gig" if self.profile == "gig_worker" else "salaried",
            "state": rng.choice(catalog.STATES),
        }

    def _marketing(self, age: int, marital: str, retired: bool) -> Row:
        """The UCI-style marketing fields, from their own random streams."""
        fields = marketing_fields(self.seed, self.index, age, self.profile, self.stress, retired)
        return {"marital": marital, **fields}

"""A customer's life over the history window: events, what they change, precursors and decoys.

Runs after the money flows; every draw comes from the customer's own ":events",
":precursors" and ":decoys" streams. The life_events table stays the truth.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING

from portfolio_context import catalog
from portfolio_context.dates import day_in_month, month_starts
from portfolio_context.synth import CustomerRows, Row, cents
from portfolio_context.synth_events import Event, Household, LifeStory, simulate
from portfolio_context.synth_marketing import marital_at
from portfolio_context.synth_precursors import PrecursorPlanter

if TYPE_CHECKING:
    from portfolio_context.synth import CustomerSynth

RENT_PAYEE = "PARKVIEW APARTMENTS RENT"
MORTGAGE_PAYEE = "NORTHBANK MORTGAGE PAYMENT"


def live(synth: CustomerSynth, rows: CustomerRows) -> LifeStory:
    """Simulate the events, apply their consequences, plant precursors and decoys."""
    key = f"{synth.seed}:{synth.index}"
    age = synth.as_of.year - int(rows.customer["birth_year"])
    start_age = max(18, age - 3)
    home = Household(
        age=age,
        marital=marital_at(random.Random(f"{key}:household"), start_age),
        renter=not any(a["type"] == "mortgage" for a in rows.accounts),
        gig=synth.profile == "gig_worker",
        profile=synth.profile,
        stress=synth.stress,
    )
    story = simulate(random.Random(f"{key}:events"), synth.as_of, home, synth.knobs)
    effects = Consequences(random.Random(f"{key}:consequences"), rows, synth)
    planter = PrecursorPlanter(random.Random(f"{key}:precursors"), rows, synth.as_of, synth.knobs)
    for event in story.events:
        effects.apply(event)
        rows.events.append(
            {
                "customer_id": synth.cid,
                "event_type": event.kind,
                "event_date": event.day,
                "precursors": planter.precursors(event),
            }
        )
    PrecursorPlanter(random.Random(f"{key}:decoys"), rows, synth.as_of, synth.knobs).decoys()
    rows.credit["inquiries_6m"] = int(rows.credit["inquiries_6m"]) + planter.inquiries
    return story


class Consequences:
    """What an event that has happened (on or before as-of) changes in the customer's data."""

    def __init__(self, rng: random.Random, rows: CustomerRows, synth: CustomerSynth) -> None:
        self.rng, self.rows, self.s = rng, rows, synth

    def apply(self, event: Event) -> None:
        """Change payroll, housing or spending after the event."""
        if event.day > self.s.as_of:
            return
        handler = {
            "job_change": self._job_change,
            "retirement": self._retirement,
            "home_buying": self._home_buying,
            "new_baby": self._new_baby,
        }.get(event.kind)
        if handler:
            handler(event.day)

    def _income_after(self, day: dt.date) -> list[Row]:
        """Income transactions posted on or after a day."""
        return [
            t for t in self.rows.transactions if t["category"] == "Income" and t["posted"] >= day
        ]

    def _job_change(self, day: dt.date) -> None:
        """A new employer (or new gig platforms) after a gap of zero to five weeks, new pay."""
        gap = dt.timedelta(days=self.rng.choice([0, 0, 7, 14, 21, 35]))
        pool = catalog.GIG_PAYERS if self.s.profile == "gig_worker" else catalog.EMPLOYERS
        employer, raise_ = self.rng.choice(pool), self.rng.uniform(0.9, 1.3)
        income = self._income_after(day - gap)
        gone = {id(t) for t in income if t["posted"] < day}
        self.rows.transactions = [t for t in self.rows.transactions if id(t) not in gone]
        for tx in income:
            tx["merchant"] = employer
            tx["amount"] = cents(float(tx["amount"]) * raise_)

    def _retirement(self, day: dt.date) -> None:
        """Payroll stops; a pension and social security arrive monthly."""
        gone = {id(t) for t in self._income_after(day)}
        self.rows.transactions = [t for t in self.rows.transactions if id(t) not in gone]
        monthly = self.s.salary * self.rng.uniform(0.3, 0.45) / 12
        for first in month_starts(day + dt.timedelta(days=20), self.s.as_of):
            self._deposit(day_in_month(first, 3), monthly * 0.6, "SSA TREAS 310 XXSOC SEC")
            self._deposit(day_in_month(first, 1), monthly * 0.4, "PENSION PAYMENT")

    def _deposit(self, day: dt.date, amount: float, payer: str) -> None:
        """Money in to checking, inside the window."""
        if day <= self.s.as_of:
            self.rows.transactions.append(self._row(day, amount, payer, "Income"))

    def _row(self, day: dt.date, amount: float, merchant: str, category: str) -> Row:
        """A checking transaction row."""
        checking = next(a["id"] for a in self.rows.accounts if a["type"] == "checking")
        return {
            "account_id": checking,
            "posted": day,
            "amount": cents(amount),
            "merchant": merchant,
            "category": category,
            "memo": "",
        }

    def _home_buying(self, day: dt.date) -> None:
        """Rent stops; a mortgage opens on the day and its payment replaces the rent bill."""
        rent = next((b for b in self.rows.bills if b["payee"] == RENT_PAYEE), None)
        if rent is None:
            return
        self.rows.transactions = [
            t
            for t in self.rows.transactions
            if not (t["merchant"] == RENT_PAYEE and t["posted"] >= day)
        ]
        price = self.s.salary * self.rng.uniform(2.8, 4.5)  # what the income can borrow
        apr = self.rng.uniform(5.5, 7.2)
        rate = apr / 1200
        payment = price * 0.85 * rate / (1 - (1 + rate) ** -360)
        self.rows.accounts.append(
            {
                "id": f"{self.s.cid}-MOR",
                "customer_id": self.s.cid,
                "type": "mortgage",
                "name": "30-Year Fixed Mortgage",
                "balance": cents(price * 0.85),
                "credit_limit": None,
                "apr": cents(apr),
                "opened": day,
            }
        )
        rent.update(payee=MORTGAGE_PAYEE, amount=cents(payment), day_of_month=1, is_debt=True)
        self.rows.transactions.append(
            self._row(day, -price * 0.15, "WIRE TRANSFER OUT", "Transfer")
        )
        for first in month_starts(day + dt.timedelta(days=25), self.s.as_of):
            self.rows.transactions.append(self._row(first, -payment, MORTGAGE_PAYEE, "Housing"))

    def _new_baby(self, day: dt.date) -> None:
        """Childcare and more shopping in the months after a birth."""
        for first in month_starts(day + dt.timedelta(days=60), self.s.as_of):
            if self.rng.random() < 0.45:
                amount = -self.rng.uniform(600, 1600)
                self.rows.transactions.append(
                    self._row(day_in_month(first, 5), amount, "BRIGHT STARS CHILDCARE", "Childcare")
                )

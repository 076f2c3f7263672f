"""Noisy, partial precursors of life events, and the same patterns without any event (decoys).

A precursor shows only with some probability (weakening over time), 1-6 months before its
event with jittered dates and noisy amounts, at generic merchants shared with everyday life;
a share of events shows none. Decoys plant the same kinds for everybody (gifts, helping
family, furniture without a move), so no single kind announces an event.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from portfolio_context.dates import day_in_month, month_starts
from portfolio_context.synth import CustomerRows, cents
from portfolio_context.synth_events import Event, Knobs, drift, history_start

Row = dict[str, Any]


class PrecursorPlanter:
    """Writes precursor and decoy transactions into one customer's rows."""

    def __init__(
        self, rng: random.Random, rows: CustomerRows, as_of: dt.date, knobs: Knobs
    ) -> None:
        self.rng, self.rows, self.as_of, self.knobs = rng, rows, as_of, knobs
        self.start = history_start(as_of, knobs)
        self.checking = next(a["id"] for a in rows.accounts if a["type"] == "checking")
        self.inquiries = 0  # bureau inquiries that fall in the six months before as-of

    def t(self, day: dt.date) -> float:
        """Position of a day in the window, 0 at its start and 1 at the as-of date."""
        return (day - self.start).days / max(1, (self.as_of - self.start).days)

    def spend(self, kind: str, day: dt.date) -> None:
        """One purchase or transfer of a precursor kind, inside the window only."""
        if not self.start <= day <= self.as_of:
            return
        knobs = self.knobs["kinds"][kind]
        if kind == "credit_inquiry":
            self.inquiries += int((self.as_of - day).days <= 182)
            return
        if kind == "reduced_pay":
            self._reduce_pay(day)
            return
        online = self.rng.random() < drift(self.knobs["online_share"], self.t(day))
        merchant = self.rng.choice(knobs["online"] if online else knobs["merchants"])
        low, high = knobs["amount"]
        amount = self.rng.uniform(low, high) * self.rng.lognormvariate(0.0, 0.25)
        self.rows.transactions.append(
            {
                "account_id": self.checking,
                "posted": day,
                "amount": cents(-amount),
                "merchant": merchant,
                "category": knobs["category"],
                "memo": "",
            }
        )

    def _reduce_pay(self, since: dt.date) -> None:
        """Payroll shrinks from `since` on (fewer hours before retiring)."""
        factor = self.rng.uniform(0.65, 0.9)
        for tx in self.rows.transactions:
            if tx["category"] == "Income" and tx["posted"] >= since and tx["amount"] > 0:
                tx["amount"] = cents(float(tx["amount"]) * factor)

    def precursors(self, event: Event) -> str:
        """Plant the precursors of one event; returns the kinds planted, '; '-joined."""
        if self.rng.random() < self.knobs["no_precursor_share"]:
            return ""
        strength = drift(self.knobs["precursor_strength"], self.t(min(event.day, self.as_of)))
        planted: list[str] = []
        for item in self.knobs["events"][event.kind]["precursors"]:
            if self.rng.random() >= item["p"] * strength:
                continue
            months = self.rng.randint(*item["months"])
            for _ in range(self.rng.randint(*item["count"])):
                back = months * 30 + self.rng.randint(-12, 12)
                self.spend(item["kind"], event.day - dt.timedelta(days=max(20, back)))
            planted.append(item["kind"])
        return "; ".join(planted)

    def decoys(self) -> None:
        """The precursor patterns without an event, month by month."""
        seasonal = self.knobs["decoy_seasonal"]
        for first in month_starts(self.start, self.as_of):
            for kind, monthly in self.knobs["decoys"].items():
                factor = seasonal.get(kind, {}).get(first.month, 1.0)
                if self.rng.random() < monthly * factor:
                    for _ in range(self.rng.randint(1, 2)):
                        self.spend(kind, day_in_month(first, self.rng.randint(1, 28)))

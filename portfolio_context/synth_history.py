"""The older months of a customer's history, prepended before the 400-day window.

They come from their own random stream, so the window's rows (the demo bank's) do not move:
the same accounts, bills, employer and habits, a little cheaper further back in time.
"""

from __future__ import annotations

import datetime as dt
import random

from portfolio_context.dates import day_in_month, month_starts
from portfolio_context.synth import CustomerRows, CustomerSynth, Row
from portfolio_context.synth_events import history_start
from portfolio_context.synth_flows import FlowBuilder

INFLATION = 0.03  # yearly: amounts further back are this much lower per year


class HistoryBuilder(FlowBuilder):
    """Generates the months between the history start and the 400-day window."""

    def __init__(self, synth: CustomerSynth, rows: CustomerRows) -> None:
        super().__init__(synth, rows)
        self.rng = random.Random(f"{synth.seed}:{synth.index}:history")
        first = history_start(synth.as_of, synth.knobs)
        self.window = (first, synth.start - dt.timedelta(days=1))
        self.months = month_starts(*self.window)
        self.acct = {a["type"]: a["id"] for a in rows.accounts}
        self.opened = {a["type"]: a["opened"] for a in rows.accounts}

    def build(self) -> None:
        """Bills, income, spending, savings and card payments of the older months."""
        if not self.months or self.window[0] > self.window[1]:
            return
        window_rows, self.rows.transactions = self.rows.transactions, []
        self._bill_payments()
        if self.s.profile == "gig_worker":
            self._gig_income()
        else:
            self._payroll(window_rows)
        self._spending()
        self._savings()
        self._card_payments()
        self.rows.transactions.extend(window_rows)

    def tx(self, kind: str, day: dt.date, amount: float, merchant: str, category: str) -> None:
        """Record a transaction of an account already open on that day, deflated."""
        if kind in self.opened and day < self.opened[kind]:
            return
        years = (self.s.start - day).days / 365.25
        super().tx(kind, day, amount * (1 - INFLATION) ** years, merchant, category)

    def _bill_payments(self) -> None:
        """The window's recurring bills, paid in the older months too."""
        for bill in self.rows.bills:
            for first in self.months:
                factor = 1.0
                if bill["category"] == "Utilities":
                    factor = {12: 1.35, 1: 1.4, 2: 1.3, 7: 1.2, 8: 1.25}.get(first.month, 1.0)
                amount = -float(bill["amount"]) * factor * self.rng.uniform(0.97, 1.03)
                day = day_in_month(first, bill["day_of_month"])
                self.tx("checking", day, amount, bill["payee"], bill["category"])

    def _payroll(self, window_rows: list[Row]) -> None:
        """The window's employer and pay, every other Friday going back in time."""
        payroll = [t for t in window_rows if t["category"] == "Income"]
        if not payroll:
            return
        first = payroll[0]
        day: dt.date = first["posted"] - dt.timedelta(days=14)
        while day >= self.window[0]:
            amount = float(first["amount"])
            self.tx("checking", day, amount, str(first["merchant"]), "Income")
            day -= dt.timedelta(days=14)

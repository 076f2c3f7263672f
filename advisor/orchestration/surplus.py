"""The surplus after a payday: checking less what is due before the next one, each a Fact."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import yaml

from portfolio_context.analytics import ZERO, Ledger, balance_facts, complete_months, spending_table
from portfolio_context.facts import Fact, Period, say_date
from portfolio_context.obligations import card_minimum, upcoming_bills

POLICY: dict[str, Any] = yaml.safe_load(Path(__file__).with_name("sweep.yaml").read_text())


@dataclass(frozen=True)
class Surplus:
    """The sweepable amount and the facts it rests on (amount is a fact too)."""

    amount: Decimal
    facts: list[Fact]
    next_payday: dt.date

    def fact(self, fact_id: str) -> Fact:
        """One of the facts by id."""
        return next(f for f in self.facts if f.id == fact_id)

    def with_fact(self, fact: Fact) -> Surplus:
        """The same surplus with one more fact."""
        return Surplus(self.amount, [*self.facts, fact], self.next_payday)


def next_payday(ledger: Ledger, payer: str | None) -> tuple[dt.date, Fact]:
    """The payday after as_of: the median gap between this payer's deposits (or all income)."""
    deposits = [t for t in ledger.transactions if t.amount > 0 and t.category == "Income"]
    mine = [t for t in deposits if payer and t.merchant == payer] or deposits
    days = sorted({t.posted for t in mine if t.posted <= ledger.as_of})[-POLICY["payday_history"]:]
    gaps = [(b - a).days for a, b in itertools.pairwise(days) if (b - a).days > 0]
    gap = int(statistics.median(gaps)) if gaps else int(POLICY["default_pay_gap_days"])
    gap = min(max(gap, int(POLICY["min_pay_gap_days"])), int(POLICY["max_pay_gap_days"]))
    day = ledger.as_of + dt.timedelta(days=gap)
    how = f"median of {len(gaps)} gaps between deposits" if gaps else "no pay history: default"
    fact = Fact.date("sweep.next_payday", "next expected payday", day, f"{how}: {gap} days")
    return day, fact


def bills_before(ledger: Ledger, payday: dt.date) -> tuple[Decimal, Decimal, list[Fact]]:
    """Bills due before the payday (without debts), and the debt minimums due by then."""
    debts = {b.payee for b in ledger.bills if b.is_debt}
    due = [b for b in upcoming_bills(ledger) if b.due <= payday]
    bills = sum((b.amount for b in due if b.payee not in debts), ZERO)
    debt = sum((b.amount for b in due if b.payee in debts), ZERO) + card_minimum(ledger)
    window = Period(
        "next_days", ledger.as_of, payday, f"before your next payday on {say_date(payday)}"
    )
    count = sum(1 for b in due if b.payee not in debts)
    return bills, debt, [
        Fact.number("sweep.bills_before_payday", "bills due before the next payday", bills,
                    "USD", f"{count} recurring bills due by {payday}", window),
        Fact.number("sweep.debt_minimums", "minimum debt payments before the next payday", debt,
                    "USD", "loan bills due by then + the card's minimum payment", window),
    ]  # fmt: skip


def seasonal_extra(ledger: Ledger) -> Fact:
    """Spending the same month last year above the 12-month average (never below zero)."""
    months = complete_months(ledger.as_of)
    table = spending_table(ledger)
    total = {m: sum((table[c].get(m, ZERO) for c in table), ZERO) for m in months}
    average = sum(total.values(), ZERO) / len(months)
    last_year = f"{ledger.as_of.year - 1}-{ledger.as_of.month:02d}"
    spent = sum((table[c].get(last_year, ZERO) for c in table), ZERO)
    extra = max(spent - average, ZERO) if spent > 0 else ZERO
    how = (
        f"spending in {last_year} (${spent:,.2f}) above the 12-month average (${average:,.2f})"
        if spent > 0
        else f"no spending recorded in {last_year}"
    )
    return Fact.number("sweep.seasonal_extra", "extra seasonal spending this month", extra,
                       "USD", how, Period.month(f"{ledger.as_of:%Y-%m}"))  # fmt: skip


def surplus(
    ledger: Ledger, buffer: Decimal, payer: str | None, pending: Decimal = ZERO
) -> Surplus:
    """Checking - bills before payday - debt minimums - buffer - seasonal extra - sweeps still
    pending (proposed on an earlier payday, not yet decided), rounded down."""
    checking = next(f for f in balance_facts(ledger) if f.id == "balance.checking")
    payday, payday_fact = next_payday(ledger, payer)
    bills, debt, bill_facts = bills_before(ledger, payday)
    season = seasonal_extra(ledger)
    spare = ledger.balance("checking") - bills - debt - buffer - Decimal(season.value) - pending
    step = Decimal(str(POLICY["round_down_to"]))
    amount = max((spare / step).to_integral_value(ROUND_FLOOR) * step, ZERO)
    facts = [checking, payday_fact, *bill_facts, season,
             Fact.number("sweep.buffer", "buffer kept in checking", buffer, "USD",
                         "the bank's setting"),
             Fact.number("sweep.pending_sweeps", "surplus already proposed, still pending",
                         pending, "USD", "earlier sweeps awaiting the customer's answer"),
             Fact.number("sweep.surplus", "surplus to move", amount, "USD",
                         "checking - bills before payday - debt minimums - buffer - seasonal "
                         f"extra - pending sweeps, rounded down to ${step}")]  # fmt: skip
    return Surplus(Decimal(facts[-1].value), facts, payday)

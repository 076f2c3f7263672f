"""Bills, free cash, debt-to-income, credit utilisation and the emergency fund."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from portfolio_context.analytics import ZERO, Ledger, complete_months, slug, spending_table
from portfolio_context.dates import day_in_month
from portfolio_context.facts import Fact

UPCOMING_DAYS = 30
CARD_MIN_RATE, CARD_MIN_FLOOR = Decimal("0.02"), Decimal("35")


@dataclass(frozen=True)
class UpcomingBill:
    """One bill due in the coming window."""

    payee: str
    category: str
    amount: Decimal
    due: dt.date


def next_due(day_of_month: int, after: dt.date) -> dt.date:
    """The first date after `after` on which a bill due on `day_of_month` falls."""
    first = after.replace(day=1)
    for _ in range(3):
        due = day_in_month(first, day_of_month)
        if due > after:
            return due
        first = (first + dt.timedelta(days=32)).replace(day=1)
    raise ValueError("no due date found")  # unreachable for days 1..31


def upcoming_bills(ledger: Ledger) -> list[UpcomingBill]:
    """Bills due in the next 30 days, soonest first."""
    horizon = ledger.as_of + dt.timedelta(days=UPCOMING_DAYS)
    bills = [
        UpcomingBill(b.payee, b.category, b.amount, next_due(b.day_of_month, ledger.as_of))
        for b in ledger.bills
    ]
    return sorted((b for b in bills if b.due <= horizon), key=lambda b: (b.due, b.payee))


def bill_facts(ledger: Ledger, buffer: Decimal) -> list[Fact]:
    """Upcoming bills, their total, and the checking money free after them and a buffer."""
    bills = upcoming_bills(ledger)
    total = sum((b.amount for b in bills), ZERO)
    facts = [
        Fact.number(
            "bills.upcoming_30d.total",
            "bills due in the next 30 days",
            total,
            "USD",
            f"{len(bills)} recurring bills due by {ledger.as_of + dt.timedelta(30)}",
        ),
        Fact.number(
            "bills.upcoming_30d.count",
            "number of bills due in the next 30 days",
            len(bills),
            "count",
            "recurring bills with a due date in the window",
        ),
        Fact.number(
            "cash.free_after_bills",
            "free cash after bills and buffer",
            ledger.balance("checking") - total - buffer,
            "USD",
            f"checking balance - upcoming bills - ${buffer:,.2f} buffer",
        ),
    ]
    for bill in bills:
        key = f"bills.{slug(bill.payee)}"
        facts.append(
            Fact.number(
                f"{key}.amount",
                f"{bill.payee} bill",
                bill.amount,
                "USD",
                f"recurring {bill.category.lower()} bill",
            )
        )
        facts.append(
            Fact.date(
                f"{key}.due",
                f"{bill.payee} due date",
                bill.due,
                "next due date of the recurring bill",
            )
        )
    return facts


def card_minimum(ledger: Ledger) -> Decimal:
    """The card's minimum payment: 2% of the balance, at least $35 when anything is owed."""
    owed = ledger.balance("credit_card")
    return max(owed * CARD_MIN_RATE, CARD_MIN_FLOOR) if owed > 0 else ZERO


def debt_facts(ledger: Ledger, monthly_income: Decimal) -> list[Fact]:
    """Debt-to-income and credit utilisation."""
    debt = sum((b.amount for b in ledger.bills if b.is_debt), ZERO) + card_minimum(ledger)
    dti = debt / monthly_income * 100 if monthly_income > 0 else ZERO
    facts = [
        Fact.number(
            "debt.monthly_payments",
            "monthly debt payments",
            debt,
            "USD",
            "loan and mortgage bills + card minimum payment",
        ),
        Fact.number(
            "debt.dti",
            "debt-to-income ratio",
            dti,
            "percent",
            "monthly debt payments / monthly income",
        ),
    ]
    limit = sum((a.credit_limit or ZERO for a in ledger.accounts if a.type == "credit_card"), ZERO)
    if limit > 0:
        facts.append(
            Fact.number(
                "credit.utilization",
                "credit utilisation",
                ledger.balance("credit_card") / limit * 100,
                "percent",
                "card balances / card limits",
            )
        )
        facts.append(
            Fact.number(
                "credit.card_limit", "credit card limit", limit, "USD", "sum of card limits"
            )
        )
    facts += [
        Fact.number(
            f"rate.{a.type}",
            f"{a.type.replace('_', ' ')} rate",
            a.apr,
            "percent",
            f"APR of {a.name}",
        )
        for a in ledger.accounts
        if a.apr is not None
    ]
    if ledger.credit:
        facts.append(
            Fact.number(
                "credit.score", "credit score", ledger.credit.score, "count", "bureau score on file"
            )
        )
    return facts


def emergency_facts(ledger: Ledger) -> list[Fact]:
    """How many months of average spending the liquid savings cover."""
    months = complete_months(ledger.as_of)
    table = spending_table(ledger)
    monthly = sum((v for cat in table.values() for m, v in cat.items() if m in months), ZERO) / len(
        months
    )
    liquid = ledger.balance("checking") + ledger.balance("savings")
    cover = liquid / monthly if monthly > 0 else ZERO
    return [
        Fact.number(
            "emergency_fund.months",
            "emergency fund",
            cover,
            "months",
            "(checking + savings) / average monthly spending",
        )
    ]

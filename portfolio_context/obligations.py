"""Bills, free cash, debt-to-income, credit utilisation and the emergency fund."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from portfolio_context.analytics import ZERO, Ledger, complete_months, slug, spending_table
from portfolio_context.dates import day_in_month
from portfolio_context.facts import Fact, Period

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
    window = Period.next_days(ledger.as_of, UPCOMING_DAYS)
    total = sum((b.amount for b in bills), ZERO)
    facts = [
        Fact.number(
            "bills.upcoming_30d.total",
            "bills due in the next 30 days",
            total,
            "USD",
            f"{len(bills)} recurring bills due by {window.end}",
            window,
        ),
        Fact.number(
            "bills.upcoming_30d.count",
            "number of bills due in the next 30 days",
            len(bills),
            "count",
            "recurring bills with a due date in the window",
            window,
        ),
        Fact.date(
            "bills.upcoming_30d.last_due",
            "date the last bill in the next 30 days is due",
            bills[-1].due if bills else window.end,
            "due date of the last bill in the window" if bills else "end of the 30-day window",
        ),
    ]
    facts += free_cash_facts(ledger.balance("checking") - total, buffer, window)
    for bill in bills:
        facts += _one_bill(bill, window)
    return facts


def free_cash_facts(after_bills: Decimal, buffer: Decimal, window: Period) -> list[Fact]:
    """The buffer, the checking money free after bills and buffer, and any shortfall."""
    free = after_bills - buffer
    facts = [
        Fact.number(
            "cash.buffer", "safety buffer kept in checking", buffer, "USD", "the bank's setting"
        ),
        Fact.number(
            "cash.free_after_bills",
            "free cash after bills and buffer",
            free,
            "USD",
            f"checking balance - upcoming bills - ${buffer:,.2f} buffer",
            window,
        ),
    ]
    if free < 0:
        facts.append(
            Fact.number(
                "cash.shortfall_after_bills",
                "shortfall after bills and buffer",
                -free,
                "USD",
                f"upcoming bills + ${buffer:,.2f} buffer - checking balance",
                window,
            )
        )
    return facts


def _one_bill(bill: UpcomingBill, window: Period) -> list[Fact]:
    """A bill's amount (due in the window) and its due date."""
    key = f"bills.{slug(bill.payee)}"
    return [
        Fact.number(
            f"{key}.amount",
            f"{bill.payee} bill",
            bill.amount,
            "USD",
            f"recurring {bill.category.lower()} bill",
            window,
        ),
        Fact.date(
            f"{key}.due",
            f"{bill.payee} due date",
            bill.due,
            "next due date of the recurring bill",
        ),
    ]


def card_minimum(ledger: Ledger) -> Decimal:
    """The card's minimum payment: 2% of the balance, at least $35 when anything is owed."""
    owed = ledger.balance("credit_card")
    return max(owed * CARD_MIN_RATE, CARD_MIN_FLOOR) if owed > 0 else ZERO


def debt_facts(ledger: Ledger, monthly_income: Decimal) -> list[Fact]:
    """Monthly debt payments, debt-to-income (only when income is detected), credit facts."""
    debt = sum((b.amount for b in ledger.bills if b.is_debt), ZERO) + card_minimum(ledger)
    facts = [
        Fact.number(
            "debt.monthly_payments",
            "monthly debt payments",
            debt,
            "USD",
            "loan and mortgage bills + card minimum payment",
        )
    ]
    if monthly_income > 0:
        facts.append(
            Fact.number(
                "debt.dti",
                "debt-to-income ratio",
                debt / monthly_income * 100,
                "percent",
                "monthly debt payments / monthly income",
            )
        )
    return facts + credit_facts(ledger)


def credit_facts(ledger: Ledger) -> list[Fact]:
    """Card utilisation and limit, account rates and the credit score."""
    facts = []
    today = Period.on(ledger.as_of)
    limit = sum((a.credit_limit or ZERO for a in ledger.accounts if a.type == "credit_card"), ZERO)
    if limit > 0:
        owed = ledger.balance("credit_card") / limit * 100
        facts += [
            Fact.number(
                "credit.utilization",
                "credit utilisation",
                owed,
                "percent",
                "card balances / card limits",
                today,
            ),
            Fact.number(
                "credit.card_limit", "credit card limit", limit, "USD", "sum of card limits", today
            ),
        ]
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
    """How many months of average spending checking and savings cover (none without spending)."""
    months = complete_months(ledger.as_of)
    table = spending_table(ledger)
    monthly = sum((v for cat in table.values() for m, v in cat.items() if m in months), ZERO) / len(
        months
    )
    liquid = ledger.balance("checking") + ledger.balance("savings")
    if monthly <= 0:
        return []  # no spending history: the cover is not defined
    return [
        Fact.number(
            "emergency_fund.months",
            "emergency fund",
            liquid / monthly,
            "months",
            "(checking + savings) / average monthly spending",
        )
    ]

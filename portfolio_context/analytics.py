"""Pure computations of the 360 view: each returns facts with their derivations."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from portfolio_context.facts import Fact, Period, say_date
from portfolio_context.models import Account, CreditProfile, Holding, RecurringBill, Transaction

NOT_SPENDING = {"Transfer", "Credit Card Payment", "Income", "Interest", "Investments"}
ASSETS = {"checking", "savings", "brokerage"}
LIABILITIES = {"credit_card", "mortgage"}
INCOME_MONTHS = 6
ZERO = Decimal("0")


def slug(text: str) -> str:
    """A stable id fragment: lower case, words joined by underscores."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def complete_months(as_of: dt.date, count: int = 12) -> list[str]:
    """The last `count` complete calendar months before `as_of`, oldest first, as YYYY-MM."""
    months, first = [], as_of.replace(day=1)
    for _ in range(count):
        first = (first - dt.timedelta(days=1)).replace(day=1)
        months.append(f"{first:%Y-%m}")
    return months[::-1]


@dataclass
class Ledger:
    """Everything the bank holds about one customer, loaded once."""

    as_of: dt.date
    accounts: list[Account]
    transactions: list[Transaction]
    bills: list[RecurringBill]
    holdings: list[Holding]
    credit: CreditProfile | None

    def balance(self, kind: str) -> Decimal:
        """Sum of balances of all accounts of one kind."""
        return sum((a.balance for a in self.accounts if a.type == kind), ZERO)

    def has(self, kind: str) -> bool:
        """Whether the customer holds an account of this kind."""
        return any(a.type == kind for a in self.accounts)


def balance_facts(ledger: Ledger) -> list[Fact]:
    """Balance per account kind and net worth."""
    facts = [
        Fact.number(
            f"balance.{kind}",
            f"{kind.replace('_', ' ')} balance",
            ledger.balance(kind),
            "USD",
            f"sum of {kind.replace('_', ' ')} account balances",
            Period.on(ledger.as_of),
        )
        for kind in ("checking", "savings", "credit_card", "mortgage", "brokerage")
        if ledger.has(kind)
    ]
    assets = sum((ledger.balance(k) for k in ASSETS), ZERO)
    debts = sum((ledger.balance(k) for k in LIABILITIES), ZERO)
    facts.append(
        Fact.number(
            "net_worth",
            "net worth",
            assets - debts,
            "USD",
            "checking + savings + brokerage - credit card - mortgage",
            Period.on(ledger.as_of),
        )
    )
    return facts


def spending_table(ledger: Ledger) -> dict[str, dict[str, Decimal]]:
    """Money out by category and month (YYYY-MM), excluding transfers and card payments."""
    table: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for tx in ledger.transactions:
        if tx.amount < 0 and tx.category not in NOT_SPENDING:
            table[tx.category][f"{tx.posted:%Y-%m}"] += -tx.amount
    return {cat: dict(months) for cat, months in table.items()}


def spending_facts(ledger: Ledger) -> list[Fact]:
    """Monthly average and per-month spending for each category and in total."""
    months = complete_months(ledger.as_of)
    table = spending_table(ledger)
    totals = {m: sum((table[c].get(m, ZERO) for c in table), ZERO) for m in months}
    facts = _category_facts("total", "total spending", totals, months)
    for cat in sorted(table):
        facts += _category_facts(slug(cat), f"spending on {cat.lower()}", table[cat], months)
    return facts


def _category_facts(
    key: str, label: str, by_month: dict[str, Decimal], months: list[str]
) -> list[Fact]:
    """Average over the complete months plus one fact per month."""
    window = f"{months[0]} to {months[-1]}"
    avg = sum((by_month.get(m, ZERO) for m in months), ZERO) / len(months)
    facts = [
        Fact.number(
            f"spending.{key}.monthly_avg",
            f"average monthly {label}",
            avg,
            "USD",
            f"money out, averaged over the {len(months)} months {window}",
            Period.trailing(months),
        )
    ]
    facts += [
        Fact.number(
            f"spending.{key}.{m}",
            f"{label} in {m}",
            by_month.get(m, ZERO),
            "USD",
            f"sum of money out in {m}",
            Period.month(m),
        )
        for m in months
    ]
    return facts


def income_facts(ledger: Ledger) -> list[Fact]:
    """Monthly income detected from recurring payroll or payout deposits."""
    months = complete_months(ledger.as_of, INCOME_MONTHS)
    deposits = [t for t in ledger.transactions if t.amount > 0 and t.category == "Income"]
    payers = {t.merchant for t in deposits}
    recurring = {
        p for p in payers if len({f"{t.posted:%Y-%m}" for t in deposits if t.merchant == p}) >= 2
    }
    in_window = [t for t in deposits if t.merchant in recurring and f"{t.posted:%Y-%m}" in months]
    monthly = sum((t.amount for t in in_window), ZERO) / INCOME_MONTHS
    facts = [
        Fact.number(
            "income.monthly",
            "monthly income",
            monthly,
            "USD",
            f"recurring deposits from {len(recurring)} payer(s), averaged over "
            f"{months[0]} to {months[-1]}",
            Period.trailing(months),
        )
    ]
    if deposits:
        last = max(deposits, key=lambda t: (t.posted, t.amount))
        facts.append(
            Fact.number(
                "income.last_deposit",
                "last income deposit",
                last.amount,
                "USD",
                f"from {last.merchant}",
                Period.on(last.posted, f"on {say_date(last.posted)}"),
            )
        )
        facts.append(
            Fact.date(
                "income.last_deposit_date",
                "date of last income deposit",
                last.posted,
                f"from {last.merchant}",
            )
        )
    return facts

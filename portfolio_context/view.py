"""The customer 360 view: every account unified into a snapshot plus citable facts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portfolio_context.analytics import (
    Ledger,
    balance_facts,
    complete_months,
    income_facts,
    spending_facts,
    spending_table,
)
from portfolio_context.facts import Fact
from portfolio_context.investments import portfolio_facts
from portfolio_context.models import (
    Account,
    BankMeta,
    CreditProfile,
    Customer,
    Holding,
    RecurringBill,
    Transaction,
)
from portfolio_context.obligations import bill_facts, debt_facts, emergency_facts, upcoming_bills

BUFFER = Decimal("500")
VIEW_DAYS = 400  # the view reads this much history (the bank keeps 30+ months for models)
# Negative figures and the positive fact a draft states instead: id -> (new id, label, derivation).
SHORTFALLS = {
    "balance.checking": (
        "balance.checking_overdrawn",
        "amount checking is overdrawn by",
        "minus the checking balance",
    ),
    "net_worth": (
        "net_worth.debts_over_assets",
        "amount debts exceed assets by",
        "credit card + mortgage - checking - savings - brokerage",
    ),
}
# Transactions whose counterparty may be a person (a P2P payee stays personal data).
PERSON_CATEGORIES = frozenset({"Transfer", "Income", "P2P"})


class CustomerNotFound(LookupError):
    """No customer with that id exists in the bank."""


@dataclass
class Customer360:
    """Snapshot and facts for one customer as of the bank's as-of date."""

    customer: Customer
    ledger: Ledger
    facts: list[Fact] = field(default_factory=list)

    def fact(self, fact_id: str) -> Fact | None:
        """The fact with this id, if the customer has it."""
        return next((f for f in self.facts if f.id == fact_id), None)

    @cached_property
    def merchants(self) -> frozenset[str]:
        """Businesses the customer paid: names the advisor may read (never transfers to people)."""
        return frozenset(
            t.merchant
            for t in self.ledger.transactions
            if t.amount < 0 and t.category not in PERSON_CATEGORIES
        )

    def to_json(self) -> dict[str, Any]:
        """The view as JSON for `/v1/customers/me/context`."""
        months = complete_months(self.ledger.as_of)
        table = spending_table(self.ledger)
        return {
            "customer": {"id": self.customer.id, "name": self.customer.name},
            "as_of": self.ledger.as_of.isoformat(),
            "accounts": [
                {
                    "id": a.id,
                    "type": a.type,
                    "name": a.name,
                    "balance": float(a.balance),
                    "credit_limit": float(a.credit_limit) if a.credit_limit else None,
                }
                for a in self.ledger.accounts
            ],
            "spending_by_month": {
                cat: {m: float(v.get(m, 0)) for m in months} for cat, v in sorted(table.items())
            },
            "upcoming_bills": [
                {
                    "payee": b.payee,
                    "category": b.category,
                    "amount": float(b.amount),
                    "due": b.due.isoformat(),
                }
                for b in upcoming_bills(self.ledger)
            ],
            "holdings": [
                {
                    "symbol": h.symbol,
                    "name": h.name,
                    "asset_class": h.asset_class,
                    "market_value": float(h.market_value),
                    "duration_years": float(h.duration_years),
                }
                for h in self.ledger.holdings
            ],
            "facts": [f.to_json() for f in self.facts],
        }


def load_ledger(session: Session, customer_id: str, as_of: dt.date) -> tuple[Customer, Ledger]:
    """Read one customer's accounts, transactions, bills, holdings and credit profile."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise CustomerNotFound(customer_id)
    accounts = list(
        session.scalars(
            select(Account).where(Account.customer_id == customer_id).order_by(Account.id)
        )
    )
    ids = [a.id for a in accounts]
    transactions = list(
        session.scalars(
            select(Transaction)
            .where(
                Transaction.account_id.in_(ids),
                Transaction.posted >= as_of - dt.timedelta(days=VIEW_DAYS),
            )
            .order_by(Transaction.posted, Transaction.id)
        )
    )
    bills = list(
        session.scalars(select(RecurringBill).where(RecurringBill.customer_id == customer_id))
    )
    holdings = list(
        session.scalars(select(Holding).where(Holding.account_id.in_(ids)).order_by(Holding.symbol))
    )
    credit = session.get(CreditProfile, customer_id)
    return customer, Ledger(as_of, accounts, transactions, bills, holdings, credit)


def bank_as_of(session: Session) -> dt.date:
    """The as-of date the bank was seeded for."""
    value = session.scalar(select(BankMeta.value).where(BankMeta.key == "as_of"))
    if value is None:
        raise CustomerNotFound("the bank has not been seeded")
    return dt.date.fromisoformat(value)


def build_view(session: Session, customer_id: str, buffer: Decimal = BUFFER) -> Customer360:
    """Compute the 360 view of one customer."""
    customer, ledger = load_ledger(session, customer_id, bank_as_of(session))
    return view_of(customer, ledger, buffer)


def view_of(customer: Customer, ledger: Ledger, buffer: Decimal = BUFFER) -> Customer360:
    """The 360 view of a customer whose ledger is already loaded (or built in a test)."""
    income = income_facts(ledger)
    facts = balance_facts(ledger) + income + spending_facts(ledger)
    facts += bill_facts(ledger, buffer) + debt_facts(ledger, income[0].value)  # type: ignore[arg-type]
    facts += emergency_facts(ledger) + portfolio_facts(ledger)
    return Customer360(customer, ledger, facts + shortfall_facts(facts))


def shortfall_facts(facts: list[Fact]) -> list[Fact]:
    """A positive companion for each negative figure a draft states in words, never as -$."""
    by_id = {f.id: f for f in facts}
    made = []
    for fid, (new_id, label, derivation) in SHORTFALLS.items():
        fact = by_id.get(fid)
        if fact is not None and isinstance(fact.value, Decimal) and fact.value < 0:
            made.append(Fact.number(new_id, label, -fact.value, fact.unit, derivation, fact.period))
    return made

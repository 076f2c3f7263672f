"""Observable credit features of one customer for the credit-risk model; never a protected basis.

ECOA / Regulation B: no race, colour, religion, national origin, sex, marital status, age,
receipt of public assistance, nor a proxy the bank holds (birth year, marital status, name,
state, a retired or student job). The features come from the customer's ledger and bureau
profile only; DTI and utilisation reuse the 360 view's own computations.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from portfolio_context.analytics import ZERO, Ledger, complete_months, income_facts
from portfolio_context.models import Account, CreditProfile, Customer, RecurringBill, Transaction
from portfolio_context.obligations import debt_facts
from portfolio_context.view import CustomerNotFound

# feature -> monotone direction of risk (+1: higher value, higher risk; -1: lower risk; 0: free)
MONOTONE: dict[str, int] = {
    "card_utilization": 1,
    "debt_to_income": 1,
    "bureau_score": -1,
    "delinquencies_24m": 1,
    "in_default": 1,
    "inquiries_6m": 1,
    "open_tradelines": 0,
    "monthly_income": -1,
    "income_variability": 1,
    "months_on_book": -1,
    "deposit_balance": -1,
}
FEATURES: tuple[str, ...] = tuple(MONOTONE)
# Conservative values used when a customer lacks the data; every use is named in the trace.
DEFAULTS: dict[str, float] = {
    "card_utilization": 100.0,
    "debt_to_income": 100.0,
    "bureau_score": 580.0,
    "delinquencies_24m": 1.0,
    "in_default": 0.0,
    "inquiries_6m": 3.0,
    "open_tradelines": 0.0,
    "income_variability": 1.0,
}
# Fields the bank holds that the model must never see (protected bases and their proxies).
PROTECTED: frozenset[str] = frozenset(
    {"birth_year", "age", "marital", "name", "state", "job", "sex", "gender", "race", "religion"}
    | {"colour", "color", "national_origin", "public_assistance"}
)
INCOME_MONTHS = 6


@dataclass(frozen=True)
class CreditInputs:
    """One customer's model features plus the facts the credit policy reads."""

    customer_id: str
    values: dict[str, float]
    defaults_used: tuple[str, ...]
    hardship: bool
    in_default: bool
    current_limit: Decimal | None
    current_apr: Decimal | None
    monthly_income: Decimal


def load_credit_inputs(session: Session, customer_id: str, as_of: dt.date) -> CreditInputs:
    """Read the customer's ledger and derive the credit inputs (CustomerNotFound if unknown)."""
    customer, ledger = load_credit_ledger(session, customer_id, as_of)
    return credit_inputs(customer, ledger)


def load_credit_ledger(
    session: Session, customer_id: str, as_of: dt.date
) -> tuple[Customer, Ledger]:
    """The part of the 360 view's ledger the credit features read: accounts, bills, the
    bureau profile and income deposits only (the same figures, without loading all spending)."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise CustomerNotFound(customer_id)
    mine = select(Account).where(Account.customer_id == customer_id).order_by(Account.id)
    accounts = list(session.scalars(mine))
    income = select(Transaction).where(
        Transaction.account_id.in_([a.id for a in accounts]),
        Transaction.category == "Income",
        Transaction.amount > 0,
    )
    bills = select(RecurringBill).where(RecurringBill.customer_id == customer_id)
    ledger = Ledger(
        as_of, accounts, list(session.scalars(income.order_by(Transaction.posted, Transaction.id))),
        list(session.scalars(bills)), [], session.get(CreditProfile, customer_id),
    )  # fmt: skip
    return customer, ledger


def credit_inputs(customer: Customer, ledger: Ledger) -> CreditInputs:
    """The credit inputs of a customer whose ledger is loaded."""
    income = Decimal(str(income_facts(ledger)[0].value))
    found = {**_obligations(ledger, income), **_bureau(ledger), **_relationship(ledger, income)}
    default_flag = customer.in_default
    found["in_default"] = None if default_flag is None else float(default_flag)
    missing = tuple(name for name in FEATURES if found.get(name) is None)
    values = {
        name: DEFAULTS[name] if name in missing else float(found[name] or 0) for name in FEATURES
    }
    cards = [a for a in ledger.accounts if a.type == "credit_card"]
    return CreditInputs(
        customer_id=customer.id,
        values=values,
        defaults_used=missing,
        hardship=bool(customer.hardship),
        in_default=bool(default_flag),
        current_limit=sum((a.credit_limit or ZERO for a in cards), ZERO) if cards else None,
        current_apr=cards[0].apr if cards else None,
        monthly_income=income,
    )


def _obligations(ledger: Ledger, income: Decimal) -> dict[str, float | None]:
    """Debt-to-income and card utilisation (percent), as the 360 view computes them."""
    facts = {f.id: f.value for f in debt_facts(ledger, income)}
    dti, utilisation = facts.get("debt.dti"), facts.get("credit.utilization")
    return {
        "debt_to_income": float(str(dti)) if dti is not None else None,
        "card_utilization": float(str(utilisation)) if utilisation is not None else None,
    }


def _bureau(ledger: Ledger) -> dict[str, float | None]:
    """The bureau profile's figures (None when the customer has no profile)."""
    credit = ledger.credit
    if credit is None:
        return dict.fromkeys(
            ("bureau_score", "delinquencies_24m", "inquiries_6m", "open_tradelines")
        )
    return {
        "bureau_score": float(credit.score),
        "delinquencies_24m": float(credit.delinquencies_24m),
        "inquiries_6m": float(credit.inquiries_6m),
        "open_tradelines": float(credit.open_tradelines),
    }


def _relationship(ledger: Ledger, income: Decimal) -> dict[str, float | None]:
    """Income level and stability, months on book, deposit balances."""
    opened = min((a.opened for a in ledger.accounts), default=ledger.as_of)
    return {
        "monthly_income": float(income),
        "income_variability": income_variability(ledger),
        "months_on_book": max((ledger.as_of - opened).days, 0) / 30.44,
        "deposit_balance": float(ledger.balance("checking") + ledger.balance("savings")),
    }


def income_variability(ledger: Ledger) -> float | None:
    """Coefficient of variation of monthly income over recent complete months (None: none)."""
    months = complete_months(ledger.as_of, INCOME_MONTHS)
    totals = dict.fromkeys(months, 0.0)
    for tx in ledger.transactions:
        month = f"{tx.posted:%Y-%m}"
        if tx.amount > 0 and tx.category == "Income" and month in totals:
            totals[month] += float(tx.amount)
    mean = statistics.fmean(totals.values())
    if mean <= 0:
        return None
    return statistics.pstdev(totals.values()) / mean

"""Customer signals the policy tests, read from the 360 view's facts (never recomputed)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from advisor.decisions.policy import Policy
from portfolio_context.view import Customer360

# Facts of the 360 view the policy reads, by signal name (the fact id).
FACT_SIGNALS = (
    "emergency_fund.months",
    "cash.free_after_bills",
    "credit.utilization",
    "credit.score",
    "debt.dti",
    "income.monthly",
    "balance.checking",
    "balance.savings",
    "balance.credit_card",
    "spending.total.monthly_avg",
)
ACCOUNT_TYPES = ("checking", "savings", "credit_card", "mortgage", "brokerage", "term_deposit")
Signal = float | bool | None


def fact_value(view: Customer360, fact_id: str) -> float | None:
    """A numeric fact of the view as a float, or None when the customer lacks it."""
    found = view.fact(fact_id)
    return float(found.value) if found is not None and isinstance(found.value, Decimal) else None


def card_apr(view: Customer360) -> float | None:
    """The highest card APR among the view's rate facts."""
    rates = [float(f.value) for f in view.facts if f.id == "rate.credit_card"]
    return max(rates) if rates else None


def customer_signals(view: Customer360, policy: Policy) -> dict[str, Signal]:
    """Every signal of one customer; None where the bank does not know it."""
    signals: dict[str, Signal] = {fid: fact_value(view, fid) for fid in FACT_SIGNALS}
    held = {a.type for a in view.ledger.accounts}
    signals |= {f"holds.{kind}": kind in held for kind in ACCOUNT_TYPES}
    signals["liquid_balance"] = (signals["balance.checking"] or 0.0) + (
        signals["balance.savings"] or 0.0
    )
    owed = signals["balance.credit_card"] or 0.0
    signals["high_interest_debt"] = high_interest_debt(view, owed, policy.derived)
    return signals | profile_signals(view)


def high_interest_debt(view: Customer360, owed: float, derived: Mapping[str, float]) -> bool | None:
    """Whether a card balance runs at a high APR (None: a balance at an unknown APR)."""
    if owed <= 0:
        return False
    apr = card_apr(view)
    return None if apr is None else apr >= derived["high_interest_apr"]


def profile_signals(view: Customer360) -> dict[str, Signal]:
    """Age, hardship, default and recent delinquencies from the customer and credit records."""
    customer, credit = view.customer, view.ledger.credit
    return {
        "age": float(view.ledger.as_of.year - customer.birth_year),
        "hardship": customer.hardship,
        "in_default": customer.in_default,
        "credit.delinquencies_24m": float(credit.delinquencies_24m) if credit else None,
    }

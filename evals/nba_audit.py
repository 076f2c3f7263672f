"""Policy violations in served recommendation lists, checked from the bank's own records.

Independent of the ranking's rule engine (advisor/decisions/nba.py): the checks below read the
customer, accounts and credit rows and the 360 view's emergency-fund figure directly, and
the policy's numbers (thresholds, caps) from nba_policy.yaml, so a bug in how the engine
evaluates its rules shows up here as a violation.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from functools import lru_cache
from typing import Any

import yaml

from advisor.decisions.policy import POLICY_FILE
from advisor.decisions.service import Recommendation
from portfolio_context.view import Customer360


@lru_cache(maxsize=1)
def raw_policy() -> dict[str, Any]:
    """The policy file as plain data."""
    loaded: dict[str, Any] = yaml.safe_load(POLICY_FILE.read_text("utf-8"))
    return loaded


def card_debt_is_high_interest(view: Customer360, apr_floor: float) -> bool:
    """Whether any card with a balance charges at least the floor APR (unknown APR counts)."""
    cards = [a for a in view.ledger.accounts if a.type == "credit_card" and a.balance > 0]
    return any(a.apr is None or a.apr >= Decimal(str(apr_floor)) for a in cards)


def customer_flags(view: Customer360, policy: dict[str, Any]) -> dict[str, Any]:
    """What the policy's constraints depend on, read from the records (unknown = not allowed)."""
    customer, credit = view.customer, view.ledger.credit
    months = view.fact("emergency_fund.months")
    return {
        "hardship": customer.hardship is not False,
        "delinquent": credit is None
        or credit.delinquencies_24m > 0
        or customer.in_default is not False,
        "held": {a.type for a in view.ledger.accounts},
        "months": float(months.value) if months is not None else None,
        "high_interest": card_debt_is_high_interest(view, policy["derived"]["high_interest_apr"]),
        "age": view.ledger.as_of.year - customer.birth_year,
    }


def list_violations(view: Customer360, served: list[Recommendation]) -> list[str]:
    """Every constraint one served list breaks (empty when it keeps the policy)."""
    policy = raw_policy()
    actions = {a["product"]: a for a in policy["actions"]}
    flags, found = customer_flags(view, policy), []
    if len(served) > policy["list_size"]:
        found.append(f"list of {len(served)} over the list size")
    for rec in served:
        found += [f"{rec.product}: {v}" for v in product_violations(actions[rec.product], flags)]
    return found


def product_violations(action: dict[str, Any], flags: dict[str, Any]) -> list[str]:
    """The constraints serving this action to this customer breaks."""
    kind, found = action["kind"], []
    if kind == "credit" and (flags["hardship"] or flags["delinquent"]):
        found.append("credit offer in hardship or after a delinquency")
    if action.get("holds") in flags["held"]:
        found.append("product already held")
    if kind in ("investment", "deposit") and flags["hardship"]:
        found.append("new product in hardship")
    target = raw_policy()["derived"]["emergency_months_target"]
    months = flags["months"]
    unsuitable = months is None or months < target or flags["high_interest"] or flags["age"] > 75
    if kind == "investment" and unsuitable:
        found.append("investment not suitable")
    return found


def cap_violations(served_at: list[tuple[str, dt.datetime]], now: dt.datetime) -> list[str]:
    """Contact caps broken by one customer's served log (action, time served)."""
    caps = raw_policy()["caps"]
    since = now - dt.timedelta(days=caps["window_days"])
    recent = Counter(action for action, at in served_at if at >= since)
    found = [f"{a}: served {n} times" for a, n in recent.items() if n > caps["per_action"]]
    total = sum(recent.values())
    return found + ([f"{total} served in the window"] if total > caps["per_window"] else [])

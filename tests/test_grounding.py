"""Claims, verification and the stream gate, table-driven."""

from __future__ import annotations

import datetime as dt

import pytest

from advisor.grounding.claims import find_claims
from advisor.grounding.verify import Verifier
from portfolio_context.facts import Fact

FACTS = [
    Fact.number("balance.checking", "checking balance", 4200, "USD", "sum of balances"),
    Fact.number(
        "spending.groceries.monthly_avg",
        "average monthly spending on groceries",
        555.9,
        "USD",
        "averaged over the 12 months 2025-11 to 2026-10",
    ),
    Fact.number("debt.dti", "debt-to-income ratio", 48.3, "percent", "payments / income"),
    Fact.number("cash.free_after_bills", "free cash", -2706.07, "USD", "balance - bills"),
    Fact.date("bills.rent.due", "rent due date", dt.date(2026, 12, 1), "next due date"),
]
VERIFIER = Verifier(FACTS, ["How much did I spend?"], dt.date(2026, 11, 28))


@pytest.mark.parametrize(
    ("text", "grounded"),
    [
        ("Your balance is $4,200.", True),
        ("Your balance is 4200.00 dollars.", True),
        ("Your balance is $4.2k.", True),
        ("Your balance is USD 4200", True),
        ("Your balance is $4,201.", False),
        ("System override: 4,200.00.", False),
        ("Your DTI is 48.3 today.", False),
        ("Your balance is $42,000.", False),
        ("You spend $555.90 a month.", True),
        ("You spend about $556 a month.", True),
        ("You spend about $560 a month.", False),
        ("Your DTI is 48.3%.", True),
        ("Your DTI is 48%.", True),
        ("Your DTI is 48.3 percent.", True),
        ("Your DTI is 43.8%.", False),
        ("You are $2,706.07 short.", False),
        ("You can spend $2,706.07 freely.", False),
        ("You have -$2,706.07 free.", True),
        ("Rent is due December 1, 2026.", True),
        ("Rent is due Dec 1.", True),
        ("Rent is due on 2026-12-01.", True),
        ("Rent is due 12/01/2026.", True),
        ("Rent is due December 2, 2026.", False),
        ("That was in October 2026.", True),
        ("That was in March 2024.", False),
        ("Over the last 12 months.", True),
        ("Over the last 18 months.", False),
        ("No numbers at all.", True),
    ],
)
def test_verifier(text: str, grounded: bool) -> None:
    assert (VERIFIER.ungrounded(text) == []) is grounded, [
        c.text for c in VERIFIER.ungrounded(text)
    ]


def test_claims_are_found_in_order_with_dates_first() -> None:
    claims = find_claims("On December 1, 2026 pay $1,017.37 (48.3%).")
    assert [c.kind for c in claims] == ["date", "number", "number"]
    assert claims[1].value is not None and float(claims[1].value) == 1017.37


def test_states_checks_one_fact() -> None:
    assert VERIFIER.states("It is $4,200.00", FACTS[0])
    assert not VERIFIER.states("It is $555.90", FACTS[0])

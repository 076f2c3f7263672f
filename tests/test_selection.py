"""Which facts a question selects, and how follow-ups inherit from the previous turn."""

from __future__ import annotations

import pytest

from advisor.grounding.selection import Slots, select_facts
from portfolio_context.db import session_scope
from portfolio_context.view import Customer360, build_view


@pytest.fixture(scope="module")
def view(bank_url: str) -> Customer360:
    """C0004: a pre-retiree with every kind of account."""
    with session_scope(bank_url) as db:
        return build_view(db, "C0004")


@pytest.mark.parametrize(
    ("question", "topic", "first_fact"),
    [
        ("What's my checking balance?", "balance", "balance.checking"),
        ("how much money do I have in savings", "balance", "balance.savings"),
        ("How much do I owe on my credit card?", "balance", "balance.credit_card"),
        ("What's left on my mortgage?", "balance", "balance.mortgage"),
        ("mortgage balance please", "balance", "balance.mortgage"),
        ("How much do I spend on groceries a month?", "spending", "spending.groceries.monthly_avg"),
        ("How much did I spend eating out last month?", "spending", "spending.dining.2026-10"),
        ("what did I spend on gas in March?", "spending", "spending.fuel.2026-03"),
        ("What are my total expenses?", "spending", "spending.total.monthly_avg"),
        ("Which bills are due soon?", "bills", "bills.upcoming_30d.count"),
        ("How much can I safely spend after bills?", "free_cash", "cash.free_after_bills"),
        ("What's my debt to income ratio?", "dti", "debt.dti"),
        ("What's my credit utilization?", "utilization", "credit.utilization"),
        ("what is my credit score", "credit_score", "credit.score"),
        (
            "How many months would my emergency fund last?",
            "emergency_fund",
            "emergency_fund.months",
        ),
        ("How is my portfolio allocated?", "portfolio", "portfolio.total_value"),
        (
            "What happens to my investments if interest rates rise?",
            "rate_sensitivity",
            "portfolio.duration",
        ),
        ("What's my net worth?", "net_worth", "net_worth"),
        ("How much is my monthly income?", "income", "income.monthly"),
        ("When did I last get paid?", "income", "income.monthly"),
        ("Tell me a joke", None, None),
    ],
)
def test_question_selects_facts(
    view: Customer360, question: str, topic: str | None, first_fact: str | None
) -> None:
    selection = select_facts(question, view)
    if topic is None:
        assert selection is None
        return
    assert selection is not None and selection.topic == topic
    assert selection.facts[0].id == first_fact
    assert selection.facts[0].display in selection.draft


@pytest.mark.parametrize(
    ("previous", "follow_up", "first_fact"),
    [
        (Slots("spending", "Dining"), "and last month?", "spending.dining.2026-10"),
        (
            Slots("spending", "Dining", "2026-10"),
            "what about groceries?",
            "spending.groceries.2026-10",
        ),
        (Slots("balance", accounts=["checking"]), "and savings?", "balance.savings"),
        (Slots("spending", "Dining"), "how about in June", "spending.dining.2026-06"),
        (Slots("spending", "Dining", "2026-10"), "and on average?", "spending.dining.monthly_avg"),
    ],
)
def test_follow_ups(view: Customer360, previous: Slots, follow_up: str, first_fact: str) -> None:
    selection = select_facts(follow_up, view, previous)
    assert selection is not None and selection.facts[0].id == first_fact


def test_new_topic_is_not_merged(view: Customer360) -> None:
    selection = select_facts("what's my credit score", view, Slots("spending", "Dining"))
    assert selection is not None and selection.topic == "credit_score"


def test_missing_account_is_said_plainly(bank_url: str) -> None:
    with session_scope(bank_url) as db:
        c0001 = build_view(db, "C0001")
    assert c0001.fact("balance.mortgage") is None
    selection = select_facts("what's my mortgage balance", c0001)
    assert selection is not None and "don't have a mortgage account" in selection.draft
    assert selection.facts == []

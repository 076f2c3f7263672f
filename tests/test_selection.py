"""Which facts a question selects, and how follow-ups inherit from the previous turn."""

from __future__ import annotations

import pytest

from advisor.grounding.drafts import build_draft, month_words
from advisor.grounding.rules import load_rulebook
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


MONTHS = [  # C0004's records end with October 2026 (as of 2026-11-28)
    ("how much did I spend in March 2019?", "2019-03", "March 2019"),
    ("how much did I spend in March 1900?", "1900-03", "March 1900"),
    ("how much did I spend in March 2099?", "2099-03", "March 2099"),
    ("how much did I spend in March, 2026?", "2026-03", "$"),
    ("how much did I spend in March?", "2026-03", "$"),
    ("how much did I spend in March 3rd week?", "2026-03", "$"),
    # not a plausible year: not a month with its year, nor the latest March; the average, said so
    ("how much did I spend in March 0000?", None, "a month on average"),
    ("how much did I spend in March 9999?", None, "a month on average"),
    ("how much did I spend in March 1899?", None, "a month on average"),
    ("how much did I spend in March 123?", None, "a month on average"),
]  # fmt: skip


@pytest.mark.parametrize(("question", "month", "says"), MONTHS)
def test_a_month_is_read_with_a_plausible_year_only(
    view: Customer360, question: str, month: str | None, says: str
) -> None:
    selection = select_facts(question, view)
    assert selection is not None and selection.slots.month == month
    assert says in selection.draft


@pytest.mark.parametrize(
    ("month", "words"),
    [("2019-03", "March 2019"), ("0000-03", "March 0000"), ("2019-13", "that month"),
     ("2019-00", "that month"), ("nonsense", "that month"), ("", "that month")],
)  # fmt: skip
def test_a_month_is_named_without_building_a_date(month: str, words: str) -> None:
    assert month_words(month) == words


@pytest.mark.parametrize("month", ["0000-03", "9999-12", "2019-13", "bad"])
def test_a_restored_month_that_is_no_date_is_answered_without_a_figure(
    view: Customer360, month: str
) -> None:
    spending = next(t for t in load_rulebook().topics if t.id == "spending")
    draft = build_draft(spending, Slots("spending", None, month), view)
    assert draft.fallback and "$" not in draft.text

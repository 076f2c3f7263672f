"""Drafts a banker would sign: every draft template held to prompts/STYLE.md on edge values."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from advisor.grounding.periods import period_problems
from advisor.grounding.selection import Selection, select_facts
from advisor.grounding.verify import Verifier
from portfolio_context.analytics import Ledger, complete_months
from portfolio_context.db import session_scope
from portfolio_context.models import Account, Customer, RecurringBill, Transaction
from portfolio_context.view import Customer360, build_view, view_of

AS_OF = dt.date(2026, 11, 28)
MONTHS = complete_months(AS_OF)  # 2025-11 .. 2026-10

QUESTIONS = [
    "What's my checking balance?",
    "What's my savings balance?",
    "What is my credit card balance?",
    "What's my mortgage balance?",
    "I just got paid. Should I move some money to savings?",
    "I just got paid. What should I do with the extra money?",
    "How much can I safely spend after bills?",
    "What bills do I have coming up?",
    "How much do I spend on dining?",
    "How much did I spend eating out last month?",
    "What are my total expenses?",
    "What's my debt to income ratio?",
    "How much is my monthly income?",
    "What's my net worth?",
    "How many months would my emergency fund last?",
    "What's my credit utilization?",
    "what is my credit score",
    "What's my credit card APR?",
    "How is my portfolio allocated?",
    "What happens to my investments if interest rates rise?",
]
NEXT_STEP = re.compile(
    r"\b(you can|you could|we'd suggest|one of our bankers|if you'd like|ask me)\b", re.I
)
NOT_OUR_VOICE = re.compile(
    r"\bI\b|\bI'(?:m|ll|ve|d)\b|\b(sorry|apologi[sz]e|unfortunately|great news|congratulations"
    r"|well done|don't worry|amazing|excellent)\b|!",
    re.I,
)
BAD_PLURAL = re.compile(
    r"(?<![\d.,])1 (bills|payments|deposits|accounts)\b|\b(?:[02-9]|\d\d+) bill\b"
)


def customer(cid: str) -> Customer:
    """A test customer."""
    return Customer(
        id=cid,
        name="Test Customer",
        birth_year=1990,
        profile="test",
        income_type="salaried",
        state="NY",
    )


def account(kind: str, balance: str, limit: str | None = None) -> Account:
    """An account of one kind."""
    apr = Decimal("24.9") if kind == "credit_card" else None
    return Account(
        id=f"A-{kind}",
        customer_id="T",
        type=kind,
        name=f"Test {kind}",
        balance=Decimal(balance),
        credit_limit=Decimal(limit) if limit else None,
        apr=apr,
        opened=dt.date(2020, 1, 1),
    )


def paid(
    category: str, amount: str, months: list[str], merchant: str = "SHOP"
) -> list[Transaction]:
    """Money out (or in, for a positive amount) on the 15th of each month."""
    return [
        Transaction(
            account_id="A-checking",
            posted=dt.date.fromisoformat(f"{m}-15"),
            amount=Decimal(amount),
            merchant=merchant,
            category=category,
            memo="",
        )
        for m in months
    ]


def bill(payee: str, amount: str, day: int, debt: bool = False) -> RecurringBill:
    """A monthly bill."""
    return RecurringBill(
        customer_id="T",
        account_id="A-checking",
        payee=payee,
        category="Utilities",
        amount=Decimal(amount),
        day_of_month=day,
        is_debt=debt,
    )


SALARY = paid("Income", "4000.00", MONTHS, "ACME PAYROLL")
DINING = paid("Dining", "-300.00", MONTHS, "CAFE")
CARD = account("credit_card", "1200.00", "5000.00")
RENT, POWER, LOAN = (
    bill("RENT", "1800.00", 1),
    bill("POWER", "150.00", 5),
    bill("LOAN", "300.00", 9, True),
)


def build(
    accounts: list[Account], txs: list[Transaction], bills: list[RecurringBill], cid: str = "T"
) -> Customer360:
    """A small 360 view built from a hand-made ledger."""
    return view_of(customer(cid), Ledger(AS_OF, accounts, txs, bills, [], None))


EDGES: dict[str, Customer360] = {
    "negative_free_cash": build(
        [account("checking", "1000.00"), account("savings", "3000.00"), CARD],
        SALARY + DINING,
        [RENT, POWER, LOAN],
    ),
    "zero_free_cash": build([account("checking", "2450.00"), CARD], SALARY + DINING, [RENT, POWER]),
    "tiny_surplus": build([account("checking", "2492.17"), CARD], SALARY + DINING, [RENT, POWER]),
    "surplus_no_savings": build([account("checking", "9000.00"), CARD], SALARY + DINING, [POWER]),
    "surplus_with_savings": build(
        [account("checking", "9000.00"), account("savings", "10.00"), CARD],
        SALARY + DINING,
        [RENT, POWER],
    ),
    "no_bills_short": build([account("checking", "200.00"), CARD], SALARY + DINING, []),
    "overdrawn": build([account("checking", "-52.10"), CARD], SALARY + DINING, [POWER]),
    "no_dining": build([account("checking", "5000.00"), CARD], SALARY, [POWER]),
    "zero_last_month": build(
        [account("checking", "5000.00"), CARD],
        SALARY + paid("Dining", "-80.00", MONTHS[:-1]),
        [POWER],
    ),
    "no_income": build([account("checking", "5000.00"), CARD], DINING, [RENT, LOAN]),
    "no_debt_no_card": build([account("checking", "5000.00")], SALARY + DINING, [POWER]),
    "card_paid_off": build(
        [account("checking", "5000.00"), account("credit_card", "0.00", "5000.00")],
        SALARY + DINING,
        [POWER],
    ),
    "negative_net_worth": build(
        [account("checking", "3000.00"), account("credit_card", "9000.00", "10000.00")],
        SALARY + DINING,
        [POWER],
    ),
    "brand_new": build([account("checking", "250.00"), account("savings", "0.00")], [], []),
}
CASES = [(name, q) for name in EDGES for q in QUESTIONS]


def selected(name: str, question: str) -> Selection:
    """The selection (topic, facts, draft) for one edge customer and question."""
    selection = select_facts(question, EDGES[name])
    assert selection is not None, question
    return selection


def unexplained_digits(selection: Selection) -> str:
    """The draft with every fact display value and fact period wording taken out."""
    text = selection.draft
    shown = [f.display for f in selection.facts]
    shown += [f.period.words for f in selection.facts if f.period]
    for piece in sorted(shown, key=len, reverse=True):
        text = text.replace(piece, "")
    return re.sub(r"[^\d]", "", text)


@pytest.mark.parametrize(("name", "question"), CASES)
def test_style_rules_hold_mechanically(name: str, question: str) -> None:
    selection = selected(name, question)
    draft = selection.draft
    assert "-$" not in draft and "$-" not in draft
    assert not BAD_PLURAL.search(draft), draft
    assert NEXT_STEP.search(draft), draft
    assert not NOT_OUR_VOICE.search(draft), draft
    assert unexplained_digits(selection) == "", draft
    for sentence in re.split(r"(?<=[.;])\s+", draft):
        assert "$0.00" not in sentence or "balance is" in sentence, sentence


@pytest.mark.parametrize(("name", "question"), CASES)
def test_draft_period_words_fit_their_facts(name: str, question: str) -> None:
    selection = selected(name, question)
    verifier = Verifier(selection.facts, [], AS_OF)
    for sentence in re.split(r"(?<=[.!?])\s+", selection.draft):
        stated = [f for f in selection.facts if verifier.states(sentence, f)]
        assert period_problems(sentence, stated, AS_OF, turn=selection.facts) == [], sentence


@pytest.mark.parametrize(
    ("name", "question", "says", "never"),
    [
        (
            "negative_free_cash",
            QUESTIONS[4],
            ["$1,750.00 short", "by December 9, 2026", "not moving money", "$3,000.00 in savings"],
            ["move up to"],
        ),
        ("negative_free_cash", QUESTIONS[5], ["$1,750.00 short", "not moving money"], ["free in"]),
        ("zero_free_cash", QUESTIONS[6], ["Nothing is left free", "not moving money"], ["$0.00"]),
        ("tiny_surplus", QUESTIONS[4], ["$42.17 free", "little room"], ["move up to"]),
        (
            "surplus_no_savings",
            QUESTIONS[4],
            ["$8,350.00 free", "if you open one", "move up to $8,350.00"],
            [],
        ),
        (
            "surplus_with_savings",
            QUESTIONS[5],
            ["$6,550.00 free", "move up to $6,550.00 to savings"],
            ["open one"],
        ),
        (
            "no_bills_short",
            QUESTIONS[6],
            ["$300.00 short of the safety buffer of $500.00", "no bills due"],
            [],
        ),
        ("overdrawn", QUESTIONS[0], ["overdrawn by $52.10"], ["balance is"]),
        ("overdrawn", QUESTIONS[6], ["$702.10 short", "overdrawn by $52.10"], []),
        ("surplus_no_savings", QUESTIONS[1], ["don't have a savings account with us"], ["$"]),
        ("surplus_no_savings", QUESTIONS[7], ["1 bill due", "for $150.00"], ["bills due"]),
        ("negative_free_cash", QUESTIONS[7], ["3 bills due", "totalling $2,250.00"], []),
        ("no_bills_short", QUESTIONS[7], ["no bills due in the next 30 days"], ["$0.00"]),
        ("no_dining", QUESTIONS[8], ["We don't see any spending on dining"], ["$"]),
        (
            "zero_last_month",
            QUESTIONS[9],
            ["didn't spend anything on dining in October 2026"],
            ["$"],
        ),
        ("no_income", QUESTIONS[11], ["can't work out your debt-to-income ratio"], ["0.0%"]),
        ("no_income", QUESTIONS[12], ["We don't see regular income"], ["$0.00"]),
        ("no_debt_no_card", QUESTIONS[11], ["no monthly debt payments", "0.0%"], []),
        ("no_debt_no_card", QUESTIONS[15], ["don't see a credit card"], ["0.0%"]),
        ("card_paid_off", QUESTIONS[2], ["don't owe anything on your credit card"], ["$0.00"]),
        ("negative_net_worth", QUESTIONS[13], ["$6,000.00 more than your assets"], []),
        ("brand_new", QUESTIONS[10], ["We don't see any spending in your last twelve"], ["$"]),
        ("brand_new", QUESTIONS[14], ["can't work out how long"], ["months of"]),
        ("brand_new", QUESTIONS[12], ["We don't see regular income"], ["last deposit"]),
        ("brand_new", QUESTIONS[16], ["don't have a credit score on file"], []),
        ("brand_new", QUESTIONS[18], ["don't see an investment portfolio"], []),
    ],
)
def test_edge_value_drafts(name: str, question: str, says: list[str], never: list[str]) -> None:
    draft = selected(name, question).draft
    assert all(s in draft for s in says), draft
    assert not any(n in draft for n in never), draft


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("I just got paid. Should I move some money to savings?", "free_cash"),
        ("I just got paid. What should I do with the extra money?", "free_cash"),
        ("Should I put some money into savings?", "free_cash"),
        ("How much could I save this month?", "free_cash"),
        ("When did I last get paid?", "income"),
        ("What's my savings balance?", "balance"),
        ("How is APY calculated on my savings account?", None),
    ],
)
def test_surplus_questions_route_to_free_cash(question: str, topic: str | None) -> None:
    selection = select_facts(question, EDGES["surplus_with_savings"])
    assert (selection.topic if selection else None) == topic


def test_seeded_customer_short_after_bills_gets_the_bankers_answer(bank_url: str) -> None:
    with session_scope(bank_url) as db:
        view = build_view(db, "C0003")
    selection = select_facts("I just got paid. Should I move some money to savings?", view)
    assert selection is not None and selection.topic == "free_cash"
    assert selection.facts[0].id == "cash.shortfall_after_bills"
    assert "You'd be $1,428.17 short in checking after the bills due by" in selection.draft
    assert "-$" not in selection.draft and "not moving money" in selection.draft

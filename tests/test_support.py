"""The support checker, table by table: what a model sentence may and may not say."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from advisor.grounding.similarity import SentenceSimilarity
from advisor.grounding.support import SupportChecker, load_support_rules
from portfolio_context.facts import Fact, Period

AS_OF = dt.date(2026, 11, 28)
BALANCE = Fact.number(
    "balance.checking", "Checking balance", 1017.37, "USD", "ledger", Period.on(AS_OF)
)
DINING = Fact.number(
    "spending.dining.2026-10", "Dining in October 2026", 266.17, "USD", "sum",
    Period.month("2026-10"),
)  # fmt: skip
DTI = Fact.number("debt.dti", "Debt-to-income", 20.0, "percent", "payments / income")
PAYMENTS = Fact.number("debt.monthly_payments", "Monthly debt payments", 900, "USD", "sum")
INCOME = Fact.number("income.monthly", "Monthly income", 4500, "USD", "payroll")
FREE = Fact.number("cash.free_after_bills", "Free cash after bills", 1200, "USD", "balance")

BALANCE_DRAFT = "Your checking balance is $1,017.37."
DINING_DRAFT = "You spent $266.17 on dining in October 2026."
DTI_DRAFT = (
    "Your debt-to-income ratio is 20.0%: monthly debt payments of $900.00 against monthly "
    "income of $4,500.00."
)
FREE_DRAFT = "You have $1,200.00 free in checking after your bills. You could move it to savings."
TURNS = {
    "balance": (BALANCE_DRAFT, [BALANCE], "What's my checking balance?"),
    "dining": (DINING_DRAFT, [DINING], "How much did I spend eating out last month?"),
    "dti": (DTI_DRAFT, [DTI, PAYMENTS, INCOME], "What's my debt to income ratio?"),
    "free": (FREE_DRAFT, [FREE], "I just got paid. Should I move some money to savings?"),
    "email": (
        "You have 2 bills due in the next 30 days.",
        [],
        "Your invoice of $504 is due. Can you summarize this email and my bills due?",
    ),
}

# (turn, sentence, supported, what the reason says)
CASES = [
    ("balance", "Your checking balance is $1,017.37.", True, ""),
    ("balance", "You have $1,017.37 in your checking account.", True, ""),
    ("balance", "Sure!", True, ""),
    ("balance", "Hi <PERSON_1>!", True, ""),
    ("balance", "Is there anything else I can help you with?", True, ""),
    ("balance", "Your checking balance is $1,071.37.", False, "no fact's"),
    (
        "balance",
        "I'm sorry for your loss, but I'm unable to provide your balance.",
        False,
        "customer",
    ),
    ("balance", "Unfortunately, your balance is $1,017.37.", False, "apology"),
    ("balance", "Your savings balance is $1,017.37.", False, "savings"),
    ("balance", "Your checking balance is $1,017.37, which is healthy.", False, "opinion"),
    ("balance", "Your checking balance went up to $1,017.37.", False, "direction"),
    ("balance", "You should keep your checking balance at $1,017.37.", False, "advice"),
    ("balance", "You qualify for an overdraft with $1,017.37 in checking.", False, "eligibility"),
    ("balance", "I am happy to help you with your banking today.", False, "unlike"),
    ("dining", "You spent $266.17 on dining in October 2026.", True, ""),
    ("dining", "Dining out cost you $266.17 in October 2026.", True, ""),
    ("dining", "You spent $266.17 on dining in 2026.", False, "2026"),
    ("dining", "You spent $266.17 on groceries in October 2026.", False, "Groceries"),
    ("dti", "Your DTI is 20.0%, with $900.00 of debt payments and $4,500.00 of income.", True, ""),
    (
        "dti",
        "The debt-to-income ratio of 20.0% is a testament to the resilience of the community.",
        False,
        "opinion",
    ),
    ("dti", "Your debt payments are $4,500.00 against income of $900.00.", False, "order"),
    ("free", "You have $1,200.00 free in checking after your bills.", True, ""),
    ("free", "I just got paid, and I'm planning to spend it wisely.", False, "customer"),
    ("email", "Your invoice of $504 is due on December 15.", False, "the customer's"),
    ("email", "You have 2 bills due in the next 30 days.", True, ""),
]


@pytest.fixture(scope="module")
def similarity() -> SentenceSimilarity:
    """The shipped MiniLM similarity."""
    return SentenceSimilarity.shipped()


@pytest.mark.parametrize(("turn", "sentence", "supported", "why"), CASES)
def test_support(
    similarity: SentenceSimilarity, turn: str, sentence: str, supported: bool, why: str
) -> None:
    draft, facts, message = TURNS[turn]
    checker = SupportChecker(draft, facts, message, AS_OF, similarity=similarity)
    verdict = checker.judge(sentence)
    assert verdict.supported is supported, verdict.reason
    assert why.lower() in verdict.reason.lower()


def test_the_customers_number_may_be_echoed_as_theirs() -> None:
    draft, facts, message = TURNS["email"]
    checker = SupportChecker(draft, facts, message, AS_OF)
    assert checker.judge("The $504 you mentioned is not one of your bills with us.").supported
    assert not checker.judge("We received your payment of $504.").supported


def test_merchants_count_as_content() -> None:
    checker = SupportChecker(
        "You spent $266.17 at Ticketmaster.", [DINING], "", AS_OF, merchants=frozenset({"Kroger"})
    )
    assert "Kroger" in checker.judge("You spent $266.17 at Kroger.").reason


def test_counterpart_is_the_draft_sentence_with_the_same_facts() -> None:
    draft = "Your checking balance is $1,017.37. You have $1,200.00 free after bills."
    checker = SupportChecker(draft, [BALANCE, FREE], "", AS_OF)
    assert checker.counterpart("Wow, $1,200.00 is free!", used=set()) == 1
    assert checker.counterpart("Wow, $1,200.00 is free!", used={1}) == 0
    assert checker.restated("You have $1,017.37 in checking.") == {0}


def test_rules_load_and_every_stance_is_named() -> None:
    rules = load_support_rules()
    assert set(rules.stances) == {"refusal", "apology", "advice", "opinion", "eligibility"}
    assert set(rules.directions) == {"up", "down"}
    assert 0 < rules.min_similarity < 1


class CountingEmbedder:
    """Unit vectors from a text's length and first letter; counts the texts it embeds."""

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def unit_vectors(self, texts: list[str]) -> np.ndarray:
        """A unit vector per text."""
        self.embedded += texts
        rows = np.array([[len(t), ord(t[0]), 1.0] for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_similarity_remembers_drafts_and_survives_a_full_cache() -> None:
    embedder = CountingEmbedder()
    similarity = SentenceSimilarity(embedder, remember=2)
    first = similarity("x", ["a", "b"])
    again = similarity("x", ["a", "c"])  # the cache is full: "a" known, "c" new
    assert first[0] == again[0] and embedder.embedded == ["x", "a", "b", "x", "c"]
    assert len(similarity("y", ["d", "e", "d"])) == 3


def test_the_customers_voice_is_caught_even_when_the_draft_says_ask_me() -> None:
    draft = "You have 2 bills due in the next 30 days. You can ask me which ones are due first."
    checker = SupportChecker(draft, [], "", AS_OF)
    assert "customer" in checker.judge("I just got paid, and I'm planning to pay my bills.").reason
    assert checker.judge("I'm happy to help: you have 2 bills due in the next 30 days.").supported


def test_another_persons_name_or_relation_is_not_the_customer() -> None:
    checker = SupportChecker(DINING_DRAFT, [DINING], "What did my wife spend?", AS_OF)
    assert not checker.judge("<PERSON_1> spent $266.17 on dining in October 2026.").supported
    assert not checker.judge("Your wife spent $266.17 on dining in October 2026.").supported

"""A message that names a credit-limit increase without asking for one (a negation, refusal,
cancellation, complaint or how/why question) gets an informational reply: no decision, offer,
action or notification, whether the decision patterns or the router's intent caught it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from advisor.chat import decision_facts
from advisor.chat.decision_facts import DecisionFacts, Provider
from advisor.chat.plan import replies
from advisor.chat.request_cues import cues, not_a_request
from advisor.orchestration.audit import AuditLog
from advisor.routing.router import Routed
from advisor.settings import Settings
from tests.conftest import bearer
from tests.credit_fixtures import GOOD
from tests.sse import chat_events, done
from tests.test_chat_credit_offer import actions_of, bank, template  # noqa: F401

INTENT = "credit_limit_request"
NOT_ASKED = [  # the reviewer's phrases first, then more
    ("Please don't increase my credit limit, I overspend", "negation"),
    ("I don't want a higher limit", "negation"),
    ("How do I raise my credit limit?", "question"),
    ("Why did you increase my card limit without asking?", "complaint"),
    ("Cancel the credit limit increase you offered", "cancellation"),
    ("Please don\u2019t raise my credit limit", "negation"),
    ("dont increase my card limit", "negation"),
    ("Do not raise my card limit.", "negation"),
    ("No thanks, I don't need a bigger limit", "negation"),
    ("I never asked for a higher credit limit", "complaint"),
    ("Please lower my credit limit", "cancellation"),
    ("Stop offering me a higher limit", "refusal"),
    ("Keep my credit limit the same", "refusal"),
    ("Will a higher limit hurt my credit score?", "question"),
    ("Should I increase my credit limit?", "question"),
    ("What happens if I raise my credit limit?", "question"),
    ("how do I request a credit line increase", "question"),
    # second review: negations the router or the patterns let through
    ("Stop raising my credit limit", "negation"),
    ("Quit increasing my credit limit", "negation"),
    ("Hold off on raising my credit limit", "negation"),
    ("Please avoid increasing my credit limit", "negation"),
    ("Enough with upping my credit limit", "negation"),
    ("I can't afford a higher credit limit", "negation"),
    ("I cannot have my credit limit increased", "negation"),
    ("I can not have a bigger card limit", "negation"),
    ("Raise my credit limit? Absolutely not", "refusal"),
    ("Increase my credit limit? No.", "refusal"),
    ("Higher credit limit? Nope", "refusal"),
]
ASKED = [
    "Can you raise my credit limit?",
    "I'd like a higher limit on my card",
    "increase my credit limit to $8000 please",
    "can you bump up my credit card limit",
    "I need a bigger limit on my visa",
    "My card got declined, can you raise my limit?",
    "I'm travelling next month, please increase my credit limit by $2,000",
    # second review: requests a negation or question cue blocked
    "I have never missed a payment so please raise my credit limit",
    "Raise my credit limit, that's why I'm here",
    "Please raise my credit limit, I want to know what happens next",
    "Please don't hesitate to raise my credit limit",
    "Why not raise my credit limit to 8000",
    "Hi! Why not raise my credit limit to 8000",
    "I'd like a higher credit limit, no rush",
    "Increase my credit limit please, I can't pay rent with this one",
]


@pytest.mark.parametrize(("text", "kind"), NOT_ASKED)
def test_a_mention_that_asks_for_nothing_is_no_request(text: str, kind: str) -> None:
    found = not_a_request(INTENT, text)
    assert found is not None and found.kind == kind and found.answer in replies()


@pytest.mark.parametrize("text", ASKED)
def test_a_clear_request_is_one(text: str) -> None:
    assert decision_facts.matched_intent(text) == INTENT
    assert not_a_request(INTENT, text) is None


def test_every_cue_answers_with_a_reply_that_states_no_figure() -> None:
    answers = {k.answer for _, kinds in cues().values() for k in kinds}
    assert answers and answers <= set(replies())
    assert not any(ch.isdigit() or ch == "$" for a in answers for ch in replies()[a])


seen: list[str] = []


def counting(settings: Settings, context: object) -> Provider:
    """A provider that only records that it was asked (registered in PROVIDERS below)."""

    def provide(customer_id: str, view: Any, message: str, earlier: tuple[str, ...] = ()) -> None:
        seen.append(message)

    return provide


@pytest.mark.parametrize("routed", [True, False])
def test_no_path_reaches_the_provider_with_a_non_request(
    monkeypatch: pytest.MonkeyPatch, routed: bool
) -> None:
    entry = decision_facts.Entry(f"{__name__}:counting", before_topics=True)
    monkeypatch.setitem(decision_facts.PROVIDERS, INTENT, entry)
    seen.clear()
    facts = DecisionFacts(Settings(), None)  # type: ignore[arg-type]
    for text, _ in NOT_ASKED:
        route = Routed(text, INTENT, "action", "action", 0.97, ()) if routed else None
        decided = facts.decide(GOOD, None, text, route, lambda _: None)  # type: ignore[arg-type]
        caught = routed or decision_facts.matched_intent(text) is not None
        said = decided.selection.draft if decided.selection is not None else None
        assert (said in replies().values()) if caught else said is None, text
        assert decided.trace_ids == () and decided.proposal is None
    assert seen == []
    facts.decide(GOOD, None, ASKED[0], None, lambda _: None)  # type: ignore[arg-type]
    assert seen == [ASKED[0]]  # a clear request still reaches it


ROUTED_ONLY = [  # messages no decision pattern names, routed to the intent: whether they ask
    ("Can you give me a credit line increase?", True),
    ("I need more room on my card", True),
    ("extend my credit line please", True),
    ("Stop raising my credit limit", False),
    ("my credit limit", False),
    ("credit limits in general", False),
]


@pytest.mark.parametrize(("text", "asks"), ROUTED_ONLY)
def test_a_routed_only_message_reaches_the_provider_only_when_it_asks(
    monkeypatch: pytest.MonkeyPatch, text: str, asks: bool
) -> None:
    entry = decision_facts.Entry(f"{__name__}:counting", before_topics=True)
    monkeypatch.setitem(decision_facts.PROVIDERS, INTENT, entry)
    seen.clear()
    assert decision_facts.matched_intent(text) is None
    route = Routed(text, INTENT, "action", "action", 0.99, ())
    facts = DecisionFacts(Settings(), None)  # type: ignore[arg-type]
    facts.decide(GOOD, None, text, route, lambda _: None)  # type: ignore[arg-type]
    assert seen == ([text] if asks else [])


@pytest.mark.parametrize(("text", "kind"), NOT_ASKED[:8])
def test_a_non_request_in_chat_offers_nothing(
    bank: tuple[TestClient, Settings],  # noqa: F811
    text: str,
    kind: str,
) -> None:
    client, settings = bank
    events = chat_events(client, bearer(settings, GOOD), text)
    final = done(events)
    answer = replies()[next(k.answer for k in cues()[INTENT][1] if k.name == kind)]
    assert final["text"] == answer and final["decision_trace_ids"] == []
    assert actions_of(events) == []
    assert client.get("/v1/actions", headers=bearer(settings, GOOD)).json() == []
    assert client.get("/v1/notifications", headers=bearer(settings, GOOD)).json() == []
    assert [e for e in AuditLog.from_settings(settings).entries() if e.kind == "decision"] == []

"""Chat API on the fake back-end: event stream, grounding fallback, sessions."""

from __future__ import annotations

from fastapi.testclient import TestClient

from advisor.settings import Settings
from tests.fakes import FakeBackend
from tests.sse import chat_events, done, streamed_text


def context_fact(client: TestClient, auth: dict[str, str], fact_id: str) -> dict[str, object]:
    """One fact of the caller's 360 view, as the API returns it."""
    facts = client.get("/v1/customers/me/context", headers=auth).json()["facts"]
    return next(f for f in facts if f["id"] == fact_id)


def test_stream_has_meta_facts_tokens_grounding_done(
    client: TestClient, auth: dict[str, str]
) -> None:
    events = chat_events(client, auth, "What's my checking balance?")
    names = [name for name, _ in events]
    assert names[0] == "meta" and names[-1] == "done"
    assert names.index("fact") < names.index("token") < names.index("grounding")
    fact = context_fact(client, auth, "balance.checking")
    final = done(events)
    assert final["grounding"] == "model" and final["finish_reason"] == "stop"
    assert fact["display"] in final["text"] == streamed_text(events).strip()
    assert final["facts"] == ["balance.checking"]


def test_groceries_answer_uses_context_figure(client: TestClient, auth: dict[str, str]) -> None:
    events = chat_events(client, auth, "How much do I spend on groceries a month?")
    fact = context_fact(client, auth, "spending.groceries.monthly_avg")
    assert fact["display"] in done(events)["text"]


def test_wrong_number_from_model_falls_back_to_draft(
    client: TestClient, auth: dict[str, str], fake: FakeBackend
) -> None:
    fake.script = lambda request: "Your checking balance is $999,999.99 today."
    events = chat_events(client, auth, "What's my checking balance?")
    grounding = next(data for name, data in events if name == "grounding")
    assert grounding["outcome"] == "fallback" and "999,999.99" in grounding["reason"]
    shown = streamed_text(events)
    assert "999,999.99" not in shown
    assert context_fact(client, auth, "balance.checking")["display"] in shown
    assert done(events)["grounding"] == "fallback"


def test_an_off_topic_first_sentence_falls_back_before_anything_is_shown(
    client: TestClient, auth: dict[str, str], fake: FakeBackend
) -> None:
    fake.script = lambda request: "I am happy to help you with your banking today."
    events = chat_events(client, auth, "What's my checking balance?")
    assert done(events)["grounding"] == "fallback"
    grounding = next(data for name, data in events if name == "grounding")
    assert grounding["reason"].startswith("unsupported sentence: reads unlike")
    assert grounding["retract"] is False
    assert "happy to help" not in streamed_text(events)
    assert context_fact(client, auth, "balance.checking")["display"] in done(events)["text"]


def test_an_answer_without_the_asked_figure_is_completed_from_the_draft(
    client: TestClient, auth: dict[str, str], fake: FakeBackend
) -> None:
    fake.script = lambda request: "Sure!"
    events = chat_events(client, auth, "What's my checking balance?")
    balance = context_fact(client, auth, "balance.checking")["display"]
    assert done(events)["grounding"] == "completed"
    assert done(events)["text"].startswith("Sure!") and balance in done(events)["text"]
    assert streamed_text(events) == done(events)["text"]


def test_unmatched_question_gets_help_without_model(
    client: TestClient, auth: dict[str, str], fake: FakeBackend
) -> None:
    events = chat_events(client, auth, "Tell me a joke about pirates")
    assert done(events)["finish_reason"] == "no_facts"
    assert fake.requests == []


def test_follow_up_uses_session_memory(client: TestClient, auth: dict[str, str]) -> None:
    first = chat_events(client, auth, "How much do I spend on dining a month?")
    session = done(first)["session_id"]
    second = chat_events(client, auth, "and last month?", session_id=session)
    assert done(second)["session_id"] == session
    (fact_id,) = done(second)["facts"]
    assert fact_id.startswith("spending.dining.20")
    third = chat_events(client, auth, "what about groceries?", session_id=session)
    assert done(third)["facts"][0].startswith("spending.groceries.20")


def test_prompt_is_lean_and_static_part_first(
    client: TestClient, auth: dict[str, str], fake: FakeBackend, settings: Settings
) -> None:
    chat_events(client, auth, "What's my checking balance?")
    system, user = fake.requests[-1].messages
    assert system.role == "system" and "Draft:" not in system.content
    assert "checking balance" in user.content and "groceries" not in user.content
    assert len(system.content) + len(user.content) < 900


def test_healthz(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["llm"]["backend"] == "fake"


def test_a_month_with_an_implausible_year_gets_an_answer(
    client: TestClient, auth: dict[str, str]
) -> None:
    events = chat_events(client, auth, "how much did I spend in March 0000?")  # asserts 200
    final = done(events)
    assert final["finish_reason"] == "stop" and "a month on average" in final["text"]

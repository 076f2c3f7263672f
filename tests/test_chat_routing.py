"""Chat turns routed by the intent router: each family gets its own kind of answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from advisor.api.app import create_app
from tests.conftest import bearer, make_settings
from tests.fakes import FakeBackend
from tests.sse import chat_events, done
from tests.test_router_trained import router_dir  # noqa: F401  (the small trained router)


@pytest.fixture
def routed(tmp_path: Path, bank_url: str, router_dir: Path) -> Iterator[TestClient]:  # noqa: F811
    """The app on the fake back-end with the small router."""
    settings = make_settings(tmp_path, bank_url, router_model_dir=router_dir)
    with TestClient(create_app(settings, backend=FakeBackend())) as client:
        client.headers.update(bearer(settings, "C0001"))
        yield client


def test_a_servicing_request_gets_its_cited_article_and_the_offered_action(
    routed: TestClient,
) -> None:
    events = chat_events(routed, {}, "my card still hasn't arrived")
    final, meta = done(events), events[0][1]
    assert final["plan"] == "servicing" and final["intent"] == "card_arrival"
    assert meta["intent"] == "card_arrival" and meta["family"] == "servicing"
    citations = [d for n, d in events if n == "citation"]
    assert citations and citations[0]["source"] == "servicing"
    assert final["citations"] == [citations[0]["citation"]]
    assert any(n == "action" and d["status"] == "offered" for n, d in events)
    assert "business days" in final["text"] and "[1]" in final["text"]


def test_an_out_of_scope_question_gets_a_polite_reply_not_a_quote(routed: TestClient) -> None:
    events = chat_events(routed, {}, "What's the capital of Peru?")
    final = done(events)
    assert final["plan"] == "out_of_scope" and final["family"] == "out_of_scope"
    assert not [n for n, _ in events if n == "citation"]
    assert "outside what I can help with" in final["text"]


def test_a_question_about_own_money_is_answered_from_facts(routed: TestClient) -> None:
    final = done(chat_events(routed, {}, "What's my checking balance?"))
    assert final["plan"] == "facts" and final["family"] == "own_money"
    assert final["facts"] == ["balance.checking"] and 0 < final["confidence"] <= 1
    assert re.search(r"\$[\d,]+\.\d\d", final["text"])


def test_a_follow_up_keeps_the_previous_topic(routed: TestClient) -> None:
    first = done(chat_events(routed, {}, "How much do I spend on dining a month?"))
    second = done(chat_events(routed, {}, "and last month?", session_id=first["session_id"]))
    assert second["topic"] == "spending" and second["facts"][0].startswith("spending.dining.")


def test_a_greeting_gets_a_greeting(routed: TestClient) -> None:
    final = done(chat_events(routed, {}, "hello there"))
    assert final["plan"] == "reply" and final["intent"] == "greeting"
    assert "$" not in final["text"]


def test_a_servicing_request_after_a_facts_question_is_no_follow_up(routed: TestClient) -> None:
    first = done(chat_events(routed, {}, "What's my debt to income ratio?"))
    second = done(chat_events(routed, {}, "my card still hasn't arrived", first["session_id"]))
    assert second["plan"] == "servicing" and second["topic"] is None

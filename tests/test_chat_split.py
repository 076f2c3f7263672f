"""A servicing request the router is split on: the plan answers both candidates' articles (a
lead-in from replies.yaml, each article with its own citation) and the stream reports the
runner-up; a clear route, or a runner-up that is not a servicing intent, gets one article."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from advisor.api.app import create_app
from advisor.chat.plan import Inputs, Plan, Screening, decide, replies
from advisor.chat.sources import alternative_for, servicing_for
from advisor.routing.router import Routed
from advisor.routing.split import Alternative, SplitRule
from retrieval.servicing import servicing_answer
from tests.conftest import bearer, make_settings
from tests.fakes import FakeBackend
from tests.sse import chat_events, done
from tests.test_router_split import SERVICING_SPLIT, fixed_model

ARRIVAL, ESTIMATE = "card_arrival", "card_delivery_estimate"


def routed(intent: str, confidence: float, *alternatives: tuple[str, float]) -> Routed:
    """A route as the router gives it (family and handler from the intent's kind)."""
    family = "servicing" if servicing_answer(intent) else "own_money"
    handler = "servicing" if family == "servicing" else "facts"
    runner_up = tuple(Alternative(i, c) for i, c in alternatives)
    return Routed("where is my card", intent, family, handler, confidence, (), runner_up)


def plan_of(route: Routed) -> Plan:
    """The plan of a message no facts topic answers, with the route's articles."""
    given = Inputs(Screening(), None, (), route, servicing_for(route), reported=route,
                   alternative=alternative_for(route))  # fmt: skip
    return decide(given)


PLANS = [
    ("split: both articles", routed(ARRIVAL, 0.5, (ESTIMATE, 0.4)), "servicing", 2),
    ("clear: one article", routed(ARRIVAL, 0.92), "servicing", 1),
    ("runner-up not servicing: one", routed(ARRIVAL, 0.55, ("balance", 0.4)), "servicing", 1),
    ("runner-up out of scope: one", routed(ARRIVAL, 0.55, ("out_of_scope", 0.4)), "servicing", 1),
    ("the pair reaches the floor one article must", routed(ARRIVAL, 0.3, (ESTIMATE, 0.25)),
     "servicing", 2),
    ("the pair below the floor: no article", routed(ARRIVAL, 0.3, (ESTIMATE, 0.15)), "help", 0),
    ("one article below the floor", routed(ARRIVAL, 0.45), "help", 0),
]  # fmt: skip


@pytest.mark.parametrize(("case", "route", "kind", "articles"), PLANS)
def test_the_plan_answers_both_articles_only_when_split(
    case: str, route: Routed, kind: str, articles: int
) -> None:
    plan = plan_of(route)
    shown = [a for a in (plan.servicing, plan.alternative) if a is not None]
    assert (plan.kind, len(shown)) == (kind, articles), case
    lead = replies()["servicing_either"]
    assert plan.text.startswith(lead) is (articles == 2), case
    assert ("[2]" in plan.text) is (articles == 2), case
    for index, article in enumerate(shown, 1):
        assert f"{article.text} [{index}]" in plan.text, case
    assert plan.text.count(lead) <= 1


@pytest.fixture
def fixed_app(
    tmp_path: Path, bank_url: str, request: pytest.FixtureRequest
) -> Iterator[TestClient]:
    """The app on the fake back-end with a router whose probabilities are fixed (the param)."""
    fixed_model(request.param, SplitRule(0.9, 0.5)).save(tmp_path / "router")
    settings = make_settings(tmp_path, bank_url, router_model_dir=tmp_path / "router")
    with TestClient(create_app(settings, backend=FakeBackend())) as client:
        client.headers.update(bearer(settings, "C0001"))
        yield client


@pytest.mark.parametrize("fixed_app", [SERVICING_SPLIT], indirect=True)
def test_a_split_request_streams_both_articles_with_their_citations(fixed_app: TestClient) -> None:
    events = chat_events(fixed_app, {}, "my card still hasn't arrived")
    final, meta = done(events), events[0][1]
    assert final["plan"] == "servicing" and final["intent"] == ARRIVAL
    for data in (meta, final):
        assert data["alternatives"] == [{"intent": ESTIMATE, "confidence": 0.4}]
        assert data["intent"] == ARRIVAL and data["family"] == "servicing"
    citations = [d for n, d in events if n == "citation"]
    articles = [servicing_answer(ARRIVAL), servicing_answer(ESTIMATE)]
    assert [c["index"] for c in citations] == [1, 2]
    assert [c["snippet"] for c in citations] == [a.text for a in articles if a is not None]
    assert final["citations"] == [c["citation"] for c in citations]
    assert final["text"].startswith(replies()["servicing_either"])
    assert "[1]" in final["text"] and "[2]" in final["text"]
    assert not [d for n, d in events if n == "action" and d.get("status") != "offered"]


CLEAR = {ARRIVAL: 0.92, ESTIMATE: 0.04, "out_of_scope": 0.02, "balance": 0.02}


@pytest.mark.parametrize("fixed_app", [CLEAR], indirect=True)
def test_a_clear_request_streams_one_article(fixed_app: TestClient) -> None:
    events = chat_events(fixed_app, {}, "my card still hasn't arrived")
    final, meta = done(events), events[0][1]
    assert final["plan"] == "servicing" and meta["alternatives"] == final["alternatives"] == []
    assert len([n for n, _ in events if n == "citation"]) == 1 == len(final["citations"])
    assert "[2]" not in final["text"]

"""Which plan a message gets when the facts topic patterns and the intent router disagree
(issue #11): the dev set tests/data/plan_precedence.yaml through the real ChatService, its
rails, corpus and trained router (skipped when var/models/router is absent)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from advisor.chat.plan import Plan
from advisor.chat.precedence import followed_route, topics_yield
from advisor.chat.service import ChatService
from advisor.context_service import ContextService
from advisor.grounding.selection import select_facts
from advisor.rails.service import load_rails
from advisor.routing.router import Alternative, Routed, Router
from advisor.settings import Settings
from retrieval.service import RetrievalService
from tests.conftest import make_settings
from tests.fakes import FakeBackend

DATA = Path(__file__).parent / "data" / "plan_precedence.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(DATA.read_text(encoding="utf-8"))["cases"]
ROUTER = Settings().var_dir / "models" / "router"  # `make router` trains it


@pytest.fixture(scope="module")
def service(corpus_var: Path, bank_url: str) -> ChatService:
    """The chat service as the app builds it, on the fake back-end and the trained router."""
    if not (ROUTER / "router.npz").is_file():
        pytest.skip("the intent router is not trained: run `make router`")
    settings = make_settings(corpus_var, bank_url, router_model_dir=ROUTER)
    context = ContextService.from_settings(settings)
    retrieval = RetrievalService.from_settings(settings)
    rails, router = load_rails(settings), Router.from_settings(settings)
    return ChatService.from_settings(settings, context, FakeBackend(), retrieval, rails, router)


def problems(case: dict[str, Any], plan: Plan) -> list[str]:
    """What in the plan differs from the case's expectation."""
    found = []
    article = plan.kind == "action" and plan.servicing is not None  # its action offered
    if plan.kind != case["kind"] and not (article and case["kind"] == "servicing"):
        found.append(f"kind {plan.kind}, expected {case['kind']}")
    if "topic" in case and plan.topic != case["topic"]:
        found.append(f"topic {plan.topic}, expected {case['topic']}")
    if case.get("no_figure") and "$" in plan.text:
        found.append(f"states a figure: {plan.text}")
    if "says" in case and case["says"] not in plan.text:
        found.append(f"does not say {case['says']!r}: {plan.text}")
    return found


def known(case: dict[str, Any]) -> Any:
    """The case as a parameter, expected to fail (strictly) when the data says why."""
    marks = [pytest.mark.xfail(reason=case["known"], strict=True)] if "known" in case else []
    return pytest.param(case, id=case["text"][:48], marks=marks)


@pytest.mark.parametrize("case", [known(c) for c in CASES])
def test_the_plan_follows_the_precedence(service: ChatService, case: dict[str, Any]) -> None:
    plan = service.prepare("C0001", case["text"], None).plan
    routed = plan.routed
    said = f"{routed.intent} {routed.family} {routed.confidence:.2f}" if routed else "no route"
    assert not problems(case, plan), (problems(case, plan), said)


def route(intent: str, family: str, confidence: float) -> Routed:
    """A route as the router gives it, without entities."""
    return Routed("", intent, family, family, confidence, ())


YIELDS = [
    ("my refund still isn't in my account", route("Refund_not_showing_up", "servicing", 0.9),
     True),
    ("my refund still isn't in my account", route("Refund_not_showing_up", "servicing", 0.3),
     False),
    ("my refund is missing, what's my checking balance?",
     route("Refund_not_showing_up", "servicing", 0.9), False),
    ("I was charged a fee, how much did I spend on travel?",
     route("exchange_charge", "servicing", 0.95), False),
    ("is there a fee when I spend abroad?", route("regulation_question", "knowledge", 0.7), True),
    ("is there a fee when I spend abroad?", route("regulation_question", "knowledge", 0.5), False),
    ("can a bank charge a fee when my balance is low?", route("balance", "own_money", 0.4), True),
    ("can a bank charge a fee when my balance is low?", None, True),
    ("is my balance enough for rent?", route("balance", "own_money", 0.4), False),
    ("is my balance enough for rent?", None, False),
    ("can I afford to open a savings account with my balance?",
     route("balance", "own_money", 0.9), False),
    # no article answers other_servicing: it neither takes a message nor adds as a runner-up
    ("is my paycheck in yet", route("other_servicing", "servicing", 0.9), False),
    ("is my paycheck in yet", dataclasses.replace(
        route("Refund_not_showing_up", "servicing", 0.41),
        alternatives=(Alternative("other_servicing", 0.26),)), False),
    ("my refund still isn't in my account", dataclasses.replace(
        route("Refund_not_showing_up", "servicing", 0.41),
        alternatives=(Alternative("transaction_charged_twice", 0.26),)), True),
]  # fmt: skip


@pytest.mark.parametrize(("text", "routed", "yields"), YIELDS)
def test_the_topic_patterns_yield_only_without_an_own_money_question(
    text: str, routed: Routed | None, yields: bool
) -> None:
    assert topics_yield(routed, text) is yields


MONTHS = [
    ("how much did I spend in March 2019?", "spending", "March 2019", None),
    ("what did I earn in January 2019", "income", "January 2019", None),
    ("my income for June, 2031?", "income", "June 2031", None),
    ("how much did I spend in October 2026?", "spending", "October 2026", "spending.total.2026-10"),
    ("how much did I spend in March 2026?", "spending", "March 2026", "spending.total.2026-03"),
    # no income figure by month: the average, said to be no figure for that month
    ("how much did I earn in March 2026?", "income", "March 2026", "income.monthly"),
    ("what was my income last month?", "income", "October 2026", "income.monthly"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "topic", "month", "fact"), MONTHS)
def test_a_month_is_read_with_its_year_and_one_outside_the_records_is_said_so(
    bank_url: str, text: str, topic: str, month: str, fact: str | None
) -> None:
    view = ContextService(bank_url, 500.0).view("C0001")  # as of 2026-11-28
    selection = select_facts(text, view)
    assert selection is not None and selection.topic == topic
    assert [f.id for f in selection.facts][:1] == ([fact] if fact else [])
    assert (month in selection.draft) is True and ("$" in selection.draft) is bool(fact)


def out_of_scope(confidence: float, intent: str, probability: float) -> Routed:
    """An out-of-scope call with the likeliest in-scope intent beside it."""
    weak = Routed("", "out_of_scope", "out_of_scope", "out_of_scope", confidence, ())
    return dataclasses.replace(weak, in_scope=Alternative(intent, probability))


FOLLOWED = [
    ("the bakery took my money twice", out_of_scope(0.17, "transaction_charged_twice", 0.83),
     "transaction_charged_twice"),
    ("the bakery took my money twice", out_of_scope(0.96, "transaction_charged_twice", 0.02),
     "out_of_scope"),
    ("the bakery took my money twice", out_of_scope(0.6, "transaction_charged_twice", 0.4),
     "out_of_scope"),
    ("can a bank charge twice for one purchase?",
     out_of_scope(0.3, "transaction_charged_twice", 0.7), "out_of_scope"),
    ("how much is in my savings", out_of_scope(0.3, "balance", 0.7), "out_of_scope"),
    ("the bakery took my money twice", out_of_scope(0.17, "other_servicing", 0.83),
     "out_of_scope"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "routed", "intent"), FOLLOWED)
def test_a_weak_out_of_scope_call_gives_way_to_a_sure_servicing_intent(
    text: str, routed: Routed, intent: str
) -> None:
    followed = followed_route(routed, text)
    assert followed is not None and followed.intent == intent
    assert followed.confidence == (routed.confidence if intent == "out_of_scope" else 0.83)

"""Next-best-action: policy constraints (table-driven), traced recommendations, API and chat."""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from advisor.api.app import create_app
from advisor.api.recommendation_routes import get_recommendations
from advisor.chat.decision_facts import (
    PROVIDERS,
    DecisionDraft,
    DecisionFacts,
    Entry,
    Provider,
    facts_selector,
)
from advisor.context_service import ContextService
from advisor.decisions.explain import explain
from advisor.decisions.nba import ALREADY_HELD, CAP_PER_ACTION, CAP_PER_WINDOW, Ranking, rank
from advisor.decisions.policy import LifeEventRanking, Policy, shipped_policy
from advisor.decisions.propensity import Propensities, Propensity
from advisor.decisions.served import ServedLog
from advisor.decisions.service import RecommendationService
from advisor.decisions.traces import TraceStore
from advisor.grounding.selection import Slots
from advisor.predict.registry import Registry
from advisor.settings import Settings
from evals.nba_audit import list_violations
from portfolio_context.db import session_scope
from portfolio_context.models import Customer
from portfolio_context.seed import seed_bank
from portfolio_context.view import Customer360
from tests.conftest import AS_OF, bearer, make_settings
from tests.fakes import FakeBackend
from tests.sse import chat_events, done

CREDIT = {"credit_limit_review", "home_buying_plan"}
EXPECTED_VALUE = LifeEventRanking("expected_value")  # the plain formula (shipped: shrunk)
HEALTHY: dict[str, float | bool | None] = {
    "emergency_fund.months": 6.0, "cash.free_after_bills": 2500.0, "credit.utilization": 40.0,
    "credit.score": 720.0, "debt.dti": 20.0, "income.monthly": 5000.0,
    "balance.checking": 4000.0, "balance.savings": 16000.0, "balance.credit_card": 0.0,
    "spending.total.monthly_avg": 3000.0, "holds.checking": True, "holds.savings": True,
    "holds.credit_card": True, "holds.mortgage": False, "holds.brokerage": False,
    "holds.term_deposit": False, "liquid_balance": 20000.0, "high_interest_debt": False,
    "age": 40.0, "hardship": False, "in_default": False, "credit.delinquencies_24m": 0.0,
    "credit_risk": 0.05,
}  # fmt: skip


def propensities(policy: Policy, **probabilities: float) -> dict[str, Propensity]:
    """Every propensity at its default, some set as if a model scored them."""
    found = {
        n: Propensity(n, s.default, default_reason="test") for n, s in policy.propensities.items()
    }
    for name, p in probabilities.items():
        found[name.replace("__", ".")] = Propensity(name.replace("__", "."), p, "m", 1, {"x": 0.4})
    return found


def ranking(changes: dict[str, Any], served: dict[str, int] | None = None) -> Ranking:
    """The whole catalogue ranked for a healthy customer with some signals changed."""
    policy = dataclasses.replace(shipped_policy(), list_size=50)
    return rank(policy, {**HEALTHY, **changes}, propensities(policy), served or {})


def served_ids(found: Ranking) -> set[str]:
    return {r.action.id for r in found.served}


@pytest.mark.parametrize(
    ("changes", "withheld", "rule"),
    [
        ({"hardship": True}, CREDIT, "no_credit_in_hardship"),
        ({"hardship": None}, CREDIT, "no_credit_in_hardship"),  # unknown: conservative
        ({"credit.delinquencies_24m": 1.0}, CREDIT, "no_credit_after_delinquency"),
        ({"in_default": True}, CREDIT, "no_credit_after_delinquency"),
        ({"credit_risk": 0.4}, CREDIT, "no_credit_when_risky"),
        ({"hardship": True}, {"investment_account", "term_deposit"}, "nothing_new_in_hardship"),
        ({"holds.savings": True}, {"open_high_yield_savings"}, ALREADY_HELD),
        ({"holds.mortgage": True}, {"home_buying_plan"}, ALREADY_HELD),
        ({"holds.brokerage": True}, {"investment_account"}, ALREADY_HELD),
        ({"emergency_fund.months": 2.0}, {"investment_account"}, "investment_needs_emergency_fund"),
        (
            {"emergency_fund.months": None},
            {"investment_account"},
            "investment_needs_emergency_fund",
        ),
        (
            {"high_interest_debt": True},
            {"investment_account"},
            "investment_not_with_high_interest_debt",
        ),
        ({"age": 80.0}, {"investment_account"}, "investment_needs_horizon"),
    ],
)
def test_policy_rules_withhold_actions(
    changes: dict[str, Any], withheld: set[str], rule: str
) -> None:
    found = ranking(changes)
    assert not withheld & served_ids(found)
    assert all(rule in found.withheld[a] for a in withheld)


def test_a_healthy_customer_gets_credit_and_investment_offers() -> None:
    found = served_ids(ranking({"holds.savings": False}))
    assert {"credit_limit_review", "home_buying_plan", "investment_account"} <= found
    assert "open_high_yield_savings" in found


@pytest.mark.parametrize(
    ("served", "expected_size", "capped", "rule"),
    [
        ({"term_deposit": 5}, 3, "term_deposit", CAP_PER_ACTION),
        ({"term_deposit": 4}, 3, None, None),
        ({"wedding_plan": 19}, 1, None, CAP_PER_WINDOW),
        ({"wedding_plan": 20}, 0, None, CAP_PER_WINDOW),
    ],
)
def test_contact_caps(
    served: dict[str, int], expected_size: int, capped: str | None, rule: str | None
) -> None:
    policy = shipped_policy()
    found = rank(policy, {**HEALTHY, "emergency_fund.months": 6.0}, propensities(policy), served)
    assert len(found.served) == expected_size
    if capped:
        assert capped not in served_ids(found) and rule in found.withheld[capped]
    elif rule:
        assert any(rules == [rule] for rules in found.withheld.values())


def test_score_is_propensity_times_value() -> None:
    policy = dataclasses.replace(shipped_policy(), list_size=50, life_events=EXPECTED_VALUE)
    found = rank(policy, HEALTHY, propensities(policy, life_event__home_buying=0.5), {})
    home = next(r for r in found.served if r.action.id == "home_buying_plan")
    assert home.score == pytest.approx(0.5 * (0.7 * 0.8 + 0.3 * 0.9))
    assert home.propensity is not None and home.propensity.model == "m"


def test_an_action_the_model_scores_near_zero_is_not_suggested() -> None:
    policy = dataclasses.replace(shipped_policy(), list_size=50, life_events=EXPECTED_VALUE)
    found = rank(policy, HEALTHY, propensities(policy, life_event__home_buying=0.004), {})
    assert "home_buying_plan" not in {r.action.id for r in found.served}
    assert found.ineligible["home_buying_plan"] == ["propensity 0.4% below 1%"]


class ModelScored(Propensities):
    """Propensities as if a life-events model scored home buying at 0.9 and a credit-risk model
    scored the customer low risk (injected, no mock)."""

    def for_customer(self, session: Any, customer_id: str, as_of: dt.date) -> dict[str, Propensity]:
        found = propensities(self.policy)
        contributions = {"out_home_improvement_mean3": 1.2, "age": 0.9, "no_label": 0.8}
        found["life_event.home_buying"] = Propensity(
            "life_event.home_buying", 0.9, "life-events", 4, contributions, ("job",)
        )
        found["credit_risk"] = Propensity("credit_risk", 0.05, "credit-risk", 2)  # credit needs it
        return found


@pytest.fixture(scope="module")
def nba_bank(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small bank of our own (these tests write traces and the served log), C0002 in hardship."""
    url = f"sqlite:///{tmp_path_factory.mktemp('nba') / 'bank.db'}"
    seed_bank(url, 8, 42, AS_OF)
    with session_scope(url) as db:
        db.execute(update(Customer).where(Customer.id == "C0002").values(hardship=True))
    return url


def service_on(url: str, tmp_path: Path, scored: bool = False) -> RecommendationService:
    """A recommendation service on the bank, its registry empty (or a model injected)."""
    settings = make_settings(tmp_path, url)
    service = RecommendationService.from_settings(settings, ContextService.from_settings(settings))
    if scored:
        service.propensities = ModelScored(service.propensities.registry, service.policy)
    return service


def test_every_seeded_customer_gets_a_list_without_violations(
    nba_bank: str, tmp_path: Path
) -> None:
    service = service_on(nba_bank, tmp_path)
    for index in range(1, 9):
        customer = f"C{index:04d}"
        recs = service.recommend(customer)
        assert recs, customer
        assert list_violations(service.context.view(customer), recs) == []
    hardship = service.recommend("C0002")
    assert not {r.action_id for r in hardship} & CREDIT


def test_each_recommendation_has_its_own_trace_for_its_customer_only(
    nba_bank: str, tmp_path: Path
) -> None:
    service = service_on(nba_bank, tmp_path)
    recs = service.recommend("C0003")
    traces = TraceStore(nba_bank)
    for rec in recs:
        trace = traces.get(rec.trace_id, "C0003")
        assert trace is not None and trace["recommendation"]["action_id"] == rec.action_id
        assert trace["scores"]["score"] == pytest.approx(rec.score)
        assert trace["inputs"]["signals"]["age"] > 0
        assert traces.get(rec.trace_id, "C0004") is None
    assert len({r.trace_id for r in recs}) == len(recs)


def test_missing_models_are_defaults_and_the_trace_says_so(nba_bank: str, tmp_path: Path) -> None:
    service = service_on(nba_bank, tmp_path)
    payloads = [TraceStore(nba_bank).get(r.trace_id, "C0005") for r in service.recommend("C0005")]
    reasons = payloads[0]["default_reasons"]  # type: ignore[index]
    assert reasons["life_event.home_buying"] == "no promoted life-events model"
    assert all(p["model_versions"] == {} for p in payloads)  # type: ignore[index]


def test_a_model_score_drives_the_rank_and_its_reasons(nba_bank: str, tmp_path: Path) -> None:
    service = service_on(nba_bank, tmp_path, scored=True)
    customer = next(
        f"C{i:04d}" for i in range(1, 9)
        if not service.context.view(f"C{i:04d}").ledger.has("mortgage")
        and f"C{i:04d}" != "C0002"
        and service.assess(f"C{i:04d}").signals["credit.delinquencies_24m"] == 0
    )  # fmt: skip
    top = service.recommend(customer)[0]
    assert top.action_id == "home_buying_plan"
    codes = [r.code for r in top.reasons]
    # the stated chance is the calibrated model's 90% (the ranking shrinks it to the base rate)
    assert codes[0] == "HOME_PURCHASE_LIKELY" and "90%" in top.reasons[0].text
    assert "MODEL_OUT_HOME_IMPROVEMENT_MEAN3" in codes
    assert "your spending on home improvement" in top.reasons[-1].text
    assert not {"MODEL_AGE", "MODEL_NO_LABEL"} & set(codes)  # age is never a reason
    trace = TraceStore(nba_bank).get(top.trace_id, customer)
    assert trace is not None and trace["model_versions"]["life-events"] == 4
    assert trace["contributions"]["out_home_improvement_mean3"] == 1.2
    assert "life_event.home_buying:job" in trace["defaults_used"]


def test_served_log_caps_repeats(nba_bank: str, tmp_path: Path) -> None:
    service = service_on(nba_bank, tmp_path)
    first = service.recommend("C0006")[0].action_id
    start = dt.datetime.now(dt.UTC)
    for day in range(1, service.policy.caps.per_action):  # served once a day
        service.served.clock = partial(operator.add, start, dt.timedelta(days=day))
        service.recommend("C0006")
    assert first not in {r.action_id for r in service.recommend("C0006")}
    later = ServedLog(nba_bank, clock=lambda: start + dt.timedelta(days=12))
    assert later.counts("C0006", service.policy.caps.window_days) == {}


@pytest.fixture
def nba_app(nba_bank: str, tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    """The app on our bank and the fake back-end, the recommendation service overridden."""
    settings = make_settings(tmp_path, nba_bank)
    app = create_app(settings, backend=FakeBackend())
    app.dependency_overrides[get_recommendations] = lambda: service_on(nba_bank, tmp_path)
    with TestClient(app) as client:
        yield client, settings


def test_recommendations_api_shape_and_traces(nba_app: tuple[TestClient, Settings]) -> None:
    client, settings = nba_app
    got = client.get("/v1/customers/me/recommendations", headers=bearer(settings, "C0001"))
    assert got.status_code == 200
    recs = got.json()
    assert recs and set(recs[0]) == {"id", "action", "product", "score", "reasons", "trace_id"}
    assert set(recs[0]["reasons"][0]) == {"code", "text", "contribution"}
    trace = client.get(f"/v1/traces/{recs[0]['trace_id']}", headers=bearer(settings, "C0001"))
    assert trace.status_code == 200
    assert recs[0]["action"] in trace.json()["why"]
    assert trace.json()["recommendation"]["reasons"] == recs[0]["reasons"]


def test_traces_are_404_alike_for_unknown_and_other_customers(
    nba_app: tuple[TestClient, Settings],
) -> None:
    client, settings = nba_app
    recs = client.get("/v1/customers/me/recommendations", headers=bearer(settings, "C0001"))
    own = recs.json()[0]["trace_id"]
    other = client.get(f"/v1/traces/{own}", headers=bearer(settings, "C0003"))
    unknown = client.get(f"/v1/traces/tr_{'0' * 32}", headers=bearer(settings, "C0003"))
    assert other.status_code == unknown.status_code == 404
    assert other.json() == unknown.json()


@pytest.mark.parametrize("path", ["/v1/customers/me/recommendations", f"/v1/traces/tr_{'0' * 32}"])
def test_decision_routes_need_a_token(nba_app: tuple[TestClient, Settings], path: str) -> None:
    assert nba_app[0].get(path).status_code == 401


def test_why_text_uses_only_the_trace() -> None:
    trace = {
        "kind": "recommendation", "inputs": {"as_of": "2026-11-28"},
        "scores": {"probability": 0.25},
        "defaults_used": [], "rules_fired": [{"action": "x", "rules": ["no_credit_in_hardship"]}],
        "recommendation": {"action": "Do a thing", "propensity": "p", "model": "life-events",
                           "model_version": 7, "reasons": [{"text": "Because of $12.00."}]},
    }  # fmt: skip
    text = explain(trace)
    assert 'suggested "Do a thing"' in text and "November 28, 2026" in text
    assert (
        "25%" in text and "life-events model (version 7)" in text and "Because of $12.00." in text
    )
    assert "hardship programme" in text and "weighed with how common" not in text


def test_why_text_states_the_models_chance_and_the_shrunk_ranking_apart() -> None:
    trace = {
        "kind": "recommendation", "inputs": {"as_of": "2026-11-28"},
        "scores": {"probability": 0.45, "propensities": {"p": 0.9}},
        "defaults_used": [], "rules_fired": [],
        "recommendation": {"action": "Do a thing", "propensity": "p", "model": "life-events",
                           "model_version": 7, "reasons": []},
    }  # fmt: skip
    text = explain(trace)
    assert "puts the likelihood at 90%" in text and "We ranked it on 45%" in text


@pytest.mark.parametrize(
    ("message", "fact"),
    [
        ("What should I do with my money?", "reco.1.action"),
        ("Am I ready to buy a home?", "reco.1.action"),
    ],
)
def test_chat_answers_from_the_recommendations(
    nba_app: tuple[TestClient, Settings], message: str, fact: str
) -> None:
    client, settings = nba_app
    events = chat_events(client, bearer(settings, "C0004"), message)
    final = done(events)
    facts = {d["id"]: d for name, d in events if name == "fact"}
    assert final["plan"] == "facts" and final["topic"] == "recommendations"
    assert facts[fact]["value"] in final["text"]
    traces = final["decision_trace_ids"]
    assert traces and TraceStore(settings.resolved_database_url).get(traces[0], "C0004")


class Counting(Propensities):
    """Counts how often the customer is really scored."""

    calls = 0

    def for_customer(self, session: Any, customer_id: str, as_of: dt.date) -> dict[str, Propensity]:
        self.calls += 1
        return propensities(self.policy)


def test_scores_are_kept_until_the_bank_changes(tmp_path: Path) -> None:
    counting = Counting(Registry(tmp_path / "registry"), shipped_policy(), cache_size=2)
    for generation in ["g1", "g1", "g2", "g2", "g1"]:
        counting.cached(None, "C0001", AS_OF, generation)  # type: ignore[arg-type]
    assert counting.calls == 2
    counting.cached(None, "C0002", AS_OF, "g2")  # type: ignore[arg-type]
    counting.cached(None, "C0003", AS_OF, "g2")  # type: ignore[arg-type]
    # C0001 was evicted (cache size 2), so it is scored again:
    counting.cached(None, "C0001", AS_OF, "g1")  # type: ignore[arg-type]
    assert counting.calls == 5


def failing(settings: Settings, context: ContextService) -> Provider:
    """A provider factory whose decisions always fail."""

    def provide(customer_id: str, view: Customer360, message: str) -> DecisionDraft:
        raise RuntimeError("the decision failed")

    return provide


def test_a_failing_decision_leaves_the_turn_to_the_facts(
    monkeypatch: pytest.MonkeyPatch, nba_bank: str, tmp_path: Path
) -> None:
    monkeypatch.setitem(PROVIDERS, "savings_advice", Entry("tests.test_nba:failing", False))
    settings = make_settings(tmp_path, nba_bank)
    context = ContextService.from_settings(settings)
    text, view = "What should I do with my money?", context.view("C0001")
    pick = facts_selector(text, view, Slots(), None, True)
    selection, traces = DecisionFacts(settings, context).select("C0001", view, text, None, pick)
    assert selection is not None and selection.topic == "free_cash" and traces == ()

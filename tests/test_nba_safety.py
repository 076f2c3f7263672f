"""Next-best-action safety: no credit without a credit score, refreshes don't use up contacts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from advisor.context_service import ContextService
from advisor.decisions.chat_facts import event_answer, event_of
from advisor.decisions.nba import Ranking
from advisor.decisions.propensity import CustomerScorer, Propensities
from advisor.decisions.served import Clock
from advisor.decisions.service import Assessed, Recommendation, RecommendationService
from advisor.decisions.traces import TraceStore
from advisor.predict.score import Score
from portfolio_context.db import session_scope
from portfolio_context.models import CreditProfile, Customer
from portfolio_context.seed import seed_bank
from tests.conftest import AS_OF, make_settings

CREDIT = {"credit_limit_review", "home_buying_plan"}
CUSTOMER = "C0001"


class LifeEvents:
    """A life-events scorer that finds home buying very likely."""

    def score_customer(self, session: Any, customer_id: str, as_of: dt.date) -> dict[str, Score]:
        return {"home_buying": Score(0.9, "life-events", 3, {"age": 0.1})}


class CreditRisk:
    """A credit-risk scorer: a low risk, or a broken artefact that raises."""

    def __init__(self, broken: bool) -> None:
        self.broken = broken

    def score_customer(self, session: Any, customer_id: str, as_of: dt.date) -> Score:
        if self.broken:
            raise RuntimeError("corrupt credit-risk artefact")
        return Score(0.05, "credit-risk", 2, {"utilization": -0.2})


class Scorers(Propensities):
    """Propensities from injected scorers (no registry, no mock): credit ones as configured."""

    credit: CreditRisk | None = None

    def scorer(self, model: str) -> tuple[CustomerScorer | None, str]:
        if model == "life-events":
            return LifeEvents(), ""
        if model == "credit-risk" and self.credit is not None:
            return self.credit, ""
        return None, f"no promoted {model} model"


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small bank whose C0001 (no mortgage) is creditworthy on record: no hardship, default
    or arrears, so only the credit score decides whether credit is offered."""
    url = f"sqlite:///{tmp_path_factory.mktemp('nba_safety') / 'bank.db'}"
    seed_bank(url, 3, 42, AS_OF)
    with session_scope(url) as db:
        db.execute(
            update(Customer).where(Customer.id == CUSTOMER).values(hardship=False, in_default=False)
        )
        db.execute(
            update(CreditProfile)
            .where(CreditProfile.customer_id == CUSTOMER)
            .values(delinquencies_24m=0)
        )
    return url


def service_on(url: str, tmp_path: Path, credit: CreditRisk | None) -> RecommendationService:
    """The recommendation service with injected scorers."""
    settings = make_settings(tmp_path, url)
    service = RecommendationService.from_settings(settings, ContextService.from_settings(settings))
    scorers = Scorers(service.propensities.registry, service.policy)
    scorers.credit = credit
    service.propensities = scorers
    return service


@pytest.mark.parametrize(
    ("credit", "offered"),
    [(None, False), (CreditRisk(broken=True), False), (CreditRisk(broken=False), True)],
    ids=["no credit model", "broken credit model", "scored low risk"],
)
def test_credit_is_offered_only_on_a_credit_score(
    bank: str, tmp_path: Path, credit: CreditRisk | None, offered: bool
) -> None:
    service = service_on(bank, tmp_path, credit)
    recs = service.recommend(CUSTOMER)
    assert ("home_buying_plan" in {r.action_id for r in recs}) is offered
    assessed = service.assess(CUSTOMER)
    assert (assessed.signals["credit_risk"] is None) is not offered
    if not offered:
        assert not CREDIT & {r.action.id for r in assessed.ranking.served}
        assert "no_credit_when_risky" in assessed.ranking.withheld["home_buying_plan"]
        trace = TraceStore(bank).get(recs[0].trace_id, CUSTOMER)
        assert trace is not None and "credit_risk" in trace["default_reasons"]


def at(when: dt.datetime) -> Clock:
    """A clock stopped at `when`."""
    return lambda: when


def test_refreshes_in_a_day_count_once_and_caps_still_engage(bank: str, tmp_path: Path) -> None:
    service, customer = service_on(bank, tmp_path, CreditRisk(broken=False)), "C0003"
    start = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
    service.served.clock = at(start)
    top = service.recommend(customer)[0].action_id
    for minutes in range(10):
        service.served.clock = at(start + dt.timedelta(minutes=minutes))
        assert service.recommend(customer)[0].action_id == top
    assert service.served.counts(customer, 7)[top] == 1
    for day in range(1, service.policy.caps.per_action):
        service.served.clock = at(start + dt.timedelta(days=day))
        service.recommend(customer)
    assert top not in {r.action_id for r in service.recommend(customer)}


def suggestion(action_id: str, action: str) -> Recommendation:
    """A served recommendation of an action, without reasons."""
    return Recommendation(f"rec_{action_id}", action_id, action, action_id, "advice", 0.1, [],
                          f"tr_{action_id}")  # fmt: skip


def test_a_life_event_answer_keeps_each_suggestion_at_its_served_rank(
    bank: str, tmp_path: Path
) -> None:
    view = ContextService.from_settings(make_settings(tmp_path, bank)).view(CUSTOMER)
    recs = [suggestion("pay_down_card", "Pay down"), suggestion("wedding_plan", "Wed"),
            suggestion("home_buying_plan", "Buy a home")]  # fmt: skip
    event = event_of("Am I ready to buy a home?")
    assert event is not None
    assessed = Assessed(view, {}, {}, {}, Ranking([]))
    facts, text = event_answer(event | {"label": "Buy a home"}, recs, assessed)
    found = {f.id: f for f in facts}
    assert found["reco.1.action"].value == "Pay down"
    assert found["reco.3.action"].value == "Buy a home"
    assert "rank 3" in found["reco.3.action"].derivation
    assert "Our suggestion for this: Buy a home." in text

"""The recommendation service: the 360 view, propensities and policy in; ranked, traced and
logged recommendations out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from advisor.context_service import ContextService
from advisor.decisions.nba import Ranked, Ranking, rank
from advisor.decisions.policy import Policy, load_policy
from advisor.decisions.propensity import Propensities, Propensity
from advisor.decisions.reasons import Reason, reason_figures, reasons_for
from advisor.decisions.served import ServedLog
from advisor.decisions.signals import Signal, customer_signals
from advisor.decisions.traces import TraceStore
from advisor.learning.serving import Learning
from advisor.predict.registry import Registry
from advisor.settings import Settings
from portfolio_context.db import session_scope
from portfolio_context.view import Customer360

KIND = "recommendation"


@dataclass(frozen=True)
class Recommendation:
    """One served recommendation and the trace it rests on."""

    id: str
    action_id: str
    action: str
    product: str
    kind: str
    score: float
    reasons: list[Reason]
    trace_id: str

    def to_json(self) -> dict[str, Any]:
        """`{"id", "action", "product", "score", "reasons", "trace_id"}`."""
        return {
            "id": self.id,
            "action": self.action,
            "product": self.product,
            "score": round(self.score, 6),
            "reasons": [r.to_json() for r in self.reasons],
            "trace_id": self.trace_id,
        }


@dataclass(frozen=True)
class Assessed:
    """What a customer's ranking was decided from."""

    view: Customer360
    signals: dict[str, Signal]
    propensities: dict[str, Propensity]
    served_before: Mapping[str, int]
    ranking: Ranking


class RecommendationService:
    """Ranks the catalogue for a customer, stores a trace per recommendation and logs it served."""

    def __init__(
        self,
        context: ContextService,
        propensities: Propensities,
        traces: TraceStore,
        served: ServedLog,
        policy: Policy,
        learning: Learning | None = None,
    ) -> None:
        self.context, self.propensities, self.policy = context, propensities, policy
        self.traces, self.served = traces, served
        self.learning = learning  # None: nothing logged, the ranking decides (advisor/learning)

    @classmethod
    def from_settings(
        cls, settings: Settings, context: ContextService | None = None
    ) -> RecommendationService:
        """The service on the settings' bank, registry and the shipped policy."""
        context = context or ContextService.from_settings(settings)
        policy = load_policy()
        propensities = Propensities(Registry.from_settings(settings), policy)
        url = settings.resolved_database_url
        learning = Learning.from_settings(settings)
        return cls(context, propensities, TraceStore(url), ServedLog(url), policy, learning)

    def assess(self, customer_id: str) -> Assessed:
        """Signals, propensities and the ranking of one customer (nothing recorded)."""
        view = self.context.view(customer_id)
        generation = self.context.generation()
        with session_scope(self.context.url) as session:
            found = self.propensities.cached(session, customer_id, view.ledger.as_of, generation)
        signals = decision_signals(view, self.policy, found)
        before = self.served.counts(customer_id, self.policy.caps.window_days)
        return Assessed(view, signals, found, before, rank(self.policy, signals, found, before))

    def recommend(self, customer_id: str) -> list[Recommendation]:
        """The customer's recommendations, each traced and logged as served."""
        return self.recommend_assessed(customer_id)[0]

    def recommend_assessed(
        self, customer_id: str, channel: str = "api"
    ) -> tuple[list[Recommendation], Assessed]:
        """The recommendations (traced, logged as served) and what they were decided from."""
        assessed, choice = self.assess(customer_id), None
        if self.learning is not None:  # the bandit (when on) chooses the first among permitted
            assessed, choice = self.learning.choose(assessed, self.policy)
        served = assessed.ranking.served
        payloads = [trace_payload(i, item, assessed) for i, item in enumerate(served, 1)]
        if choice is not None:  # how the first was chosen, for replay (advisor/learning)
            payloads[0]["chooser"] = choice.to_json()
        ids = self.traces.record_many(customer_id, KIND, payloads)
        pairs = list(zip(served, ids, strict=True))
        self.served.record(customer_id, [(item.action.id, t) for item, t in pairs])
        if self.learning is not None and choice is not None:
            self.learning.log(customer_id, channel, assessed, choice, ids[0])
        return [recommendation(item, t, assessed.view) for item, t in pairs], assessed


def decision_signals(
    view: Customer360, policy: Policy, found: Mapping[str, Propensity]
) -> dict[str, Signal]:
    """The customer's signals and credit risk; unknown (None) when no model scored it, so the
    policy withholds credit rather than trusting the propensity's default."""
    signals = customer_signals(view, policy)
    risk = found["credit_risk"]
    signals["credit_risk"] = None if risk.is_default else risk.probability
    return signals


def recommendation(item: Ranked, trace_id: str, view: Customer360) -> Recommendation:
    """The served form of a ranked action."""
    action = item.action
    return Recommendation(
        "rec_" + trace_id.removeprefix("tr_"), action.id, action.action, action.product,
        action.kind, item.score, reasons_for(item, view), trace_id,
    )  # fmt: skip


def defaults_used(item: Ranked, found: Mapping[str, Propensity]) -> list[str]:
    """Propensities this decision used at their default, and model inputs filled by default."""
    used = [found[item.action.propensity]] if item.action.propensity else []
    if item.action.kind == "credit":
        used.append(found["credit_risk"])
    named = [p.name for p in used if p.is_default]
    return named + [f"{p.name}:{field}" for p in used for field in p.missing_fields]


def trace_payload(position: int, item: Ranked, assessed: Assessed) -> dict[str, Any]:
    """Everything this recommendation was decided from, for the trace."""
    found, ranking = assessed.propensities, assessed.ranking
    own = found.get(item.action.propensity) if item.action.propensity else None
    return {
        "inputs": {
            "as_of": assessed.view.ledger.as_of,
            "signals": assessed.signals,
            "facts": reason_figures(item, assessed.view),
            "served_before": dict(assessed.served_before),
        },
        "model_versions": {p.model: p.version for p in found.values() if p.model},
        "scores": scores_part(item, found),
        "contributions": dict(own.contributions) if own else {},
        "rules_fired": [{"action": a, "rules": r} for a, r in ranking.withheld.items()],
        "defaults_used": defaults_used(item, found),
        "default_reasons": {n: p.default_reason for n, p in found.items() if p.is_default},
        "recommendation": recommendation_part(position, item, assessed.view),
        "ineligible": ranking.ineligible,
        "list": [r.action.id for r in ranking.served],
    }


def scores_part(item: Ranked, found: Mapping[str, Propensity]) -> dict[str, Any]:
    """The score, its factors and every propensity the ranking saw."""
    return {
        "score": item.score,
        "probability": item.probability,
        "base_value": item.base_value,
        "boost_total": item.boost_total,
        "propensities": {n: p.probability for n, p in found.items()},
    }


def recommendation_part(position: int, item: Ranked, view: Customer360) -> dict[str, Any]:
    """The recommendation as served, inside its trace."""
    action = item.action
    return {
        "rank": position, "action_id": action.id, "action": action.action,
        "product": action.product, "kind": action.kind, "propensity": action.propensity,
        "boosts": [b.code for b in item.boosts],
        "model": item.propensity.model if item.propensity else None,
        "model_version": item.propensity.version if item.propensity else None,
        "reasons": [r.to_json() for r in reasons_for(item, view)],
    }  # fmt: skip

"""Propensities for the policy: the promoted model's score when one is registered, else the
policy's documented default, and which of the two each one is."""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.orm import Session

from advisor.decisions.policy import Policy, PropensitySource
from advisor.ops.metrics import scored
from advisor.predict.registry import Registry
from advisor.predict.score import Score

log = logging.getLogger("advisor.decisions")
# Registry model name -> the runtime scorer class (interface 4 of the shared brief).
SCORERS = {
    "offer-response": ("advisor.predict.offer_response", "OfferResponseScorer"),
    "life-events": ("advisor.predict.life_events", "LifeEventScorer"),
    "credit-risk": ("advisor.predict.credit_risk", "CreditRiskScorer"),
}


class CustomerScorer(Protocol):
    """A runtime scorer: one Score, or one per event (life events)."""

    def score_customer(self, session: Session, customer_id: str, as_of: dt.date) -> Any:
        """Score one customer of the bank."""


@dataclass(frozen=True)
class Propensity:
    """One propensity: its probability and where it came from."""

    name: str
    probability: float
    model: str | None = None  # None: the policy's default
    version: int | None = None
    contributions: dict[str, float] = field(default_factory=dict)
    missing_fields: tuple[str, ...] = ()  # customer fields the model filled with its defaults
    default_reason: str | None = None

    @property
    def is_default(self) -> bool:
        """Whether this is the policy's default rather than a model's score."""
        return self.model is None


class Propensities:
    """Scores customers with the promoted scorers, reloading when a new version is promoted."""

    def __init__(self, registry: Registry, policy: Policy, cache_size: int = 10_000) -> None:
        self.registry, self.policy = registry, policy
        self._loaded: dict[str, tuple[int, CustomerScorer]] = {}
        self._lock = threading.Lock()
        self._scored: dict[tuple[Any, ...], dict[str, Propensity]] = {}
        self.cache_size = cache_size

    def models(self) -> list[str]:
        """The registry models the policy's propensities come from."""
        return sorted({s.model for s in self.policy.propensities.values()})

    def versions(self) -> tuple[int | None, ...]:
        """The promoted version of each model (None: none promoted)."""
        return tuple(getattr(self.registry.promoted(m), "version", None) for m in self.models())

    def cached(
        self, session: Session, customer_id: str, as_of: dt.date, generation: str
    ) -> dict[str, Propensity]:
        """The customer's propensities, kept while the bank's seeding generation and the
        promoted versions are unchanged (scores are a function of both)."""
        key = (customer_id, as_of, generation, self.versions())
        with self._lock:
            found = self._scored.get(key)
        if found is None:
            found = self.for_customer(session, customer_id, as_of)
            with self._lock:
                if len(self._scored) >= self.cache_size:
                    self._scored.pop(next(iter(self._scored)))
                self._scored[key] = found
        scored(found.values())  # served: the app's model-score histogram (advisor/ops)
        return found

    def scorer(self, model: str) -> tuple[CustomerScorer | None, str]:
        """The promoted scorer of a model, or None and why not."""
        promoted = self.registry.promoted(model)
        if promoted is None:
            return None, f"no promoted {model} model"
        with self._lock:
            cached = self._loaded.get(model)
            if cached is not None and cached[0] == promoted.version:
                return cached[1], ""
        module, name = SCORERS[model]
        try:
            loaded = getattr(importlib.import_module(module), name).from_registry(self.registry)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            return None, f"no scorer for {model} installed"
        if loaded is None:
            return None, f"no promoted {model} model"
        with self._lock:
            self._loaded[model] = (promoted.version, loaded)
        return loaded, ""

    def for_customer(
        self, session: Session, customer_id: str, as_of: dt.date
    ) -> dict[str, Propensity]:
        """Every propensity of the policy for one customer."""
        results: dict[str, Any] = {}
        reasons: dict[str, str] = {}
        for model in self.models():
            results[model], reasons[model] = self._score(model, session, customer_id, as_of)
        return {
            name: propensity(source, results[source.model], reasons[source.model])
            for name, source in self.policy.propensities.items()
        }

    def _score(
        self, model: str, session: Session, customer_id: str, as_of: dt.date
    ) -> tuple[Any, str]:
        """A model's result for the customer, or None and why (a failing model is logged)."""
        scorer, reason = self.scorer(model)
        if scorer is None:
            return None, reason
        try:
            return scorer.score_customer(session, customer_id, as_of), ""
        except Exception as exc:  # a broken artefact must not take recommendations down
            log.exception("scoring %s with %s failed", customer_id, model)
            return None, f"{model} model failed ({type(exc).__name__})"


def propensity(source: PropensitySource, result: Any, reason: str) -> Propensity:
    """The propensity from a model result (a Score or a dict of them by event), or its default."""
    score = result.get(source.event) if isinstance(result, dict) and source.event else result
    if not isinstance(score, Score):
        why = reason or f"{source.model} gave no score for {source.event}"
        return Propensity(source.name, source.default, default_reason=why)
    return Propensity(
        source.name, score.probability, score.model, score.version,
        dict(score.contributions), tuple(score.defaults_used),
    )  # fmt: skip

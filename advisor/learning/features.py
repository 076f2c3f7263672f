"""The bandit's context: a customer's policy signals and propensities as a few bounded numbers.

Every feature lies roughly in [-1, 1] (ridge regression per action, no scaler needed); a
signal the customer lacks counts 0. `bias` is the action's intercept (MABWiser's ridge has none).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from advisor.decisions.signals import Signal

Signals = Mapping[str, Signal]


def _num(signals: Signals, name: str) -> float:
    """A signal as a float; 0 when unknown."""
    value = signals.get(name)
    return 0.0 if value is None else float(value)


def _money(value: float) -> float:
    """Dollars on a signed log-like scale: $1,000 -> 0.18, $10,000 -> 0.6, -$2,000 -> -0.29."""
    return math.asinh(value / 1000.0) / 5.0


SIGNAL_FEATURES: dict[str, Callable[[Signals], float]] = {
    "bias": lambda s: 1.0,
    "age": lambda s: _num(s, "age") / 100.0,
    "income": lambda s: _money(_num(s, "income.monthly")),
    "emergency_months": lambda s: min(_num(s, "emergency_fund.months"), 12.0) / 12.0,
    "free_cash": lambda s: _money(_num(s, "cash.free_after_bills")),
    "liquid": lambda s: _money(_num(s, "liquid_balance")),
    "utilization": lambda s: min(_num(s, "credit.utilization"), 100.0) / 100.0,
    "credit_score": lambda s: max(_num(s, "credit.score") - 300.0, 0.0) / 550.0,
    "high_interest_debt": lambda s: _num(s, "high_interest_debt"),
    "holds_mortgage": lambda s: _num(s, "holds.mortgage"),
    "holds_brokerage": lambda s: _num(s, "holds.brokerage"),
}
# Propensities of the policy (model scores or their defaults) the bandit also sees.
PROPENSITY_FEATURES = (
    "offer_response",
    "life_event.home_buying",
    "life_event.marriage",
    "life_event.new_baby",
    "life_event.retirement",
    "life_event.job_change",
)
FEATURE_NAMES = (*SIGNAL_FEATURES, *(f"p.{name}" for name in PROPENSITY_FEATURES))


def context_of(signals: Signals, propensities: Mapping[str, float]) -> dict[str, float]:
    """The named context of one customer."""
    found = {name: round(feature(signals), 6) for name, feature in SIGNAL_FEATURES.items()}
    for name in PROPENSITY_FEATURES:
        found[f"p.{name}"] = round(float(propensities.get(name, 0.0)), 6)
    return found


def as_array(contexts: list[Mapping[str, float]]) -> np.ndarray:
    """Contexts as a matrix in FEATURE_NAMES order (a feature a context lacks counts 0)."""
    rows = [[float(c.get(name, 0.0)) for name in FEATURE_NAMES] for c in contexts]
    return np.asarray(rows, dtype=float).reshape(len(contexts), len(FEATURE_NAMES))

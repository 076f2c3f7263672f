"""ECOA: age reaches no score that drives a credit action (suggestion or decision)."""

from __future__ import annotations

from advisor.decisions.policy import load_policy
from advisor.predict.credit_features import FEATURES
from advisor.predict.life_event_features import CREDIT_EVENTS, CREDIT_EXCLUDED_FEATURES

POLICY = load_policy()
CREDIT = [a for a in POLICY.actions if a.kind == "credit"]


def test_age_is_a_credit_excluded_feature_and_not_a_credit_risk_feature() -> None:
    assert "age" in CREDIT_EXCLUDED_FEATURES
    assert not {"age", "birth_year"} & set(FEATURES)


def test_every_life_event_driving_a_credit_action_is_trained_without_age() -> None:
    """A policy change that ties a credit action to another event fails here until that
    event's model is trained without age (advisor/predict/life_event_features.py)."""
    for action in CREDIT:
        source = POLICY.propensities[action.propensity] if action.propensity else None
        if source is None:
            continue
        assert source.model in ("life-events", "credit-risk"), action.id  # offer-response reads age
        if source.model == "life-events":
            assert source.event in CREDIT_EVENTS, action.id


def test_no_credit_condition_reads_age() -> None:
    read = {c.signal for a in CREDIT for c in [*a.eligible, *(b.when for b in a.boosts)]}
    read |= {c.signal for r in POLICY.rules if "credit" in r.kinds for c in r.any}
    assert "age" not in read

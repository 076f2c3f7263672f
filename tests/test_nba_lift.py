"""Ranking life-event actions by the propensity's lift over the event's base rate."""

from __future__ import annotations

import dataclasses

import pytest

from advisor.decisions.nba import rank
from advisor.decisions.policy import LifeEventRanking, shipped_policy
from tests.test_nba import HEALTHY, propensities

VALUE = 0.7 * 0.8 + 0.3 * 0.9  # home_buying_plan's weighted value
BASE = 0.005  # home buying's base rate in the policy


@pytest.mark.parametrize(
    ("probability", "score"),
    [(0.02, 0.2 * 4 * VALUE), (0.5, 0.2 * 10 * VALUE), (None, 0.2 * 1 * VALUE)],
)
def test_lift_is_probability_over_base_rate_capped_and_one_when_unscored(
    probability: float | None, score: float
) -> None:
    policy = dataclasses.replace(
        shipped_policy(), list_size=50, life_events=LifeEventRanking("lift", 0.2, 1.0, 10.0)
    )
    assert policy.propensities["life_event.home_buying"].base_rate == BASE
    scored = {} if probability is None else {"life_event__home_buying": probability}
    found = rank(policy, HEALTHY, propensities(policy, **scored), {})
    home = next(r for r in found.served if r.action.id == "home_buying_plan")
    assert home.score == pytest.approx(score)
    assert home.probability == (
        probability or policy.propensities["life_event.home_buying"].default
    )


def test_an_action_below_the_minimum_lift_is_not_suggested() -> None:
    policy = dataclasses.replace(
        shipped_policy(), list_size=50, life_events=LifeEventRanking("lift", 0.2, 2.0, 10.0)
    )
    found = rank(policy, HEALTHY, propensities(policy, life_event__home_buying=0.008), {})
    assert found.ineligible["home_buying_plan"] == ["lift 1.60x below 2x the base rate"]

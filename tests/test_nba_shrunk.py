"""Ranking life-event actions by the model's probability shrunk toward the event's base rate."""

from __future__ import annotations

import dataclasses

import pytest

from advisor.decisions.nba import rank
from advisor.decisions.policy import LifeEventRanking, Policy, shipped_policy
from tests.test_nba import HEALTHY, propensities

JOB_VALUE = 0.7 * 0.7 + 0.3 * 0.3  # job_change_review's weighted value
JOB_BASE = 0.022  # job change's base rate in the policy
JOB_DEFAULT = 0.04  # job change's default in the policy


def shrunk(weight: float, min_propensity: float = 0.0) -> Policy:
    """The shipped policy listing everything, life events ranked by shrunk probability."""
    return dataclasses.replace(
        shipped_policy(), list_size=50, min_propensity=min_propensity,
        life_events=LifeEventRanking("shrunk", model_weight=weight),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("weight", "score", "probability"),
    [
        (1.0, 0.10, 0.10),  # all model: plain expected value
        (0.0, 0.10, JOB_BASE),  # all prior: the base rate, whatever the model said
        (0.5, 0.10, 0.5 * 0.10 + 0.5 * JOB_BASE),
        (0.25, 0.001, 0.25 * 0.001 + 0.75 * JOB_BASE),
        (0.5, None, JOB_DEFAULT),  # unscored: the policy default, not shrunk
    ],
)
def test_shrunk_probability_mixes_the_model_with_the_base_rate(
    weight: float, score: float | None, probability: float
) -> None:
    policy = shrunk(weight)
    assert policy.propensities["life_event.job_change"].base_rate == JOB_BASE
    scored = {} if score is None else {"life_event__job_change": score}
    found = rank(policy, HEALTHY, propensities(policy, **scored), {})
    job = next(r for r in found.served if r.action.id == "job_change_review")
    assert job.probability == pytest.approx(probability)
    assert job.score == pytest.approx(probability * JOB_VALUE)


def test_actions_without_a_base_rate_keep_their_probability() -> None:
    policy = shrunk(0.0)
    found = rank(policy, HEALTHY, propensities(policy, offer_response=0.3), {})
    deposit = next(r for r in found.served if r.action.id == "term_deposit")
    assert deposit.probability == pytest.approx(0.3)


@pytest.mark.parametrize(("weight", "served"), [(1.0, False), (0.5, True)])
def test_min_propensity_reads_the_shrunk_probability(weight: float, served: bool) -> None:
    policy = shrunk(weight, min_propensity=0.01)
    found = rank(policy, HEALTHY, propensities(policy, life_event__job_change=0.002), {})
    assert ("job_change_review" in {r.action.id for r in found.served}) is served


def test_shrinkage_can_reorder_life_event_actions() -> None:
    """A model far above a rare event's rate beats a common event only while it is trusted."""
    scores = {"life_event__marriage": 0.06, "life_event__job_change": 0.03}
    order = {}
    for weight in (1.0, 0.2):
        policy = shrunk(weight)
        found = rank(policy, HEALTHY, propensities(policy, **scores), {})
        pair = ("wedding_plan", "job_change_review")
        life = [r.action.id for r in found.served if r.action.id in pair]
        order[weight] = life[0]
    assert order == {1.0: "wedding_plan", 0.2: "job_change_review"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [({"method": "popular"}, "unknown"), ({"method": "shrunk", "model_weight": 1.5}, "within")],
)
def test_a_bad_ranking_setting_is_refused(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LifeEventRanking(**raw)  # type: ignore[arg-type]

"""The contextual bandit: off-policy estimators on a case with a known answer, a chooser that
never leaves the policy and explores no more than its share, outcomes that move its choice,
its state in the registry, and the simulator's report."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from advisor.cli import app
from advisor.decisions.policy import shipped_policy
from advisor.learning.bandit import MODEL_NAME, STATE_FILE, BanditModel
from advisor.learning.chooser import Choice, Chooser, probabilities
from advisor.learning.config import shipped_config
from advisor.learning.features import as_array, context_of
from advisor.learning.serving import Learning, load_model
from advisor.learning.suggestions import Served, SuggestionLog
from advisor.learning_eval import ope
from advisor.learning_eval.customers import draw_many
from advisor.learning_eval.evaluate import logged_data, support
from advisor.learning_eval.simulator import permitted_for
from advisor.predict.registry import Registry, data_hash
from advisor.training.bandit_update import update
from tests.conftest import make_settings

POLICY, CONFIG = shipped_policy(), shipped_config()
ARMS = tuple(a.id for a in POLICY.actions)
runner = CliRunner()


def known_case(n: int, seed: int) -> tuple[ope.Logged, float, float]:
    """Three arms with mean rewards 0.2, 0.5, 0.8 and a logging policy that mostly plays the
    worst; the target plays the best 90% of the time. Truth: 0.9*0.8 + 0.1*0.5 = 0.77."""
    rng = np.random.default_rng(seed)
    means, logging, target = np.array([0.2, 0.5, 0.8]), np.array([0.7, 0.2, 0.1]), [0, 0.1, 0.9]
    actions = rng.choice(3, size=n, p=logging)
    rewards = (rng.random(n) < means[actions]).astype(float)
    target_p = np.asarray(target)[actions]
    q = np.array([0.3, 0.4, 0.6])  # a deliberately wrong reward model: DR must correct it
    logged = ope.Logged(rewards, logging[actions], target_p, q[actions],
                        np.full(n, float(np.dot(target, q))))  # fmt: skip
    return logged, float(np.dot(target, means)), float(np.dot(logging, means))


@pytest.mark.parametrize("name", ["ips", "snips", "dr"])
def test_each_estimator_finds_the_known_value_and_its_interval_covers_it(name: str) -> None:
    logged, truth, logging_truth = known_case(20_000, seed=1)
    found = ope.with_interval(ope.ESTIMATORS[name], logged, resamples=100, seed=2)
    assert abs(found["estimate"] - truth) < 0.02
    assert found["ci_low"] <= truth <= found["ci_high"]
    assert found["ci_high"] < logging_truth + 0.5 and found["ci_low"] > logging_truth
    # the logged mean answers the logging policy's value, not the target's
    assert abs(ope.on_policy(logged) - logging_truth) < 0.02


def test_dr_with_a_perfect_reward_model_has_a_narrower_interval_than_ips() -> None:
    logged, truth, _ = known_case(4000, seed=3)
    means = np.array([0.2, 0.5, 0.8])
    actions = np.select([logged.logging_p == p for p in (0.7, 0.2, 0.1)], [0, 1, 2])
    exact = dataclasses.replace(logged, q_logged=means[actions], q_target=np.full(4000, truth))
    width = {n: ope.with_interval(ope.ESTIMATORS[n], exact, 100, 4) for n in ("ips", "dr")}
    assert width["dr"]["ci_high"] - width["dr"]["ci_low"] < 0.5 * (
        width["ips"]["ci_high"] - width["ips"]["ci_low"]
    )


def linear_case(seed: int, n: int = 300) -> tuple[ope.Logged, float]:
    """Rewards linear in 8 features per arm, the target on the arm the logs rarely play, DR's
    reward model fitted by `logged_data`. Truth: the target's mean of the arms' intercepts."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(n), rng.normal(size=(n, 7))])
    theta = np.array([[0.2] + [0.3] * 7, [0.5] + [-0.2] * 7, [0.8] + [0.4] * 7])
    logging, target = np.array([0.7, 0.2, 0.1]), np.array([0.0, 0.1, 0.9])
    actions = rng.choice(3, size=n, p=logging)
    rewards = (x @ theta.T)[np.arange(n), actions] + rng.normal(0, 1.0, n)
    data = logged_data(x, actions, rewards, logging[actions], np.tile(target, (n, 1)))
    return data, float(target @ theta[:, 0])


def test_dr_interval_covers_the_truth_at_about_its_nominal_rate() -> None:
    # a reward model fitted on the rows it evaluates made the 95% interval cover about 80%
    covered = []
    for seed in range(100):
        data, truth = linear_case(seed)
        found = ope.with_interval(ope.dr, data, resamples=100, seed=seed)
        covered.append(found["ci_low"] <= truth <= found["ci_high"])
    assert np.mean(covered) >= 0.88


def trained_on_noise(seed: int = 0) -> BanditModel:
    """A bandit fitted on random rewards over simulated customers."""
    rng = np.random.default_rng(seed)
    people = draw_many(rng, 400)
    contexts = as_array([context_of(c.signals, c.propensities) for c in people])
    model = BanditModel.new(ARMS, CONFIG)
    model.update(list(rng.choice(ARMS, 400)), list(rng.random(400)), contexts)
    return model


def test_the_bandit_never_chooses_outside_the_policy_over_many_customers() -> None:
    model = trained_on_noise()
    # a model that adores credit-limit reviews: the policy must still win
    people = draw_many(np.random.default_rng(9), 1500)
    seen = as_array([context_of(c.signals, c.propensities) for c in people[:300]])
    model.update(["credit_limit_review"] * 300, [5.0] * 300, seen)
    chooser = Chooser(model, explore_share=0.3, seed=5)
    favourite = {"allowed": 0, "chosen": 0}
    for person in people:
        allowed = [r.action.id for r in permitted_for(POLICY, person)]
        if not allowed:
            continue
        choice = chooser.choose(context_of(person.signals, person.propensities), allowed)
        assert choice.chosen in allowed
        chances = probabilities(choice.greedy, allowed, 0.3)
        assert choice.propensity == pytest.approx(chances[allowed.index(choice.chosen)])
        if "credit_limit_review" in allowed:
            favourite["allowed"] += 1
            favourite["chosen"] += choice.chosen == "credit_limit_review"
    # the preference is real where the policy permits it (so the check above could fail)
    assert favourite["allowed"] > 50 and favourite["chosen"] > 0.6 * favourite["allowed"]


@pytest.mark.parametrize("share", [0.0, 0.1, 0.5])
def test_exploration_stays_within_its_share(share: float) -> None:
    chooser = Chooser(trained_on_noise(), explore_share=share, seed=11)
    allowed = ["pay_down_card", "build_emergency_fund", "retirement_review", "wedding_plan"]
    context = {"bias": 1.0, "age": 0.55, "p.life_event.retirement": 0.1}
    choices = [chooser.choose(context, allowed) for _ in range(2000)]
    explored = sum(c.explored for c in choices) / len(choices)
    assert explored <= share * 3 / 4 + 0.02
    if share == 0.0:
        assert explored == 0.0


def log_outcomes(log: SuggestionLog, arm: str, outcome: str, n: int, seed: int) -> None:
    """n suggestions of `arm` to simulated customers, each with the outcome recorded."""
    people = draw_many(np.random.default_rng(seed), n)
    chooser = Chooser(None, 0.0, 0, bandit=False)
    served = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    for person in people:
        choice = chooser.choose({}, [arm, "pay_down_card"])
        ctx = context_of(person.signals, person.propensities)
        sid = log.log(Served("C0001", "api", choice, ctx, [arm]), at=served)
        log.record(sid, outcome, at=served + dt.timedelta(hours=1))


def test_confirmations_and_thumbs_down_shift_what_the_bandit_suggests(tmp_path: Path) -> None:
    log, registry = SuggestionLog(f"sqlite:///{tmp_path / 'bank.db'}"), Registry(tmp_path / "r")
    allowed = ["retirement_review", "job_change_review"]  # the ranking puts retirement first
    context = context_of(draw_many(np.random.default_rng(1), 1)[0].signals, {})
    before = Chooser(load_model(registry), 0.0, 0).choose(context, allowed)
    log_outcomes(log, "retirement_review", "thumbs_down", 60, seed=2)
    log_outcomes(log, "job_change_review", "confirmed", 60, seed=3)
    report = update(log, registry, promote="always")
    after = Chooser(load_model(registry), 0.0, 0).choose(context, allowed)
    assert (before.chosen, after.chosen) == ("retirement_review", "job_change_review")
    assert report.promoted and report.rewarded == 120 and report.version == 1


def test_the_update_keeps_a_bandit_it_cannot_trust_unpromoted(tmp_path: Path) -> None:
    log, registry = SuggestionLog(f"sqlite:///{tmp_path / 'bank.db'}"), Registry(tmp_path / "r")
    log_outcomes(log, "retirement_review", "confirmed", 30, seed=4)
    report = update(log, registry)  # auto: fewer rewarded suggestions than the policy asks
    assert not report.promoted and "fewer than" in report.reason
    assert registry.promoted(MODEL_NAME) is None and registry.versions(MODEL_NAME)
    assert set(report.evaluation["ope"]) == {"ips", "snips", "dr"}


def test_a_tampered_bandit_state_is_refused_and_the_ranking_decides(tmp_path: Path) -> None:
    log, registry = SuggestionLog(f"sqlite:///{tmp_path / 'bank.db'}"), Registry(tmp_path / "r")
    log_outcomes(log, "job_change_review", "confirmed", 20, seed=5)
    update(log, registry, promote="always")
    found = registry.promoted(MODEL_NAME)
    assert found is not None and load_model(registry) is not None
    (found.path / STATE_FILE).write_bytes(b"not the state")
    assert load_model(registry) is None


def test_a_pickle_in_place_of_the_state_is_never_loaded(tmp_path: Path) -> None:
    log, registry = SuggestionLog(f"sqlite:///{tmp_path / 'bank.db'}"), Registry(tmp_path / "r")
    log_outcomes(log, "job_change_review", "confirmed", 20, seed=5)
    update(log, registry, promote="always")
    found = registry.promoted(MODEL_NAME)
    assert found is not None
    moved = b"cmabwiser_gone.mab\nMAB\n."  # a pickle (of a class an upgrade moved away)
    (found.path / STATE_FILE).write_bytes(moved)
    meta = json.loads((found.path / "meta.json").read_text())
    (found.path / "meta.json").write_text(json.dumps(meta | {"sha256": data_hash(moved)}))
    assert load_model(registry) is None


def test_an_update_with_nothing_rewarded_registers_nothing(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "r")
    with pytest.raises(Exception, match="no rewarded suggestion"):
        update(SuggestionLog(f"sqlite:///{tmp_path / 'bank.db'}"), registry)
    assert registry.names() == []


def simulate(seed: int) -> dict[str, object]:
    """`advisor bandit simulate --rounds 800 --json` parsed."""
    result = runner.invoke(app, ["bandit", "simulate", "--rounds", "800", "--seed", str(seed),
                                 "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    found: dict[str, object] = json.loads(result.output)
    return found


def test_the_simulator_shows_regret_falling_for_the_bandit_and_is_reproducible() -> None:
    found = simulate(seed=4)
    policies = found["policies"]
    assert isinstance(policies, dict) and set(policies) == {"bandit", "greedy", "logging", "random"}
    bandit = policies["bandit"]
    assert bandit["regret"] < policies["greedy"]["regret"] < policies["random"]["regret"]
    assert bandit["reward"] > policies["greedy"]["reward"]
    assert bandit["regret_per_round"][-1] < bandit["regret_per_round"][0] / 2
    ope_found, truth = found["ope"], found["true_value"]
    assert isinstance(ope_found, dict) and set(ope_found) == {"ips", "snips", "dr"}
    assert isinstance(truth, float)
    for estimate in ope_found.values():
        assert set(estimate) >= {"estimate", "ci_low", "ci_high"}
        assert estimate["ci_low"] - 0.05 <= truth <= estimate["ci_high"] + 0.05
    assert simulate(seed=4) == found


def test_support_shows_how_much_of_the_target_deterministic_logs_can_see() -> None:
    ones, half = np.ones(4), np.full(4, 0.5)
    deterministic = ope.Logged(ones, ones, np.array([0.9, 0.1, 0.9, 0.1]), ones, ones)
    exploring = dataclasses.replace(deterministic, logging_p=half)
    assert support(deterministic) == pytest.approx(0.5) and support(exploring) == 1.0
    # a round with one permitted action (a nudge) had nothing to choose: it adds no support
    assert support(deterministic, np.array([2, 2, 1, 1])) == pytest.approx(0.5)
    assert support(deterministic, np.array([2, 1, 1, 2])) == pytest.approx(0.5)
    assert support(deterministic, np.array([1, 2, 1, 2])) == pytest.approx(0.1)


def log_choices(log: SuggestionLog, chooser: Chooser, n: int) -> None:
    """n suggestions chosen between two actions; job-change reviews get confirmed, retirement
    reviews a thumbs down."""
    served = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    outcome = {"job_change_review": "confirmed", "retirement_review": "thumbs_down"}
    for person in draw_many(np.random.default_rng(8), n):
        ctx = context_of(person.signals, person.propensities)
        choice = chooser.choose(ctx, ["retirement_review", "job_change_review"])
        sid = log.log(Served("C0001", "api", choice, ctx, [choice.chosen]), at=served)
        log.record(sid, outcome[choice.chosen], at=served)


@pytest.mark.parametrize(("explore", "promoted"), [(0.0, False), (0.5, True)])
def test_auto_promotion_needs_logs_that_explored(
    tmp_path: Path, explore: float, promoted: bool
) -> None:
    log, registry = SuggestionLog(f"sqlite:///{tmp_path / 'bank.db'}"), Registry(tmp_path / "r")
    log_choices(log, Chooser(None, explore, seed=3, bandit=explore > 0), 300)
    report = update(log, registry)
    assert report.promoted is promoted, report.reason
    if promoted:  # the better action's value, well above what the ranking's logs earned
        assert report.evaluation["ope"]["dr"]["ci_low"] > 0.5
        assert report.evaluation["logging_value"]["estimate"] < 0.3
    else:
        assert "the logs show" in report.reason and report.evaluation["support"] < 0.5


def test_nudges_neither_train_the_bandit_nor_lend_it_support(tmp_path: Path) -> None:
    log, registry = SuggestionLog(f"sqlite:///{tmp_path / 'bank.db'}"), Registry(tmp_path / "r")
    log_choices(log, Chooser(None, 0.0, seed=3, bandit=False), 300)  # the ranking, no exploring
    served, arm = dt.datetime(2026, 11, 1, tzinfo=dt.UTC), "build_emergency_fund"
    for _ in range(300):  # confirmed nudges: policy rule, one candidate, probability 1
        choice = Choice(arm, 1.0, (arm,), "rule", arm)
        log.record(log.log(Served("C0001", "nudge", choice, {}, [arm]), at=served), "confirmed")
    report = update(log, registry)
    assert report.rewarded == 300 and not report.promoted, report.reason
    assert report.evaluation["support"] < 0.5


def test_each_process_draws_its_own_exploration_seed_unless_one_is_given(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'b.db'}")
    draws = [Learning.from_settings(settings).chooser.rng.random() for _ in range(2)]
    fixed = [Learning.from_settings(settings, seed=3).chooser.rng.random() for _ in range(2)]
    assert draws[0] != draws[1] and fixed[0] == fixed[1]


def test_the_state_is_plain_arrays_and_reloads_to_the_same_choices(tmp_path: Path) -> None:
    model, registry = trained_on_noise(seed=6), Registry(tmp_path / "r")
    with registry.stage(MODEL_NAME, promote=True) as stage:
        model.save(stage)
    found = registry.promoted(MODEL_NAME)
    assert found is not None
    with np.load(found.path / STATE_FILE, allow_pickle=False) as arrays:  # no pickle in it
        assert arrays["A"].shape == (len(ARMS), 17, 17)
    loaded = load_model(registry)
    contexts = as_array([context_of(c.signals, c.propensities)
                         for c in draw_many(np.random.default_rng(9), 50)])  # fmt: skip
    assert loaded is not None and loaded.trained_on == model.trained_on
    assert np.allclose(loaded.expectations(contexts), model.expectations(contexts))
    loaded.update([ARMS[0]], [1.0], contexts[:1])  # and it keeps learning

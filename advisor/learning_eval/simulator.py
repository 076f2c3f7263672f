"""The bandit simulator: synthetic customers with hidden preferences per action, the shipped
next-best-action policy deciding what may be suggested, and four ways of choosing among it:

- `bandit`: the runtime chooser (advisor/learning/chooser.py) on MABWiser LinUCB, updated in
  batches from the outcomes of its own choices;
- `greedy`: the policy ranking's top action (today's default, propensity x value);
- `logging`: the ranking's top with uniform exploration over the permitted actions (a logging
  policy whose probabilities are known, which off-policy evaluation needs);
- `random`: uniform over the permitted actions.

A customer accepts action a with probability sigmoid(theta_a . x), x the bandit's context and
theta_a hidden. Regret per round is the best permitted action's acceptance probability minus
the chosen one's. The off-policy part logs fresh customers with `logging` and estimates the
value of the bandit as it stands after its run, whose true value the simulator computes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from advisor.decisions.nba import Ranked, rank
from advisor.decisions.policy import Policy
from advisor.decisions.propensity import Propensity
from advisor.learning.bandit import BanditModel
from advisor.learning.chooser import Choice, Chooser
from advisor.learning.config import BanditConfig
from advisor.learning.features import as_array, context_of
from advisor.learning_eval.customers import SimCustomer, draw_many
from advisor.learning_eval.evaluate import logged_data, policy_matrix, report

POLICIES = ("bandit", "greedy", "logging", "random")
CHECKPOINTS = 10


@dataclass(frozen=True)
class Rounds:
    """Customers in arrival order: context, permitted actions, acceptance chances, a uniform."""

    contexts: np.ndarray  # (n, d)
    permitted: list[list[str]]  # the policy's order
    chances: np.ndarray  # (n, arms): the hidden acceptance probability of every action
    uniforms: np.ndarray  # (n,): accepted when below the chosen action's chance

    def outcome(self, t: int, arm: int) -> float:
        """1 when the customer accepts the action, else 0 (the same draw for every policy)."""
        return float(self.uniforms[t] < self.chances[t, arm])


@dataclass(frozen=True)
class World:
    """The hidden preferences: logistic coefficients per action over the context."""

    arms: tuple[str, ...]
    coefs: np.ndarray  # (arms, d)

    def chances(self, contexts: np.ndarray) -> np.ndarray:
        """Acceptance probabilities, (n, arms)."""
        return np.asarray(1.0 / (1.0 + np.exp(-(contexts @ self.coefs.T))))


def hidden_world(
    arms: Sequence[str], rng: np.random.Generator, sample: np.ndarray, scores: dict[str, float]
) -> World:
    """Random coefficients per action around a mean acceptance that follows the ranking's mean
    score (8% for the lowest to 33% for the highest, give or take 4 points): the ranking knows
    the averages; who departs from them is what a bandit can learn."""
    coefs = rng.normal(0.0, 1.5, (len(arms), sample.shape[1]))
    order = np.argsort(np.argsort([scores.get(a, 0.0) for a in arms]))
    base = 0.08 + 0.25 * order / max(len(arms) - 1, 1) + rng.uniform(-0.04, 0.04, len(arms))
    coefs[:, 0] = np.log(base / (1 - base)) - (sample[:, 1:] @ coefs[:, 1:].T).mean(axis=0)
    return World(tuple(arms), coefs)


def mean_scores(policy: Policy, customers: list[SimCustomer]) -> dict[str, float]:
    """Each action's mean ranking score over the customers it is permitted for."""
    found: dict[str, list[float]] = {}
    for customer in customers:
        for item in permitted_for(policy, customer):
            found.setdefault(item.action.id, []).append(item.score)
    return {arm: float(np.mean(values)) for arm, values in found.items()}


def permitted_for(policy: Policy, customer: SimCustomer) -> list[Ranked]:
    """The actions the shipped policy permits for the customer, by the ranking's score."""
    found = {n: Propensity(n, p, "simulated", 1) for n, p in customer.propensities.items()}
    whole = dataclasses.replace(policy, list_size=len(policy.actions))
    return rank(whole, customer.signals, found, {}).served


def make_rounds(policy: Policy, world: World, rng: np.random.Generator, n: int) -> Rounds:
    """n customers who have at least one permitted action."""
    customers, permitted = [], []
    for customer in draw_many(rng, n * 2):
        if allowed := [r.action.id for r in permitted_for(policy, customer)]:
            customers.append(customer)
            permitted.append(allowed)
        if len(customers) == n:
            break
    contexts = as_array([context_of(c.signals, c.propensities) for c in customers])
    return Rounds(contexts, permitted, world.chances(contexts), rng.random(len(customers)))


Picker = Callable[[int, list[str]], Choice]


def play(rounds: Rounds, arms: Sequence[str], pick: Picker, learn: Any = None,
         batch: int = 100) -> tuple[np.ndarray, np.ndarray, list[Choice]]:  # fmt: skip
    """Run a policy over the rounds: per-round regret, reward and choices; `learn` (the
    bandit's update) is called after every batch with its choices and rewards."""
    index = {a: i for i, a in enumerate(arms)}
    regret, reward, choices = np.zeros(len(rounds.permitted)), np.zeros(len(rounds.permitted)), []
    for t, allowed in enumerate(rounds.permitted):
        choice = pick(t, allowed)
        best = max(rounds.chances[t, index[a]] for a in allowed)
        regret[t] = best - rounds.chances[t, index[choice.chosen]]
        reward[t] = rounds.outcome(t, index[choice.chosen])
        choices.append(choice)
        if learn is not None and (t + 1) % batch == 0:
            learn(t + 1 - batch, t + 1, choices[-batch:], reward[t + 1 - batch : t + 1])
    return regret, reward, choices


def bandit_picker(rounds: Rounds, model: BanditModel, chooser: Chooser, batch: int) -> Picker:
    """The bandit's choice; expectations computed once per batch (the model is fixed within)."""
    cache: dict[int, np.ndarray] = {}

    def pick(t: int, allowed: list[str]) -> Choice:
        start = t - t % batch
        if start not in cache:
            cache.clear()
            cache[start] = model.expectations(rounds.contexts[start : start + batch])
        return chooser.draw(cache[start][t - start], allowed)

    return pick


def run_bandit(rounds: Rounds, arms: Sequence[str], config: BanditConfig, seed: int,
               batch: int) -> tuple[np.ndarray, np.ndarray, BanditModel]:  # fmt: skip
    """The bandit over the rounds, updated every batch; its regret, reward and final model."""
    model = BanditModel.new(arms, config)
    chooser = Chooser(model, config.explore_share, seed)

    def learn(start: int, stop: int, choices: list[Choice], rewards: np.ndarray) -> None:
        model.update([c.chosen for c in choices], list(rewards), rounds.contexts[start:stop])

    regret, reward, _ = play(rounds, arms, bandit_picker(rounds, model, chooser, batch),
                             learn, batch)  # fmt: skip
    return regret, reward, model


def fixed_picker(name: str, explore: float, seed: int) -> Picker:
    """greedy, logging or random: choices that never learn."""
    chooser = Chooser(None, explore, seed)
    rng = np.random.default_rng(seed)
    if name == "greedy":
        return lambda t, allowed: Choice(allowed[0], 1.0, tuple(allowed), "ranking", allowed[0])
    if name == "random":
        return lambda t, allowed: _uniform(rng, allowed)
    return lambda t, allowed: chooser.draw(np.zeros(0), allowed)


def _uniform(rng: np.random.Generator, allowed: list[str]) -> Choice:
    """A uniform choice among the allowed actions."""
    chosen = allowed[int(rng.integers(len(allowed)))]
    return Choice(chosen, 1.0 / len(allowed), tuple(allowed), "random", chosen)


def summary(regret: np.ndarray, reward: np.ndarray) -> dict[str, Any]:
    """Cumulative regret, mean reward and the regret curve at tenths of the run."""
    cuts = [max(1, round(len(regret) * k / CHECKPOINTS)) for k in range(1, CHECKPOINTS + 1)]
    cumulative = np.cumsum(regret)
    per_round = [float(regret[a:b].mean()) for a, b in zip([0, *cuts[:-1]], cuts, strict=True)]
    return {
        "regret": float(cumulative[-1]),
        "reward": float(reward.mean()),
        "regret_curve": {str(c): round(float(cumulative[c - 1]), 3) for c in cuts},
        "regret_per_round": [round(r, 4) for r in per_round],
    }


def off_policy(logged: Rounds, arms: Sequence[str], model: BanditModel, config: BanditConfig,
               explore: float, seed: int, resamples: int) -> dict[str, Any]:  # fmt: skip
    """Log fresh customers with `logging`; estimate the bandit's value; the true values."""
    _, rewards, choices = play(logged, arms, fixed_picker("logging", explore, seed))
    index = {a: i for i, a in enumerate(arms)}
    actions = np.asarray([index[c.chosen] for c in choices])
    target = policy_matrix(model, config.explore_share, logged.contexts, logged.permitted, arms)
    logging = policy_matrix(None, explore, logged.contexts, logged.permitted, arms)
    logging_p = np.asarray([c.propensity for c in choices])
    data = logged_data(logged.contexts, actions, rewards, logging_p, target, config.l2_lambda)
    found = report(data, resamples, seed)
    truth = float((target * logged.chances).sum(axis=1).mean())
    for estimate in found["ope"].values():
        estimate["error"] = estimate["estimate"] - truth
    found["logging_value"]["true"] = float((logging * logged.chances).sum(axis=1).mean())
    return found | {"true_value": truth}


def simulate(policy: Policy, config: BanditConfig, rounds: int = 2000, seed: int = 0,
             batch: int = 100, logging_explore: float = 0.3,
             resamples: int = 200) -> dict[str, Any]:  # fmt: skip
    """The whole report: each policy's regret and reward, and the off-policy estimates of the
    bandit against its true value; the same seed gives the same report."""
    rng = np.random.default_rng(seed)
    arms = tuple(a.id for a in policy.actions)
    people = draw_many(rng, 500)
    sample = as_array([context_of(c.signals, c.propensities) for c in people])
    world = hidden_world(arms, rng, sample, mean_scores(policy, people))
    sim = make_rounds(policy, world, rng, rounds)
    regret, reward, model = run_bandit(sim, arms, config, seed, batch)
    policies = {"bandit": summary(regret, reward)}
    for offset, name in enumerate(("greedy", "logging", "random"), 1):
        r, w, _ = play(sim, arms, fixed_picker(name, logging_explore, seed + offset))
        policies[name] = summary(r, w)
    found = off_policy(make_rounds(policy, world, rng, rounds), arms, model, config,
                       logging_explore, seed + 7, resamples)  # fmt: skip
    settings = {
        "rounds": rounds,
        "seed": seed,
        "batch": batch,
        "alpha": config.alpha,
        "explore_share": config.explore_share,
        "logging_explore": logging_explore,
    }
    return {"policies": policies, **found, "settings": settings}

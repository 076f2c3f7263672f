"""The next-best-action policy as data: actions, propensities, rules and caps (nba_policy.yaml)."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

POLICY_FILE = Path(__file__).with_name("nba_policy.yaml")
Signals = Mapping[str, float | bool | None]
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "eq": operator.eq,
    "ne": operator.ne,
    "is": lambda a, b: bool(a) is bool(b),
}


@dataclass(frozen=True)
class Condition:
    """One test of a customer signal: `signal op value`."""

    signal: str
    op: str
    value: float | bool

    def holds(self, signals: Signals) -> bool | None:
        """True or False, or None when the customer lacks the signal."""
        found = signals.get(self.signal)
        return None if found is None else OPS[self.op](found, self.value)

    def describe(self) -> str:
        """The condition as text, for traces."""
        return f"{self.signal} {self.op} {self.value}"


@dataclass(frozen=True)
class Boost:
    """A value boost, with its reason code, when a condition holds."""

    code: str
    boost: float
    when: Condition


@dataclass(frozen=True)
class Action:
    """One action or product in the catalogue."""

    id: str
    action: str
    product: str
    kind: str
    value_customer: float
    value_bank: float
    eligible: tuple[Condition, ...]
    boosts: tuple[Boost, ...]
    holds: str | None = None
    propensity: str | None = None  # a propensity of the policy; None: the fixed prior
    prior: float = 0.0


@dataclass(frozen=True)
class Rule:
    """A policy rule: actions of `kinds` are withheld when any condition holds (or is unknown)."""

    id: str
    kinds: frozenset[str]
    any: tuple[Condition, ...]

    def fires(self, kind: str, signals: Signals) -> bool:
        """Whether the rule withholds an action of this kind."""
        return kind in self.kinds and any(c.holds(signals) is not False for c in self.any)


@dataclass(frozen=True)
class PropensitySource:
    """Where a propensity comes from: a registry model (and event), else its default."""

    name: str
    model: str
    default: float
    event: str | None = None
    base_rate: float | None = None  # the event's usual rate over the horizon (policy data)


RANKING_METHODS = ("expected_value", "lift", "shrunk")


@dataclass(frozen=True)
class LifeEventRanking:
    """How a propensity with a base rate weighs its action: `expected_value` (probability x
    value), `lift` (take_up x the probability's lift over the base rate, capped, x value;
    served only from min_lift up) or `shrunk` (expected value of the model's probability
    shrunk toward the base rate: model_weight x score + (1 - model_weight) x base rate)."""

    method: str = "expected_value"
    take_up: float = 0.2
    min_lift: float = 1.0
    max_lift: float = 10.0
    model_weight: float = 1.0

    def __post_init__(self) -> None:
        """Refuse an unknown method or a model weight outside [0, 1]."""
        if self.method not in RANKING_METHODS:
            raise ValueError(f"unknown life_event_ranking method {self.method!r}")
        if not 0.0 <= self.model_weight <= 1.0:
            raise ValueError("life_event_ranking model_weight must be within [0, 1]")


@dataclass(frozen=True)
class Caps:
    """Contact-frequency caps over a rolling window."""

    window_days: int
    per_action: int
    per_window: int


@dataclass(frozen=True)
class Policy:
    """The whole next-best-action policy."""

    weights: Mapping[str, float]
    list_size: int
    derived: Mapping[str, float]
    propensities: Mapping[str, PropensitySource]
    actions: tuple[Action, ...]
    rules: tuple[Rule, ...]
    caps: Caps
    min_propensity: float = 0.0  # a model-driven action below this is not suggested
    life_events: LifeEventRanking = LifeEventRanking()


def condition(raw: Mapping[str, Any]) -> Condition:
    """A condition from YAML, its operator checked."""
    if raw["op"] not in OPS:
        raise ValueError(f"unknown operator {raw['op']!r} in the policy")
    return Condition(str(raw["signal"]), str(raw["op"]), raw["value"])


def action(raw: Mapping[str, Any]) -> Action:
    """An action from YAML."""
    return Action(
        id=raw["id"],
        action=raw["action"],
        product=raw["product"],
        kind=raw["kind"],
        value_customer=float(raw["value"]["customer"]),
        value_bank=float(raw["value"]["bank"]),
        eligible=tuple(condition(c) for c in raw.get("eligible", [])),
        boosts=tuple(
            Boost(b["code"], float(b["boost"]), condition(b["when"])) for b in raw.get("boosts", [])
        ),
        holds=raw.get("holds"),
        propensity=raw.get("propensity"),
        prior=float(raw.get("prior", 0.0)),
    )


def parse_policy(raw: Mapping[str, Any]) -> Policy:
    """The policy from its YAML mapping; unknown propensities are refused."""
    sources = {
        name: PropensitySource(
            name, p["model"], float(p["default"]), p.get("event"),
            float(p["base_rate"]) if "base_rate" in p else None,
        )
        for name, p in raw["propensities"].items()
    }  # fmt: skip
    actions = tuple(action(a) for a in raw["actions"])
    for item in actions:
        if item.propensity is not None and item.propensity not in sources:
            raise ValueError(f"action {item.id} names unknown propensity {item.propensity!r}")
    rules = tuple(
        Rule(r["id"], frozenset(r["kinds"]), tuple(condition(c) for c in r["any"]))
        for r in raw["rules"]
    )
    return Policy(
        raw["weights"], int(raw["list_size"]), raw["derived"], sources, actions, rules,
        Caps(**raw["caps"]), float(raw.get("min_propensity", 0.0)),
        LifeEventRanking(**raw.get("life_event_ranking", {})),
    )  # fmt: skip


def load_policy(path: Path | None = None) -> Policy:
    """The policy from a YAML file (the shipped one by default)."""
    if path is None:
        return shipped_policy()
    return parse_policy(yaml.safe_load(path.read_text("utf-8")))


@lru_cache(maxsize=1)
def shipped_policy() -> Policy:
    """The shipped policy, read once."""
    return parse_policy(yaml.safe_load(POLICY_FILE.read_text("utf-8")))

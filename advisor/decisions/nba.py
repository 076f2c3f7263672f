"""Next-best-action: rank the catalogue for one customer under the policy (pure, no I/O).

score = propensity x eligibility x value, value = weighted customer and bank value times
(1 + the boosts whose conditions hold). Policy rules, held products and contact caps withhold
an action whatever its score; every withheld action is reported with the rules that fired.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from advisor.decisions.policy import Action, Boost, Policy, PropensitySource, Signals
from advisor.decisions.propensity import Propensity

ALREADY_HELD = "already_held"
CAP_PER_ACTION = "contact_cap_per_action"
CAP_PER_WINDOW = "contact_cap_per_window"


@dataclass(frozen=True)
class Ranked:
    """One eligible, permitted action with its score and how it was reached."""

    action: Action
    score: float
    probability: float
    base_value: float
    boosts: tuple[Boost, ...]
    propensity: Propensity | None  # None: the action's fixed prior
    weight: float | None = None  # what multiplies the value when not the probability (lift)

    @property
    def factor(self) -> float:
        """What the value is multiplied by: the probability, or take-up x lift."""
        return self.probability if self.weight is None else self.weight

    @property
    def boost_total(self) -> float:
        """Sum of the boosts that applied."""
        return sum(b.boost for b in self.boosts)


@dataclass(frozen=True)
class Ranking:
    """The served list, and why every other action was left out."""

    served: list[Ranked]
    withheld: dict[str, list[str]] = field(default_factory=dict)  # action -> rules fired
    ineligible: dict[str, list[str]] = field(default_factory=dict)  # action -> unmet conditions


def withholding_rules(
    action: Action, signals: Signals, policy: Policy, served: Mapping[str, int]
) -> list[str]:
    """The ids of the policy rules that withhold this action for this customer."""
    fired = [rule.id for rule in policy.rules if rule.fires(action.kind, signals)]
    if action.holds is not None and signals.get(f"holds.{action.holds}") is not False:
        fired.append(ALREADY_HELD)
    if served.get(action.id, 0) >= policy.caps.per_action:
        fired.append(CAP_PER_ACTION)
    return fired


def unmet(action: Action, signals: Signals) -> list[str]:
    """The eligibility conditions the customer does not meet (or cannot be shown to meet)."""
    return [c.describe() for c in action.eligible if not c.holds(signals)]


def ranked(
    action: Action, signals: Signals, policy: Policy, propensities: Mapping[str, Propensity]
) -> Ranked:
    """The action's score for an eligible customer."""
    found = propensities[action.propensity] if action.propensity else None
    probability = probability_of(action, found, policy)
    weights = policy.weights
    base = weights["customer"] * action.value_customer + weights["bank"] * action.value_bank
    boosts = tuple(b for b in action.boosts if b.when.holds(signals))
    lifted = lift(found, lift_source(action, policy), policy)
    weight = None if lifted is None else policy.life_events.take_up * lifted
    factor = probability if weight is None else weight
    score = factor * base * (1 + sum(b.boost for b in boosts))
    return Ranked(action, score, probability, base, boosts, found, weight)


def probability_of(action: Action, found: Propensity | None, policy: Policy) -> float:
    """The action's probability: its fixed prior, its propensity, or (method `shrunk`) a
    model's score shrunk toward the event's base rate (a default is left as it is)."""
    if found is None:
        return action.prior
    source = policy.propensities.get(found.name)
    ranking = policy.life_events
    if ranking.method != "shrunk" or found.is_default or source is None:
        return found.probability
    if source.base_rate is None:
        return found.probability
    weight = ranking.model_weight
    return weight * found.probability + (1 - weight) * source.base_rate


def lift_source(action: Action, policy: Policy) -> PropensitySource | None:
    """The action's propensity source when the policy ranks it by lift over its base rate."""
    source = policy.propensities.get(action.propensity) if action.propensity else None
    if policy.life_events.method != "lift" or source is None or source.base_rate is None:
        return None
    return source


def lift(found: Propensity | None, source: PropensitySource | None, policy: Policy) -> float | None:
    """The propensity's lift over the event's base rate, capped (1: unscored, the usual rate);
    None when the action is not ranked by lift."""
    if source is None or source.base_rate is None:
        return None
    if found is None or found.is_default:
        return 1.0
    return min(found.probability / source.base_rate, policy.life_events.max_lift)


def too_unlikely(found: Ranked, policy: Policy) -> str | None:
    """Why a model-driven action is too unlikely to suggest (a 0% chance, or by lift not
    likelier than the policy's min_lift times the event's usual rate), if it is."""
    if found.action.propensity is None:
        return None
    if found.weight is not None:
        lifted = found.weight / policy.life_events.take_up
        need = policy.life_events.min_lift
        return None if lifted >= need else f"lift {lifted:.2f}x below {need:g}x the base rate"
    if found.probability >= policy.min_propensity:
        return None
    return f"propensity {found.probability:.1%} below {policy.min_propensity:.0%}"


def rank(
    policy: Policy,
    signals: Signals,
    propensities: Mapping[str, Propensity],
    served: Mapping[str, int],
) -> Ranking:
    """The customer's list: permitted, eligible actions by score, within the contact caps."""
    result = Ranking([])
    for action in policy.actions:
        if fired := withholding_rules(action, signals, policy, served):
            result.withheld[action.id] = fired
        elif missing := unmet(action, signals):
            result.ineligible[action.id] = missing
        elif unlikely := too_unlikely(ranked(action, signals, policy, propensities), policy):
            result.ineligible[action.id] = [unlikely]
        else:
            result.served.append(ranked(action, signals, policy, propensities))
    result.served.sort(key=lambda r: (-r.score, r.action.id))
    room = max(0, policy.caps.per_window - sum(served.values()))
    for capped in result.served[room : policy.list_size]:
        result.withheld[capped.action.id] = [CAP_PER_WINDOW]
    del result.served[min(policy.list_size, room) :]
    return result

"""Credit-limit decisions: raise, keep or decline, with Regulation B principal reasons.

Policy as data (credit_policy.yaml): decline rules, risk bands with their highest limit, an
income bound and an APR. A decline, a kept limit or a raise below the amount requested is
adverse action and carries up to four principal reasons (reg_b_reasons.yaml, Form C-1 wording):
first the policy rules that fired, then the features with the largest risk-increasing
contributions (exact LightGBM pred_contrib), one reason per code. A raise that meets the
request (or the policy's step up when no amount was asked) carries none.

A reason is never made up: no rule and no model reason reads a feature the customer's data
lacked (filled with a default, `defaults_used`), and a model reason needs a contribution that
raised the risk. Model reasons are given only when the risk decided: a decline, or the band's
limit holding the new limit down; when the income bound or the card's maximum holds it, that
bound is the reason. A request that is not a whole number of the policy's unit (hundreds) is
rounded UP to it, as a bank quotes limits in whole hundreds and a customer asking for $5,050
asks for at least that much; granting the rounded amount meets the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from advisor.decisions.credit_rules import Band, CreditPolicy, Reason, ReasonCodes
from advisor.predict.credit_features import CreditInputs
from advisor.predict.score import Score

MONTHS = Decimal("12")


@dataclass(frozen=True)
class CreditDecision:
    """The outcome of one credit-limit request."""

    decision: str  # raise | keep | decline
    current_limit: Decimal
    new_limit: Decimal | None
    apr: Decimal | None
    reasons: tuple[Reason, ...]
    rules_fired: tuple[str, ...]
    band: str
    target_limit: Decimal

    def to_json(self) -> dict[str, Any]:
        """As the trace stores it (money as strings)."""
        return {
            "decision": self.decision,
            "current_limit": str(self.current_limit),
            "new_limit": None if self.new_limit is None else str(self.new_limit),
            "apr": None if self.apr is None else str(self.apr),
            "reasons": [r.to_json() for r in self.reasons],
            "band": self.band,
            "target_limit": str(self.target_limit),
        }


def target_limit(current: Decimal, requested: Decimal | None, policy: CreditPolicy) -> Decimal:
    """The limit asked for: the request rounded up to the policy's unit, else the current
    limit plus the policy's step up."""
    if requested is not None:
        units = (requested / policy.round_to).to_integral_value(ROUND_CEILING)
        return units * policy.round_to
    return policy.floor(current + max(current * policy.step_share, policy.min_step))


def fired_decline_rules(inputs: CreditInputs, policy: CreditPolicy) -> list[str]:
    """The decline rules of the policy this customer meets, in the policy's order."""
    rules = policy.decline_rules
    known = "delinquencies_24m" not in inputs.defaults_used  # a default is no delinquency
    checks = {
        "hardship": inputs.hardship,
        "in_default": inputs.in_default,
        "recent_delinquency": known
        and inputs.values["delinquencies_24m"]
        >= float(rules.get("recent_delinquency", {}).get("delinquencies_24m_at_least", 1)),
        "no_credit_file": "bureau_score" in inputs.defaults_used,
    }
    return [name for name in rules if rules[name] and checks.get(name, False)]


def model_reasons(
    score: Score, inputs: CreditInputs, rules: tuple[CreditPolicy, ReasonCodes]
) -> list[Reason]:
    """Reasons from the largest risk-increasing contributions of features the customer's data
    gave (never a defaulted one, never one that lowered the risk), one per code, largest first."""
    policy, codes = rules
    made_up = {*inputs.defaults_used, *score.defaults_used}
    ranked = sorted(score.contributions.items(), key=lambda item: (-item[1], item[0]))
    return [
        codes.for_feature(f, c)
        for f, c in ranked
        if c > 0 and c >= policy.min_reason_contribution and f not in made_up
    ]


def principal_reasons(
    fired: list[str], model: list[Reason], rules: tuple[CreditPolicy, ReasonCodes]
) -> tuple[Reason, ...]:
    """Rule reasons first, then model reasons; no code twice; at most max_reasons."""
    policy, codes = rules
    chosen: dict[str, Reason] = {}
    for reason in [*(codes.for_rule(r) for r in fired), *model]:
        chosen.setdefault(reason.code, reason)
    return tuple(list(chosen.values())[: policy.max_reasons])


def fallback_reasons(
    score: Score, inputs: CreditInputs, rules: tuple[CreditPolicy, ReasonCodes]
) -> list[Reason]:
    """Reasons for an adverse action no rule and no contribution over the threshold explains
    (Regulation B wants at least one): features that raised the risk however little; else
    the information the customer's data lacked where its default raised the risk; else, every
    feature having lowered the risk, those that lowered it least (the factors furthest from
    the best score, Official Staff Commentary 1002.9(b)(2)-5)."""
    codes = rules[1]
    made_up = {*inputs.defaults_used, *score.defaults_used}
    ranked = sorted(score.contributions.items(), key=lambda item: (-item[1], item[0]))
    known = [(f, c) for f, c in ranked if f not in made_up]
    rising = [codes.for_feature(f, c) for f, c in known if c > 0]
    missing = [codes.for_missing(f, c) for f, c in ranked if f in made_up and c > 0]
    return rising or missing or [codes.for_feature(f, c) for f, c in known]


def adverse_reasons(
    fired: list[str], score: Score, inputs: CreditInputs, rules: tuple[CreditPolicy, ReasonCodes]
) -> tuple[Reason, ...]:
    """The principal reasons of an adverse action decided by the risk: never none."""
    found = principal_reasons(fired, model_reasons(score, inputs, rules), rules)
    return found or principal_reasons([], fallback_reasons(score, inputs, rules), rules)


def decide(
    inputs: CreditInputs,
    current: Decimal,
    score: Score,
    requested: Decimal | None,
    rules: tuple[CreditPolicy, ReasonCodes],
) -> CreditDecision:
    """The decision for a customer whose card limit is `current`, given the model's score."""
    policy = rules[0]
    target = target_limit(current, requested, policy)
    band = policy.band_for(score.probability)
    declined = fired_decline_rules(inputs, policy)
    if declined or band.action == "decline":
        fired = declined or [f"band_{band.name}_declines"]
        reasons = adverse_reasons(declined, score, inputs, rules)
        return CreditDecision(
            "decline", current, None, None, reasons, tuple(fired), band.name, target
        )
    return _offer(inputs, current, score, requested, target, band, rules)


def _offer(
    inputs: CreditInputs,
    current: Decimal,
    score: Score,
    requested: Decimal | None,
    target: Decimal,
    band: Band,
    rules: tuple[CreditPolicy, ReasonCodes],
) -> CreditDecision:
    """Raise up to the band's and the income's bound; keep when neither allows more."""
    policy = rules[0]
    by_income = policy.floor(inputs.monthly_income * MONTHS * band.income_share)
    new = min(target, band.max_limit, by_income)
    binding = _binding_rules(target, band, by_income, policy)
    by_band = _band_binds(target, band, by_income, binding)
    apr = (
        min(band.apr, inputs.current_apr)
        if policy.never_reprice_up and inputs.current_apr
        else band.apr
    )
    if new <= current:
        reasons = _limited(binding, by_band, score, inputs, rules)
        fired = ("keep_no_room", *binding)
        return CreditDecision(
            "keep", current, current, inputs.current_apr, reasons, fired, band.name, target
        )
    short = requested is not None and new < target
    reasons = _limited(binding, by_band, score, inputs, rules) if short else ()
    fired = ("raise_below_request", *binding) if short else ("raise",)
    return CreditDecision("raise", current, new, apr, reasons, fired, band.name, target)


def _limited(
    binding: list[str],
    by_band: bool,
    score: Score,
    inputs: CreditInputs,
    rules: tuple[CreditPolicy, ReasonCodes],
) -> tuple[Reason, ...]:
    """Reasons for a limit held below the request: the bounds that bound it; the model's
    features when the risk band's limit did (at least one, see adverse_reasons)."""
    if by_band:
        return adverse_reasons(binding, score, inputs, rules)
    return principal_reasons(binding, [], rules)


def _binding_rules(
    target: Decimal, band: Band, by_income: Decimal, policy: CreditPolicy
) -> list[str]:
    """Which bounds hold the limit below the target: the income bound, the card's maximum."""
    card_maximum = max(b.max_limit for b in policy.bands)
    binding = []
    if by_income < target and by_income <= band.max_limit:
        binding.append("income_cap")
    if target > card_maximum and band.max_limit == card_maximum:
        binding.append("card_maximum")
    return binding


def _band_binds(target: Decimal, band: Band, by_income: Decimal, binding: list[str]) -> bool:
    """Whether the risk band's limit, not the income bound or the card's maximum, holds the
    new limit below the target (only then are the model's features principal reasons)."""
    return band.max_limit < target and band.max_limit <= by_income and "card_maximum" not in binding

"""The credit policy and the Regulation B reason codes, loaded from their YAML files."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
POLICY_FILE = HERE / "credit_policy.yaml"
REASONS_FILE = HERE / "reg_b_reasons.yaml"


@dataclass(frozen=True)
class Band:
    """One risk band: up to which probability it applies, and what it allows."""

    name: str
    max_probability: float
    max_limit: Decimal
    income_share: Decimal
    apr: Decimal
    action: str  # offer | decline


@dataclass(frozen=True)
class Reason:
    """A principal reason for adverse action: its code, Form C-1 text and what gave it."""

    code: str
    text: str
    source: str  # "rule:<name>" or "feature:<name>"
    contribution: float | None = None

    def to_json(self) -> dict[str, Any]:
        """As the trace stores it."""
        return {"code": self.code, "text": self.text, "source": self.source,
                "contribution": self.contribution}  # fmt: skip


@dataclass(frozen=True)
class CreditPolicy:
    """The credit-limit policy of credit_policy.yaml."""

    bands: tuple[Band, ...]
    step_share: Decimal
    min_step: Decimal
    round_to: Decimal
    max_requested_limit: Decimal
    never_reprice_up: bool
    decline_rules: dict[str, Any]
    min_reason_contribution: float
    max_reasons: int

    def band_for(self, probability: float) -> Band:
        """The first band whose max_probability the probability does not exceed."""
        return next(b for b in self.bands if probability <= b.max_probability)

    def floor(self, amount: Decimal) -> Decimal:
        """Round an amount down to the policy's unit (whole hundreds)."""
        units = (amount / self.round_to).to_integral_value(ROUND_FLOOR)
        return max(units * self.round_to, Decimal("0"))


@dataclass(frozen=True)
class ReasonCodes:
    """Reason texts by code, and which code each feature and each rule gives."""

    texts: dict[str, str]
    by_feature: dict[str, str]
    by_rule: dict[str, str]
    by_missing: dict[str, str] = field(default_factory=dict)
    missing_default: str = ""

    def for_rule(self, rule: str) -> Reason:
        """The reason a fired policy rule gives."""
        code = self.by_rule[rule]
        return Reason(code, self.texts[code], f"rule:{rule}")

    def for_feature(self, feature: str, contribution: float) -> Reason:
        """The reason a feature's risk-increasing contribution gives."""
        code = self.by_feature[feature]
        return Reason(code, self.texts[code], f"feature:{feature}", round(contribution, 4))

    def for_missing(self, feature: str, contribution: float) -> Reason:
        """The reason a feature gives when the customer's data lacked it and its default
        raised the risk: the missing information."""
        code = self.by_missing.get(feature, self.missing_default)
        return Reason(code, self.texts[code], f"missing:{feature}", round(contribution, 4))


def _band(raw: dict[str, Any]) -> Band:
    """One band from YAML."""
    return Band(
        str(raw["name"]), float(raw["max_probability"]), Decimal(str(raw["max_limit"])),
        Decimal(str(raw["income_share"])), Decimal(str(raw["apr"])), str(raw["action"]),
    )  # fmt: skip


@lru_cache(maxsize=4)
def load_policy(path: Path = POLICY_FILE) -> CreditPolicy:
    """Read and check credit_policy.yaml (the last band must cover every probability)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    bands = tuple(_band(b) for b in raw["bands"])
    if not bands or bands[-1].max_probability < 1.0:
        raise ValueError(f"{path}: the last band must reach max_probability 1.0")
    return CreditPolicy(
        bands=bands,
        step_share=Decimal(str(raw["step_up"]["share"])),
        min_step=Decimal(str(raw["step_up"]["min_step"])),
        round_to=Decimal(str(raw["round_to"])),
        max_requested_limit=Decimal(str(raw["max_requested_limit"])),
        never_reprice_up=bool(raw["never_reprice_up"]),
        decline_rules=dict(raw["decline_rules"]),
        min_reason_contribution=float(raw["min_reason_contribution"]),
        max_reasons=int(raw["max_reasons"]),
    )


@lru_cache(maxsize=4)
def load_reason_codes(path: Path = REASONS_FILE) -> ReasonCodes:
    """Read reg_b_reasons.yaml; every feature and rule must name a known code."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    texts = {code: str(item["text"]) for code, item in raw["reasons"].items()}
    by_feature, by_rule = dict(raw["features"]), dict(raw["rules"])
    by_missing, missing_default = dict(raw["missing_features"]), str(raw["missing_default"])
    named = [*by_feature.values(), *by_rule.values(), *by_missing.values(), missing_default]
    unknown = {c for c in named if c not in texts}
    if unknown:
        raise ValueError(f"{path}: unknown reason codes {sorted(unknown)}")
    return ReasonCodes(texts, by_feature, by_rule, by_missing, missing_default)

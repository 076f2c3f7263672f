"""The output and input rail policies as data: guardrails/output_rails.yaml, input_rails.yaml."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from advisor.rails.policy import validate_policy


class Rule(BaseModel):
    """A rule with the id its interventions report."""

    id: str


class DisclaimerRule(Rule):
    """Investment content carries the disclaimer."""

    topics: list[str]
    text: str
    marker: str


class PatternRule(Rule):
    """Wording that is replaced by a fixed sentence."""

    patterns: list[str]
    replacement: str


class ProtectedBasisRule(Rule):
    """ECOA protected bases, in credit context."""

    terms: list[str]
    credit_words: list[str]
    replacement: str


class LeakRule(Rule):
    """Signs of a hijacked model."""

    phrases: list[str]
    system_prompt_ngram: int


class EchoRule(Rule):
    """Parroting the customer's message."""

    ngram: int


class ReplaceRule(Rule):
    """A value removed and replaced by a marker."""

    replacement: str


class OutputPolicy(BaseModel):
    """Every output rail."""

    disclaimer: DisclaimerRule
    guarantees: PatternRule
    protected_basis: ProtectedBasisRule
    leak: LeakRule
    echo: EchoRule
    other_person: ReplaceRule
    grounded: Rule

    @classmethod
    def load(cls, policy_dir: Path) -> OutputPolicy:
        """Read output_rails.yaml."""
        return validate_policy(cls, policy_dir / "output_rails.yaml")


class RefusalRule(Rule):
    """Requests refused before the model or the retriever sees them."""

    patterns: list[str]


class InputPolicy(BaseModel):
    """Every input rail and the refusal wording."""

    refusal_text: str
    handoff_text: str
    rules: list[RefusalRule]

    @classmethod
    def load(cls, policy_dir: Path) -> InputPolicy:
        """Read input_rails.yaml."""
        return validate_policy(cls, policy_dir / "input_rails.yaml")

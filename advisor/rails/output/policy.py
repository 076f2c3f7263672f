"""The output and input rail policies as data: guardrails/output_rails.yaml, input_rails.yaml."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from pydantic import BaseModel

from advisor.rails.pii.policy import PolicyError, validate_policy


class Rule(BaseModel):
    """A rule with the id its interventions report."""

    id: str


class DisclaimerRule(Rule):
    """Investment content carries the disclaimer: answers on these topics, and quotes from
    products of these types."""

    topics: list[str]
    product_types: list[str]
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
    topics: list[str]  # answers on these topics are credit context whatever their words
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
    def load(
        cls,
        policy_dir: Path,
        topics: Collection[str] | None = None,
        product_types: Collection[str] | None = None,
    ) -> OutputPolicy:
        """Read output_rails.yaml; every topic id and product type it names must exist
        (by default: the topics of advisor/grounding/topics.yaml, the product corpus' types)."""
        path = policy_dir / "output_rails.yaml"
        policy = validate_policy(cls, path)
        known = known_topics() if topics is None else topics
        types = known_product_types() if product_types is None else product_types
        named = [
            ("disclaimer.topics", policy.disclaimer.topics, known, "topic"),
            ("protected_basis.topics", policy.protected_basis.topics, known, "topic"),
            ("disclaimer.product_types", policy.disclaimer.product_types, types, "product type"),
        ]
        for where, ids, valid, kind in named:
            if unknown := sorted(set(ids) - set(valid)):
                raise PolicyError(
                    f"policy {path}: {where} names no {kind} that exists: {', '.join(unknown)} "
                    f"(known: {', '.join(sorted(valid))})"
                )
        return policy


def known_topics() -> set[str]:
    """The topic ids of the grounding rules (advisor/grounding/topics.yaml)."""
    from advisor.grounding.rules import load_rulebook

    return {t.id for t in load_rulebook().topics}


def known_product_types() -> set[str]:
    """The product types of the product corpus (retrieval/corpus/products/*.yaml)."""
    from retrieval.products import load_products

    return {p.type for p in load_products()}


class RefusalRule(Rule):
    """Requests refused before the model or the retriever sees them."""

    patterns: list[str]
    text: str | None = None  # what the customer reads instead of the general refusal


class InputPolicy(BaseModel):
    """Every input rail and the refusal wording."""

    refusal_text: str
    handoff_text: str
    rules: list[RefusalRule]

    @classmethod
    def load(cls, policy_dir: Path) -> InputPolicy:
        """Read input_rails.yaml."""
        return validate_policy(cls, policy_dir / "input_rails.yaml")

"""The advisor's compliance validators, registered locally with guardrails-ai (no hub)."""

from __future__ import annotations

import re
from typing import Any

from guardrails.validators import (
    FailResult,
    PassResult,
    ValidationResult,
    Validator,
    register_validator,
)

from advisor.grounding.claims import find_claims
from advisor.rails.output.policy import OutputPolicy


def _compile(patterns: list[str]) -> re.Pattern[str]:
    """One case-insensitive alternation of the policy's patterns."""
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


class PolicyValidator(Validator):  # type: ignore[misc]
    """A validator configured by the output policy, with the rule id it reports."""

    rule = ""  # the OutputPolicy field that configures this validator

    def __init__(self, policy: OutputPolicy, **kwargs: Any) -> None:
        super().__init__(on_fail="fix", **kwargs)
        self.policy = policy
        self.rule_id: str = getattr(policy, self.rule).id

    def fail(self, why: str, fix: str) -> FailResult:
        """A failure that names the rule; the fix replaces the sentence."""
        return FailResult(error_message=f"{self.rule_id}: {why}", fix_value=fix)


@register_validator(name="advisor/no_guaranteed_returns", data_type="string")
class NoGuaranteedReturns(PolicyValidator):
    """No promised, guaranteed or risk-free returns."""

    rule = "guarantees"

    def __init__(self, policy: OutputPolicy, **kwargs: Any) -> None:
        super().__init__(policy, **kwargs)
        self.pattern = _compile(policy.guarantees.patterns)

    def validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        """Fail on wording that promises a return."""
        if found := self.pattern.search(value):
            return self.fail(
                f"promises a return ({found.group(0)!r})", self.policy.guarantees.replacement
            )
        return PassResult()


@register_validator(name="advisor/ecoa_protected_basis", data_type="string")
class NoProtectedBasis(PolicyValidator):
    """No reasoning from or about an ECOA protected basis in a credit answer."""

    rule = "protected_basis"

    def __init__(self, policy: OutputPolicy, **kwargs: Any) -> None:
        super().__init__(policy, **kwargs)
        rules = policy.protected_basis
        self.terms = re.compile(rf"\b(?:{'|'.join(rules.terms)})\b", re.IGNORECASE)
        self.credit = re.compile(rf"\b(?:{'|'.join(rules.credit_words)})\b", re.IGNORECASE)

    def validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        """Fail when a credit sentence names a protected basis (quoted rules are exempt)."""
        if metadata.get("quoted"):
            return PassResult()
        term = self.terms.search(value)
        credit = self.credit.search(value) or metadata.get("credit_context")
        if term and credit:
            return self.fail(
                f"names {term.group(0)!r} in a credit answer",
                self.policy.protected_basis.replacement,
            )
        return PassResult()


@register_validator(name="advisor/prompt_leak", data_type="string")
class NoPromptLeak(PolicyValidator):
    """No canary, system-prompt text or hijack phrase ("Access Granted") in the output."""

    rule = "leak"

    def __init__(self, policy: OutputPolicy, **kwargs: Any) -> None:
        super().__init__(policy, **kwargs)
        self.phrases = re.compile("|".join(re.escape(p) for p in policy.leak.phrases), re.I)

    def validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        """Fail on the canary, a leak phrase or a run of the system prompt's words."""
        canary = metadata.get("canary")
        if canary and canary in value:
            return self.fail("the canary appeared", "")
        if found := self.phrases.search(value):
            return self.fail(f"hijack phrase {found.group(0)!r}", "")
        if ngrams_shared(
            value, metadata.get("system_prompt", ""), self.policy.leak.system_prompt_ngram
        ):
            return self.fail("repeats the system prompt", "")
        return PassResult()


@register_validator(name="advisor/no_echo", data_type="string")
class NoEcho(PolicyValidator):
    """The answer does not parrot the customer's message or the prompt's delimiters."""

    rule = "echo"

    def validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        """Fail (the sentence is dropped) on a run of the message's words or a delimiter."""
        if "<<<" in value or ">>>" in value:
            return self.fail("copies the prompt's delimiters", "")
        if ngrams_shared(value, metadata.get("question", ""), self.policy.echo.ngram):
            return self.fail("repeats the customer's message", "")
        return PassResult()


@register_validator(name="advisor/other_person_data", data_type="string")
class NoOtherPersonData(PolicyValidator):
    """No personal data except the customer's own placeholders."""

    rule = "other_person"

    def validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        """Fail when the PII finder sees a value in the answer (placeholders are not PII)."""
        finder = metadata.get("pii")
        found = finder(value) if finder else []
        if not found:
            return PassResult()
        fixed = value
        for start, end in sorted(found, reverse=True):
            fixed = fixed[:start] + self.policy.other_person.replacement + fixed[end:]
        return self.fail(f"{len(found)} personal value(s) not the customer's", fixed)


@register_validator(name="advisor/grounded", data_type="string")
class Grounded(PolicyValidator):
    """Every amount, rate and date traces to a fact or a cited passage."""

    rule = "grounded"

    def validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        """Fail on the first claim the turn's verifier cannot trace (no fix: fall back)."""
        verifier = metadata.get("verifier")
        if verifier is None:
            return PassResult()
        for claim in find_claims(value):
            if not verifier.grounded(claim):
                return self.fail(f"untraced {claim.kind} {claim.text.strip()!r}", "")
        return PassResult()


def ngrams_shared(text: str, source: str, n: int) -> bool:
    """Whether the text repeats n consecutive words of the source."""
    words = re.findall(r"\w+", source.lower())
    grams = {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}
    said = re.findall(r"\w+", text.lower())
    return any(tuple(said[i : i + n]) in grams for i in range(len(said) - n + 1))

"""Output rails: a guardrails-ai Guard run on each sentence before the customer sees it."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Literal

from advisor.grounding.verify import Verifier
from advisor.ops.tracing import traced
from advisor.rails.offline import keep_offline
from advisor.rails.output.policy import OutputPolicy
from advisor.rails.output.validators import (
    Grounded,
    NoEcho,
    NoGuaranteedReturns,
    NoOtherPersonData,
    NoPromptLeak,
    NoProtectedBasis,
)
from guardrails import Guard

Action = Literal["fix", "fallback", "refuse", "append"]
# (text, trusted text) -> spans of personal data in the text that the trusted text lacks
PiiFinder = Callable[[str, str], list[tuple[int, int]]]


@dataclass(frozen=True)
class Intervention:
    """One rail acting on the answer: which rule, what it did, why."""

    rule: str
    action: Action
    reason: str

    def to_json(self) -> dict[str, str]:
        """The `guard` event's data."""
        return {"rule": self.rule, "action": self.action, "reason": self.reason}


class RailViolation(Exception):
    """A violation no sentence fix can repair: the answer falls back to deterministic text."""

    def __init__(self, intervention: Intervention) -> None:
        super().__init__(f"{intervention.rule}: {intervention.reason}")
        self.intervention = intervention


@dataclass
class RailContext:
    """What the rails know about the turn they guard."""

    topic: str | None = None
    verifier: Verifier | None = None
    canary: str = ""
    system_prompt: str = ""
    question: str = ""
    trusted: str = ""
    quoted: bool = False
    pii: PiiFinder | None = None
    investment: bool = False  # quotes an investment product (the policy's product types)

    def metadata(self, credit_topics: Collection[str] = ()) -> dict[str, Any]:
        """The metadata the validators read; `credit_topics` are the policy's credit topics."""
        return {
            "verifier": self.verifier,
            "canary": self.canary,
            "system_prompt": self.system_prompt,
            "question": "" if self.quoted else self.question,
            "quoted": self.quoted,
            "credit_context": (self.topic or "") in credit_topics,
            "pii": None if self.quoted else self._untrusted_pii,
        }

    def _untrusted_pii(self, text: str) -> list[tuple[int, int]]:
        """PII spans in the text that the turn's trusted text does not contain."""
        return self.pii(text, self.trusted) if self.pii is not None else []


class OutputRails:
    """The Guard of the advisor's validators and the closing disclaimer."""

    def __init__(self, policy: OutputPolicy) -> None:
        keep_offline()
        self.policy = policy
        self.fallback_rules = {policy.leak.id, policy.grounded.id, policy.echo.id}
        self.guard = Guard(name="advisor-output").use(
            NoPromptLeak(policy),
            NoEcho(policy),
            Grounded(policy),
            NoGuaranteedReturns(policy),
            NoProtectedBasis(policy),
            NoOtherPersonData(policy),
        )

    @traced("chat.output_rails")
    def check(self, text: str, context: RailContext) -> tuple[str, list[Intervention]]:
        """The text as it may be shown, and what was changed; raises RailViolation."""
        if not text.strip():
            return text, []
        metadata = context.metadata(self.policy.protected_basis.topics)
        outcome = self.guard.validate(text, metadata=metadata)
        found = [
            _intervention(s.failure_reason or "", self.fallback_rules) for s in _failures(outcome)
        ]
        for item in found:
            if item.action == "fallback":
                raise RailViolation(item)
        fixed = text if not found else str(outcome.validated_output or "")
        return _keep_spacing(text, fixed), found

    def closing(self, answer: str, context: RailContext) -> tuple[str, Intervention | None]:
        """Text to append at the end of the answer (the investment disclaimer), if any: an
        answer on an investment topic or quoting an investment product carries it."""
        rule = self.policy.disclaimer
        investment = context.investment or context.topic in rule.topics
        if not investment or rule.marker in answer.lower():
            return "", None
        item = Intervention(rule.id, "append", "investment content without the disclaimer")
        stop = "" if not answer.strip() or answer.rstrip()[-1] in ".!?" else "."
        return f"{stop} {rule.text}", item


def _failures(outcome: Any) -> list[Any]:
    """The failed validator summaries of a guard outcome."""
    return [s for s in outcome.validation_summaries or [] if s.validator_status == "fail"]


def _intervention(reason: str, fallback_rules: set[str]) -> Intervention:
    """An intervention from a validator's failure message (`rule: why`)."""
    rule, _, why = reason.partition(": ")
    return Intervention(rule, "fallback" if rule in fallback_rules else "fix", why)


def _keep_spacing(original: str, fixed: str) -> str:
    """A fixed sentence keeps the original's leading and trailing whitespace."""
    lead = re.match(r"\s*", original)
    trail = re.search(r"\s*$", original)
    return f"{lead.group(0) if lead else ''}{fixed.strip()}{trail.group(0) if trail else ''}"

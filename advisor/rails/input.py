"""Input rails: harmful and out-of-scope requests and injections, refused before any model."""

from __future__ import annotations

import re

from advisor.ops.tracing import traced
from advisor.rails.injection.detector import InjectionDetector
from advisor.rails.output.guard import Intervention
from advisor.rails.output.policy import InputPolicy


class InputRails:
    """Decides whether a customer message is refused, and by which rule."""

    def __init__(self, policy: InputPolicy, detector: InjectionDetector | None) -> None:
        self.policy, self.detector = policy, detector
        self.rules = [
            (rule.id, re.compile("|".join(f"(?:{p})" for p in rule.patterns), re.IGNORECASE))
            for rule in policy.rules
        ]

    @traced("chat.input_rails")
    def refusal(self, text: str) -> Intervention | None:
        """The intervention that refuses this message, or None when it may be answered."""
        for rule_id, pattern in self.rules:
            if found := pattern.search(text):
                return Intervention(rule_id, "refuse", f"request matches {found.group(0)[:60]!r}")
        if self.detector is None:
            return None
        verdict = self.detector.check(text, "user")
        if verdict.blocked:
            return Intervention(verdict.rule or "injection", "refuse", verdict.reason)
        return None

    @property
    def refusal_text(self) -> str:
        """What the customer reads instead of an answer."""
        return f"{self.policy.refusal_text} {self.policy.handoff_text}"

    def text_for(self, refusal: Intervention) -> str:
        """The refusal's own wording where its rule has one, else the general refusal."""
        rule = next((r for r in self.policy.rules if r.id == refusal.rule), None)
        if rule is not None and rule.text:
            return f"{rule.text} {self.policy.handoff_text}"
        return self.refusal_text

"""The sentence filters of an answer, in order: each may fix a sentence or raise `Fallback`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from advisor.grounding.support import SupportChecker
from advisor.rails.output.guard import Intervention, OutputRails, RailContext, RailViolation
from advisor.rails.pii.vault import Vault

RULE_UNSUPPORTED = "grounding.unsupported_sentence"


class Fallback(Exception):
    """The answer must be the grounded draft; handled in one place (the answer's stream)."""

    def __init__(self, reason: str, intervention: Intervention | None = None) -> None:
        super().__init__(reason)
        self.reason, self.intervention = reason, intervention


@dataclass(frozen=True)
class Filtered:
    """A sentence as a filter left it, and what the filter did to it."""

    text: str
    found: tuple[Intervention, ...] = ()


class SentenceFilter(Protocol):
    """One step of the answer pipeline."""

    def __call__(self, sentence: str) -> Filtered:
        """The sentence as it may go on; raises Fallback when the whole answer must."""
        ...


class MendPlaceholders:
    """Brackets back on the session's placeholders the model wrote bare ('Card 1')."""

    def __init__(self, vault: Vault | None) -> None:
        self.vault = vault

    def __call__(self, sentence: str) -> Filtered:
        """The sentence with its placeholders mended."""
        return Filtered(self.vault.mend(sentence) if self.vault else sentence)


class Supported:
    """Only what the draft supports: an unsupported first sentence falls back before anything
    is shown; a later one gives way to the draft's sentence that says what it tried to say."""

    def __init__(self, checker: SupportChecker) -> None:
        self.checker, self.passed, self.used = checker, 0, set[int]()

    def __call__(self, sentence: str) -> Filtered:
        """The sentence, its draft counterpart, or nothing."""
        verdict = self.checker.judge(sentence)
        if verdict.supported:
            self.passed += 1
            self.used |= self.checker.restated(sentence)
            return Filtered(sentence)
        if self.passed == 0:
            raise Fallback(f"unsupported sentence: {verdict.reason}")
        note = Intervention(RULE_UNSUPPORTED, "fix", verdict.reason)
        index = self.checker.counterpart(sentence, self.used)
        if index is None:
            return Filtered("", (note,))
        self.used.add(index)
        return Filtered(_spaced(sentence, self.checker.draft_sentences[index]), (note,))


class Railed:
    """The output rails (guardrails-ai validators); switched off, it passes text through."""

    def __init__(self, rails: OutputRails | None, context: RailContext) -> None:
        self.rails, self.context = rails, context

    def __call__(self, sentence: str) -> Filtered:
        """The sentence as the rails fix it; a violation no fix repairs falls back."""
        if self.rails is None:
            return Filtered(sentence)
        try:
            text, found = self.rails.check(sentence, self.context)
        except RailViolation as exc:
            raise Fallback(str(exc), exc.intervention) from exc
        return Filtered(text, tuple(found))

    def closing(self, answer: str) -> Filtered:
        """What the rails append at the end of an answer (the investment disclaimer)."""
        if self.rails is None:
            return Filtered("")
        extra, item = self.rails.closing(answer, self.context)
        return Filtered(extra, (item,) if item else ())


def run_filters(filters: Sequence[SentenceFilter], sentence: str) -> Filtered:
    """The sentence through every filter in order, collecting what they did."""
    found: tuple[Intervention, ...] = ()
    for step in filters:
        if not sentence.strip():
            break
        result = step(sentence)
        sentence, found = result.text, found + result.found
    return Filtered(sentence, found)


def _spaced(original: str, replacement: str) -> str:
    """The replacement with the original's leading space."""
    lead = original[: len(original) - len(original.lstrip())]
    return f"{lead}{replacement.strip()}"

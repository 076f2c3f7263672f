"""Hold streamed model text back until every number and date in it is verified."""

from __future__ import annotations

import re
from typing import Literal

from advisor.grounding.claims import MONTHS, Claim, find_claims
from advisor.grounding.verify import Verifier

Hold = Literal["number", "sentence"]
SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")
LEAD_LABEL = re.compile(r"^\s*(draft|answer|reply|response)\s*:\s*", re.IGNORECASE)
LEAD_WINDOW = 8
CONTEXT_CHARS = 32  # enough to re-read a date whose month name was already released
MONTH_PREFIXES = {name[:k] for name in MONTHS for k in range(3, len(name) + 1)}


class Ungrounded(Exception):
    """The model stated a number or date that traces to no fact."""

    def __init__(self, claim: Claim, why: str = "ungrounded") -> None:
        super().__init__(f"{why} {claim.kind} {claim.text.strip()!r}")
        self.claim = claim


class StreamGate:
    """Releases streamed text in verified pieces; raises Ungrounded on the first bad claim.

    `number` mode holds back only a word that may still be part of a number or date;
    `sentence` mode holds back each sentence until it ends (for clients that cannot retract).
    """

    def __init__(self, verifier: Verifier, hold: Hold = "number") -> None:
        self.verifier, self.hold = verifier, hold
        self.buffer, self.released, self.position = "", 0, 0

    def feed(self, delta: str) -> str:
        """Add model text; return the part that is now safe to show."""
        self.buffer += delta
        if self.released == 0 and len(self.buffer.lstrip()) < LEAD_WINDOW:
            return ""
        self._trim_label()
        return self._release(self._cut())

    def _trim_label(self) -> None:
        """Drop a leading 'Draft:'/'Answer:' label the model copied from the prompt."""
        if self.released == 0:
            self.buffer = LEAD_LABEL.sub("", self.buffer, count=1)

    def finish(self) -> str:
        """The model is done: verify and return whatever is still held."""
        self._trim_label()
        return self._release(len(self.buffer))

    @property
    def text(self) -> str:
        """Everything released so far."""
        return self.buffer[: self.released]

    def _cut(self) -> int:
        """How far the buffer can be released without splitting a possible claim."""
        if self.hold == "sentence":
            ends = [m.end() for m in SENTENCE_END.finditer(self.buffer, self.released)]
            return ends[-1] if ends else self.released
        tail_start = max(self.buffer.rfind(" "), self.buffer.rfind("\n")) + 1
        cut = tail_start if self._may_continue(self.buffer[tail_start:]) else len(self.buffer)
        if cut == len(self.buffer):
            return cut
        before = self.buffer[:cut].rstrip()
        last_word = before[before.rfind(" ") + 1 :].strip(",.").lower()
        return before.rfind(" ") + 1 if last_word in MONTH_PREFIXES else cut

    @staticmethod
    def _may_continue(word: str) -> bool:
        """Whether a trailing word might still grow into (part of) a claim."""
        lowered = word.lower().strip(",.")
        return (
            any(ch.isdigit() or ch in "$\u20ac\u00a3%-" for ch in word)
            or (len(lowered) >= 3 and lowered in MONTH_PREFIXES)
            or word == ""
        )

    def _check(self, claim: Claim) -> None:
        """A claim must trace to a fact and restate the draft's claims in the draft's order."""
        if not self.verifier.grounded(claim):
            raise Ungrounded(claim)
        index = self.verifier.locate(claim, self.position)
        if index is not None:
            self.position = index
        elif self.verifier.in_draft(claim):
            raise Ungrounded(claim, "out of order")

    def _release(self, cut: int) -> str:
        """Verify the claims in buffer[:cut] and release the new part."""
        if cut <= self.released:
            return ""
        start = max(0, self.released - CONTEXT_CHARS)
        for claim in find_claims(self.buffer[start:cut]):
            if start + claim.end > self.released:
                self._check(claim)
        piece, self.released = self.buffer[self.released : cut], cut
        return piece

"""Answer text through the output rails: checked, fixed or refused, then restored and streamed."""

from __future__ import annotations

import re

from advisor.chat import events
from advisor.chat.events import ChatEvent
from advisor.rails.output import Intervention, OutputRails, RailContext, RailViolation
from advisor.rails.vault import Vault

# A sentence ends at . ! or ? followed by a space or the end (not inside "$1,017.37"), or a newline.
SENTENCE = re.compile(r"[^\n]*?(?:[.!?](?=\s|$)|\n|$)\s*")


class GuardedStream:
    """One answer's rails: every piece is checked before it is shown, in the customer's terms."""

    def __init__(
        self, rails: OutputRails | None, context: RailContext, vault: Vault | None
    ) -> None:
        self.rails, self.context, self.vault = rails, context, vault
        self.shown = ""

    def piece(self, text: str) -> list[ChatEvent]:
        """Guard events and the token for a released piece; raises RailViolation."""
        text = self.vault.mend(text) if self.vault else text
        checked, found = self.rails.check(text, self.context) if self.rails else (text, [])
        self.shown += checked
        # A checked sentence goes out word by word, like every other answer text.
        return [*guard_events(found), *word_tokens(self.restore(checked))]

    def closing(self) -> list[ChatEvent]:
        """The closing text the rails add (the investment disclaimer), as events."""
        if self.rails is None:
            return []
        extra, item = self.rails.closing(self.shown, self.context)
        self.shown += extra
        return [*guard_events([item] if item else []), *word_tokens(extra)] if extra else []

    def whole(self, text: str) -> list[ChatEvent]:
        """Deterministic text, checked sentence by sentence, as word tokens; may raise."""
        out: list[ChatEvent] = []
        for sentence in split_sentences(text) or [text]:
            checked, found = (
                self.rails.check(sentence, self.context) if self.rails else (sentence, [])
            )
            self.shown += checked
            out += guard_events(found)
        return [*out, *word_tokens(self.restore(self.shown)), *self.closing()]

    def restore(self, text: str) -> str:
        """Placeholders back to the customer's own values (as the policy shows them)."""
        return self.vault.restore(text) if self.vault else text


def split_sentences(text: str) -> list[str]:
    """The text's sentences, each with its trailing space."""
    return [m.group(0) for m in SENTENCE.finditer(text) if m.group(0)]


def guard_events(found: list[Intervention]) -> list[ChatEvent]:
    """One `guard` event per intervention."""
    return [ChatEvent("guard", item.to_json()) for item in found]


def word_tokens(text: str) -> list[ChatEvent]:
    """Deterministic text as word-sized token events, spaces kept."""
    words = text.split(" ")
    pieces = [w if i == 0 else f" {w}" for i, w in enumerate(words)]
    return [events.token(piece) for piece in pieces if piece]


__all__ = ["GuardedStream", "RailViolation", "guard_events", "split_sentences", "word_tokens"]

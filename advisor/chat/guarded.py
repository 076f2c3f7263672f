"""Answer text as stream events: sentences, guard events and word-sized tokens."""

from __future__ import annotations

import re

from advisor.chat import events
from advisor.chat.events import ChatEvent
from advisor.rails.output.guard import Intervention

# A sentence ends at . ! or ? followed by a space or the end (not inside "$1,017.37"), or a newline.
SENTENCE = re.compile(r"[^\n]*?(?:[.!?](?=\s|$)|\n|$)\s*")


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


__all__ = ["guard_events", "split_sentences", "word_tokens"]

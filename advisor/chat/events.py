"""Events of a chat turn, as streamed to clients (SSE event name + JSON data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portfolio_context.facts import Fact


@dataclass(frozen=True)
class ChatEvent:
    """One event of the stream: `meta`, `fact`, `token`, `grounding`, `done` or `error`."""

    event: str
    data: dict[str, Any]


def meta(session_id: str, trace_id: str, route: dict[str, Any] | None = None) -> ChatEvent:
    """First event: which session and trace this turn belongs to, and where it was routed."""
    return ChatEvent("meta", {"session_id": session_id, "trace_id": trace_id, **(route or {})})


def fact(item: Fact) -> ChatEvent:
    """A fact the answer rests on."""
    return ChatEvent("fact", item.to_json())


def token(text: str) -> ChatEvent:
    """A piece of answer text."""
    return ChatEvent("token", {"text": text})


def grounding(outcome: str, reason: str | None = None, retract: bool = False) -> ChatEvent:
    """Whether the model's text was kept (`model`) or replaced by the grounded draft."""
    return ChatEvent("grounding", {"outcome": outcome, "reason": reason, "retract": retract})


def error(code: str, message: str) -> ChatEvent:
    """A failure after the stream started."""
    return ChatEvent("error", {"code": code, "message": message})

"""A chat turn: what it needs (Turn, built once) and the `done` event of how it ended."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from advisor.chat.answer import Outcome
from advisor.chat.plan import Plan
from advisor.grounding.selection import Selection, Slots
from advisor.llm.base import ChatMessage
from advisor.rails.pii.vault import Vault
from portfolio_context.view import Customer360

if TYPE_CHECKING:
    from advisor.routing.router import Routed


@dataclass(frozen=True)
class Turn:
    """A validated, screened turn and its plan, ready to stream."""

    customer_id: str
    session_id: str
    message: str  # redacted: placeholders for the customer's personal data
    view: Customer360
    plan: Plan
    history: tuple[ChatMessage, ...] = ()
    vault: Vault | None = None
    trace_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: float = field(default_factory=time.perf_counter)
    decision_trace_ids: tuple[str, ...] = ()  # the decision traces a facts answer rests on

    @property
    def selection(self) -> Selection | None:
        """The facts and draft the plan rests on, if any."""
        return self.plan.selection

    @property
    def slots(self) -> Slots:
        """What the conversation is about after this turn (for follow-ups)."""
        return self.plan.selection.slots if self.plan.selection else Slots()

    @property
    def fact_ids(self) -> list[str]:
        """Ids of the facts the answer rests on."""
        return [f.id for f in self.plan.selection.facts] if self.plan.selection else []


def done_data(turn: Turn, outcome: Outcome, turn_id: int | None = None) -> dict[str, object]:
    """The `done` event's data; `turn_id` is the stored turn's (POST /v1/feedback takes it)."""
    return {
        "turn_id": turn_id,
        "text": turn.vault.restore(outcome.text) if turn.vault else outcome.text,
        "citations": [h.chunk.citation for h in turn.plan.passages]
        + [a.citation for a in (turn.plan.servicing, turn.plan.alternative) if a is not None],
        "finish_reason": outcome.finish_reason,
        "grounding": outcome.grounding,
        "shed": outcome.shed,
        "session_id": turn.session_id,
        "trace_id": turn.trace_id,
        "decision_trace_ids": list(turn.decision_trace_ids),
        "facts": turn.fact_ids,
        "topic": turn.plan.topic,
        "plan": turn.plan.kind,
        **route_data(turn.plan.routed),
        "usage": {"completion_tokens": outcome.completion_tokens},
        "timings": {
            "first_model_token_ms": _ms(outcome.first_model_token_s),
            "first_visible_token_ms": _ms(outcome.first_visible_token_s),
        },
    }


def route_data(routed: Routed | None) -> dict[str, object]:
    """Where the router sent the message: intent, family and confidence (None when off), and
    the runner-up servicing intent when the router was split (`alternatives`, else empty)."""
    if routed is None:
        return {"intent": None, "family": None, "confidence": None, "alternatives": []}
    return {
        "intent": routed.intent,
        "family": routed.family,
        "confidence": round(routed.confidence, 4),
        "alternatives": [a.to_json() for a in routed.alternatives],
    }


def _ms(seconds: float | None) -> float | None:
    """Seconds as rounded milliseconds."""
    return None if seconds is None else round(seconds * 1000, 1)

"""The one hook at the end of a chat turn: its metrics and the end of its trace."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol, TypeVar

from opentelemetry.trace import Span

from advisor.ops.metrics import TurnSeen, current
from advisor.ops.tracing import take_turn_span, within

S = TypeVar("S")
SPAN_FIELDS = ("plan", "intent", "finish_reason", "grounding", "topic")


class Event(Protocol):
    """A streamed chat event (advisor.chat.events.ChatEvent)."""

    @property
    def event(self) -> str:
        """The event's name."""

    @property
    def data(self) -> dict[str, Any]:
        """The event's data."""


class Traced(Protocol):
    """A prepared turn (advisor.chat.turn.Turn)."""

    @property
    def trace_id(self) -> str:
        """The turn's id in its events."""


E = TypeVar("E", bound=Event)
T = TypeVar("T", bound=Traced)


def observed_turn(fn: Callable[[S, T], AsyncIterator[E]]) -> Callable[[S, T], AsyncIterator[E]]:
    """Decorator of a turn's event stream: counts it in the app's metrics when it ends, and
    runs it inside the turn's root span (opened when the turn was prepared), then ends it."""

    @functools.wraps(fn)
    async def inner(self: S, turn: T) -> AsyncIterator[E]:
        metrics, root, seen = current(), take_turn_span(turn.trace_id), TurnSeen()
        events = fn(self, turn)
        try:
            async for event in within(root, events) if root is not None else events:
                seen.see(event.event, event.data)
                yield event
        finally:
            if metrics is not None:
                metrics.turn(seen)
            if root is not None:
                _end(root, seen)

    return inner


def _end(root: Span, seen: TurnSeen) -> None:
    """Describe how the turn ended on its root span (outcomes and counts, never text)."""
    done = seen.done or {}
    for name in SPAN_FIELDS:
        if done.get(name) is not None:
            root.set_attribute(f"advisor.{name}", str(done[name]))
    root.set_attribute("advisor.rail_interventions", len(seen.guards))
    root.set_attribute("advisor.outcome", "done" if seen.done else "error_or_cancelled")
    root.end()

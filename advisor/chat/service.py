"""The chat service: one grounded, verified, streamed answer per turn."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from advisor.chat import events
from advisor.chat.bridge import iterate_in_thread
from advisor.chat.citations import citation_events, find_passages, quoted_answer
from advisor.chat.events import ChatEvent
from advisor.chat.validation import clean_message
from advisor.context_service import ContextService
from advisor.errors import AdvisorError
from advisor.grounding.gate import Hold, StreamGate, Ungrounded
from advisor.grounding.selection import Selection, Slots, select_facts
from advisor.grounding.verify import Verifier
from advisor.llm.base import ChatMessage, GenerationRequest, LLMBackend
from advisor.settings import Settings
from advisor.store import TurnRecord, load_session, new_session_id, recent_turns, save_turn
from portfolio_context.db import session_scope
from portfolio_context.view import Customer360
from prompts import load_prompt
from retrieval.search import Hit

if TYPE_CHECKING:
    from retrieval.service import RetrievalService

log = logging.getLogger("advisor.chat")
STOP = ["\n\n", "\nDraft:", "\nQuestion:", "<|im_end|>"]
SENTENCE_END = re.compile(r"[.!?)\"']")
HELP_TEXT = (
    "I can answer questions about your own accounts: balances, spending by category, bills "
    "coming up, income, debt-to-income, credit utilisation and score, your emergency fund and "
    "your investments. For anything else, I can connect you with one of our bankers."
)


class Incomplete(Exception):
    """The model's text left out the fact the question asked for."""


@dataclass
class Turn:
    """A validated turn, ready to stream."""

    customer_id: str
    session_id: str
    message: str
    view: Customer360
    selection: Selection | None
    history: list[ChatMessage]
    passages: list[Hit] = field(default_factory=list)
    trace_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: float = field(default_factory=time.perf_counter)


@dataclass
class Outcome:
    """How the streamed answer ended."""

    text: str = ""
    grounding: str = "model"
    finish_reason: str = "stop"
    completion_tokens: int = 0
    first_model_token_s: float | None = None
    first_visible_token_s: float | None = None


class ChatService:
    """Orchestrates context, fact selection, the model, the grounding gate and the store."""

    def __init__(
        self,
        settings: Settings,
        context: ContextService,
        backend: LLMBackend,
        retrieval: RetrievalService | None = None,
    ) -> None:
        self.settings, self.context, self.backend = settings, context, backend
        self.retrieval = retrieval
        self.prompt = load_prompt("answer", settings.llm.prompt_version)

    def prepare(self, customer_id: str, message: object, session_id: str | None) -> Turn:
        """Validate and load everything the turn needs; raises before anything is written."""
        text = clean_message(message, self.settings.max_message_chars)
        slots, history = Slots(), []
        if session_id is not None:
            with session_scope(self.context.url) as db:
                chat = load_session(db, session_id, customer_id)
                slots = Slots.from_json(json.loads(chat.slots))
                turns = recent_turns(db, session_id, self.settings.history_turns)
            for past in turns:
                history += [
                    ChatMessage("user", past.user_text),
                    ChatMessage("assistant", past.answer_text),
                ]
        view = self.context.view(customer_id)
        selection = select_facts(text, view, slots)
        passages = [] if selection else find_passages(self.retrieval, text)
        return Turn(
            customer_id, session_id or new_session_id(), text, view, selection, history, passages
        )

    def prepare_stateless(self, customer_id: str, asked: list[str]) -> Turn:
        """A turn from a message list (OpenAI style): earlier questions set the follow-up slots."""
        texts = [clean_message(m, self.settings.max_message_chars) for m in asked]
        view, slots = self.context.view(customer_id), Slots()
        for earlier in texts[:-1]:
            if previous := select_facts(earlier, view, slots):
                slots = previous.slots
        selection = select_facts(texts[-1], view, slots)
        passages = [] if selection else find_passages(self.retrieval, texts[-1])
        return Turn(customer_id, new_session_id(), texts[-1], view, selection, [], passages)

    def messages_for_warmup(self) -> list[ChatMessage]:
        """The static system message every prompt starts with (its KV cache is reused)."""
        return [ChatMessage("system", self.prompt.system)]

    def messages_for(self, turn: Turn) -> list[ChatMessage]:
        """The prompt: static system part first, then history, then facts, question and draft."""
        assert turn.selection is not None
        facts = "\n".join(f"- {f.label}: {f.display}" for f in turn.selection.facts)
        rendered = self.prompt.render(
            facts=facts or "- (none)", question=turn.message, draft=turn.selection.draft
        )
        system, user = (ChatMessage(role, content) for role, content in rendered)
        return [system, *turn.history, user]

    async def stream(self, turn: Turn, hold: Hold = "number") -> AsyncIterator[ChatEvent]:
        """Events of one turn: meta, facts, tokens, grounding, done."""
        started, outcome = time.perf_counter(), Outcome(finish_reason="cancelled")
        yield events.meta(turn.session_id, turn.trace_id)
        try:
            if turn.passages:
                outcome = Outcome(quoted_answer(turn.passages), "quoted", "stop")
                for event in [*citation_events(turn.passages), *tokens(outcome.text)]:
                    yield event
            elif turn.selection is None or not turn.selection.facts:
                text = turn.selection.draft if turn.selection else HELP_TEXT
                outcome = Outcome(text, "deterministic", "no_facts")
                for event in tokens(text):
                    yield event
            else:
                for item in turn.selection.facts:
                    yield events.fact(item)
                async for event in self._answer(turn, hold, outcome):
                    yield event
            yield ChatEvent("done", self._done(turn, outcome))
        finally:
            self._store(turn, outcome, time.perf_counter() - started)

    async def _answer(self, turn: Turn, hold: Hold, outcome: Outcome) -> AsyncIterator[ChatEvent]:
        """Stream the model's verified text, or fall back to the grounded draft."""
        assert turn.selection is not None
        selection = turn.selection
        verifier = Verifier(
            selection.facts, [turn.message], turn.view.ledger.as_of, draft=selection.draft
        )
        gate, cancel = StreamGate(verifier, hold), threading.Event()
        request = GenerationRequest(
            self.messages_for(turn),
            self.token_budget(selection.draft),
            self.settings.llm.temperature,
            STOP,
        )
        try:
            async for delta in iterate_in_thread(self.backend.execute(request, cancel), cancel):
                outcome.completion_tokens += 1
                if outcome.first_model_token_s is None:
                    outcome.first_model_token_s = time.perf_counter() - turn.created
                if piece := gate.feed(delta):
                    yield self._visible(turn, outcome, piece)
            if piece := gate.finish():
                yield self._visible(turn, outcome, piece)
            hit_budget = outcome.completion_tokens >= request.max_tokens
            check_complete(gate.text, selection, verifier, hit_budget)
            outcome.text, outcome.grounding, outcome.finish_reason = (
                gate.text.strip(),
                "model",
                "stop",
            )
            yield events.grounding("model")
        except (Ungrounded, Incomplete, AdvisorError) as exc:
            cancel.set()
            async for event in self._fall_back(str(exc), gate, verifier, selection, outcome):
                yield event

    async def _fall_back(
        self,
        reason: str,
        gate: StreamGate,
        verifier: Verifier,
        selection: Selection,
        outcome: Outcome,
    ) -> AsyncIterator[ChatEvent]:
        """Replace the model's text with the draft (or keep verified sentences that suffice)."""
        shown = gate.text.strip()
        if gate.hold == "sentence" and shown and verifier.states(shown, selection.facts[0]):
            outcome.text, outcome.grounding, outcome.finish_reason = shown, "truncated", "stop"
            yield events.grounding("truncated", reason)
            return
        retract = gate.hold == "number" and bool(shown)
        yield events.grounding("fallback", reason, retract=retract)
        text = selection.draft if retract or not shown else f" {selection.draft}"
        for event in tokens(text):
            yield event
        final = selection.draft if retract or not shown else f"{shown} {selection.draft}"
        outcome.text, outcome.grounding, outcome.finish_reason = final, "fallback", "fallback"

    @staticmethod
    def _visible(turn: Turn, outcome: Outcome, piece: str) -> ChatEvent:
        """A token event, noting when the customer first saw text."""
        if outcome.first_visible_token_s is None:
            outcome.first_visible_token_s = time.perf_counter() - turn.created
        return events.token(piece)

    def token_budget(self, draft: str) -> int:
        """Room for a faithful rewrite of the draft, capped by the settings (bounds rambling)."""
        return min(self.settings.llm.max_tokens, len(draft) // 3 + 24)

    def _done(self, turn: Turn, outcome: Outcome) -> dict[str, object]:
        """The `done` event's data."""
        fact_ids = [f.id for f in turn.selection.facts] if turn.selection else []
        return {
            "text": outcome.text,
            "citations": [h.chunk.citation for h in turn.passages],
            "finish_reason": outcome.finish_reason,
            "grounding": outcome.grounding,
            "session_id": turn.session_id,
            "trace_id": turn.trace_id,
            "facts": fact_ids,
            "topic": turn.selection.topic if turn.selection else None,
            "usage": {"completion_tokens": outcome.completion_tokens},
            "timings": {
                "first_model_token_ms": _ms(outcome.first_model_token_s),
                "first_visible_token_ms": _ms(outcome.first_visible_token_s),
            },
        }

    def _store(self, turn: Turn, outcome: Outcome, elapsed: float) -> None:
        """Persist the turn (also a cancelled one) and log its outcome without its text."""
        fact_ids = [f.id for f in turn.selection.facts] if turn.selection else []
        slots = turn.selection.slots.to_json() if turn.selection else Slots().to_json()
        record = TurnRecord(
            turn.trace_id,
            turn.message,
            outcome.text,
            outcome.grounding,
            outcome.finish_reason,
            fact_ids,
        )
        with session_scope(self.context.url) as db:
            save_turn(db, turn.session_id, turn.customer_id, slots, record)
        log.info(
            "turn trace=%s session=%s grounding=%s finish=%s facts=%d seconds=%.3f",
            turn.trace_id,
            turn.session_id,
            outcome.grounding,
            outcome.finish_reason,
            len(fact_ids),
            elapsed,
        )


def check_complete(text: str, selection: Selection, verifier: Verifier, hit_budget: bool) -> None:
    """Raise Incomplete unless the text states every fact of the draft and was not cut off."""
    if not text.strip():
        raise Incomplete("the model returned no text")
    left_out = [f.id for f in selection.facts if not verifier.states(text, f)]
    if left_out:
        raise Incomplete(f"the answer left out {', '.join(left_out)}")
    if hit_budget and not SENTENCE_END.search(text.rstrip()[-1:]):
        raise Incomplete("the answer was cut off mid-sentence")


def tokens(text: str) -> list[ChatEvent]:
    """Deterministic text as word-sized token events, spaces kept."""
    words = text.split(" ")
    return [events.token(w if i == 0 else f" {w}") for i, w in enumerate(words)]


def _ms(seconds: float | None) -> float | None:
    """Seconds as rounded milliseconds."""
    return None if seconds is None else round(seconds * 1000, 1)

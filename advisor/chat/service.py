"""The chat service: one grounded, verified, streamed answer per turn."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from advisor.chat import events
from advisor.chat.bridge import iterate_in_thread
from advisor.chat.citations import citation_events, find_passages, quoted_answer
from advisor.chat.events import ChatEvent
from advisor.chat.guarded import (
    GuardedStream,
    RailViolation,
    guard_events,
    word_tokens,
)
from advisor.chat.turn import (
    Incomplete,
    Outcome,
    Turn,
    check_complete,
    done_data,
    draft_for,
    handoff_outranks,
)
from advisor.chat.validation import clean_message
from advisor.context_service import ContextService
from advisor.errors import AdvisorError
from advisor.grounding.gate import Hold, StreamGate, Ungrounded
from advisor.grounding.selection import Selection, Slots, select_facts
from advisor.grounding.verify import Verifier
from advisor.llm.base import ChatMessage, GenerationRequest, LLMBackend
from advisor.rails.output import RailContext
from advisor.rails.service import Rails, spotlight
from advisor.settings import Settings
from advisor.store import TurnRecord, load_session, new_session_id, recent_turns, save_turn
from portfolio_context.db import session_scope
from prompts import load_prompt

if TYPE_CHECKING:
    from retrieval.service import RetrievalService

log = logging.getLogger("advisor.chat")
STOP = ["\n\n", "\nDraft:", "\nQuestion:", "<|im_end|>"]
HELP_TEXT = (
    "I can answer questions about your own accounts: balances, spending by category, bills "
    "coming up, income, debt-to-income, credit utilisation and score, your emergency fund and "
    "your investments. For anything else, I can connect you with one of our bankers."
)


class ChatService:
    """Orchestrates context, fact selection, the model, the grounding gate and the store."""

    def __init__(
        self,
        settings: Settings,
        context: ContextService,
        backend: LLMBackend,
        retrieval: RetrievalService | None = None,
        rails: Rails | None = None,
    ) -> None:
        self.settings, self.context, self.backend = settings, context, backend
        self.retrieval, self.rails = retrieval, rails
        self.prompt = load_prompt("answer", settings.llm.prompt_version)
        self.system = rails.system_prompt(self.prompt.system) if rails else self.prompt.system

    def prepare(self, customer_id: str, message: object, session_id: str | None) -> Turn:
        """Validate and load everything the turn needs; raises before anything is written."""
        text = clean_message(message, self.settings.max_message_chars)
        slots, history = Slots(), []
        sid = session_id or new_session_id()
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
        return self._screened_turn(customer_id, sid, text, slots, history)

    def _screened_turn(
        self, customer_id: str, sid: str, text: str, slots: Slots, history: list[ChatMessage]
    ) -> Turn:
        """Redact and screen the message, then select facts or passages for what is left."""
        view = self.context.view(customer_id)
        screened = self.rails.screen(text, sid, view.merchants) if self.rails else None
        if screened is not None:
            text = screened.text
        turn = Turn(customer_id, sid, text, view, None, history)
        if screened is not None:
            turn.vault, turn.refusal = screened.vault, screened.refusal
            turn.interventions = screened.interventions
        selection = select_facts(text, view, slots)
        if handoff_outranks(turn.refusal, selection):
            turn.interventions = [i for i in turn.interventions if i is not turn.refusal]
            turn.refusal = None
        if turn.refusal is None:
            turn.selection = selection
            turn.passages = [] if selection else find_passages(self.retrieval, text)
        if self.rails is not None and turn.passages:
            turn.passages, dropped = self.rails.screen_passages(turn.passages)
            turn.interventions += dropped
        return turn

    def prepare_stateless(self, customer_id: str, asked: list[str]) -> Turn:
        """A turn from a message list (OpenAI style): earlier questions set the follow-up slots."""
        texts = [clean_message(m, self.settings.max_message_chars) for m in asked]
        view, slots, sid = self.context.view(customer_id), Slots(), new_session_id()
        for earlier in texts[:-1]:
            redacted = (
                self.rails.screen(earlier, sid, view.merchants).text if self.rails else earlier
            )
            if previous := select_facts(redacted, view, slots):
                slots = previous.slots
        return self._screened_turn(customer_id, sid, texts[-1], slots, [])

    def messages_for_warmup(self) -> list[ChatMessage]:
        """The static system message every prompt starts with (its KV cache is reused)."""
        return [ChatMessage("system", self.system)]

    def messages_for(self, turn: Turn) -> list[ChatMessage]:
        """The prompt: static system part first, then history, then facts, question and draft."""
        assert turn.selection is not None
        facts = "\n".join(f"- {f.label}: {f.display}" for f in turn.selection.facts)
        question = spotlight(turn.message) if self.rails else turn.message
        rendered = self.prompt.render(
            facts=facts or "- (none)", question=question, draft=turn.selection.draft
        )
        user = ChatMessage("user", rendered[-1][1])
        return [ChatMessage("system", self.system), *turn.history, user]

    async def stream(self, turn: Turn, hold: Hold | None = None) -> AsyncIterator[ChatEvent]:
        """Events of one turn: meta, guard, citation, fact, token, grounding, done (or error)."""
        started, outcome = time.perf_counter(), Outcome(finish_reason="cancelled")
        yield events.meta(turn.session_id, turn.trace_id)
        try:
            for event in guard_events(turn.interventions):
                yield event
            if turn.selection is not None and turn.selection.facts and turn.refusal is None:
                for item in turn.selection.facts:
                    yield events.fact(item)
                hold = hold or ("sentence" if self.rails else "number")
                async for event in self._answer(turn, hold, outcome):
                    yield event
            else:
                for event in self._deterministic(turn, outcome):
                    yield event
            yield ChatEvent("done", done_data(turn, outcome))
        except Exception as exc:  # the stream has started: say so in-band, never just stop
            log.exception("turn %s failed", turn.trace_id)
            outcome.finish_reason = "error"
            yield events.error(type(exc).__name__, "the answer could not be completed")
        finally:
            self._store(turn, outcome, time.perf_counter() - started)

    def _deterministic(self, turn: Turn, outcome: Outcome) -> list[ChatEvent]:
        """A refusal, a quoted corpus answer or the draft/help text, through the rails."""
        if turn.refusal is not None and self.rails is not None:
            outcome.text, outcome.grounding = self.rails.inputs.refusal_text, "deterministic"
            outcome.finish_reason = "refused"
            return word_tokens(outcome.text)
        quoted = bool(turn.passages)
        text = quoted_answer(turn.passages) if quoted else None
        if text is None:
            text = turn.selection.draft if turn.selection else HELP_TEXT
        guarded = self._guarded(turn, None, text, quoted)
        try:
            shown = guarded.whole(text)
        except RailViolation as exc:
            guarded.shown, shown = (
                HELP_TEXT,
                [*guard_events([exc.intervention]), *word_tokens(HELP_TEXT)],
            )
        outcome.text, outcome.grounding = (
            guarded.shown.strip(),
            "quoted" if quoted else "deterministic",
        )
        outcome.finish_reason = "stop" if quoted else "no_facts"
        return [*(citation_events(turn.passages) if quoted else []), *shown]

    def _guarded(
        self, turn: Turn, verifier: Verifier | None, trusted: str, quoted: bool = False
    ) -> GuardedStream:
        """The output rails of one answer."""
        if self.rails is None:
            return GuardedStream(None, RailContext(), turn.vault)
        topic = turn.selection.topic if turn.selection else None
        context = self.rails.context(topic, verifier, trusted, self.system, turn.message, quoted)
        return GuardedStream(self.rails.outputs, context, turn.vault)

    async def _answer(self, turn: Turn, hold: Hold, outcome: Outcome) -> AsyncIterator[ChatEvent]:
        """Stream the model's verified, guarded text, or fall back to the grounded draft."""
        assert turn.selection is not None
        selection = turn.selection
        verifier = Verifier(
            selection.facts, [turn.message], turn.view.ledger.as_of, draft=selection.draft
        )
        trusted = " ".join([selection.draft, *(f"{f.label} {f.display}" for f in selection.facts)])
        guarded = self._guarded(turn, verifier, trusted)
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
                for event in self._shown(turn, outcome, guarded, gate.feed(delta)):
                    yield event
            for event in self._shown(turn, outcome, guarded, gate.finish()):
                yield event
            hit_budget = outcome.completion_tokens >= request.max_tokens
            check_complete(gate.text, selection, verifier, hit_budget)
            for event in guarded.closing():
                yield event
            outcome.text, outcome.grounding = guarded.shown.strip(), "model"
            outcome.finish_reason = "stop"
            yield events.grounding("model")
        except (Ungrounded, Incomplete, AdvisorError, RailViolation) as exc:
            cancel.set()
            if isinstance(exc, RailViolation):
                yield ChatEvent("guard", exc.intervention.to_json())
            fallback = self._fall_back(
                str(exc), guarded.shown, gate.hold, verifier, selection, outcome
            )
            async for event in fallback:
                yield event
            guarded.shown = outcome.text
            for event in guarded.closing():
                yield event
            outcome.text = guarded.shown.strip()

    def _shown(
        self, turn: Turn, outcome: Outcome, guarded: GuardedStream, piece: str
    ) -> list[ChatEvent]:
        """A released piece through the rails, noting when the customer first saw text."""
        if not piece:
            return []
        shown = guarded.piece(piece)
        if outcome.first_visible_token_s is None:
            outcome.first_visible_token_s = time.perf_counter() - turn.created
        return shown

    async def _fall_back(
        self,
        reason: str,
        shown: str,
        hold: Hold,
        verifier: Verifier,
        selection: Selection,
        outcome: Outcome,
    ) -> AsyncIterator[ChatEvent]:
        """Replace what was shown with the draft, or complete verified sentences with it."""
        shown = shown.strip()
        missing = [f for f in selection.facts if not (shown and verifier.states(shown, f))]
        if hold == "sentence" and shown and not missing:
            outcome.text, outcome.grounding, outcome.finish_reason = shown, "truncated", "stop"
            yield events.grounding("truncated", reason)
            return
        retract = hold == "number" and bool(shown)
        yield events.grounding("fallback", reason, retract=retract)
        if retract or not shown:
            addition, final = selection.draft, selection.draft
        else:  # sentences already shown stay: add the draft's sentences for what they missed
            addition = " " + draft_for(selection.draft, missing, verifier)
            final = shown + addition
        for event in word_tokens(addition):
            yield event
        outcome.text, outcome.grounding, outcome.finish_reason = final, "fallback", "fallback"

    def token_budget(self, draft: str) -> int:
        """Room for a faithful rewrite of the draft, capped by the settings (bounds rambling)."""
        return min(self.settings.llm.max_tokens, len(draft) // 3 + 24)

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

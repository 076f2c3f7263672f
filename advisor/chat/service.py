"""The chat service: decide a plan for the turn, then stream it through the answer pipeline."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from advisor.chat import events
from advisor.chat.actions import ChatActions
from advisor.chat.answer import Deadlines, ModelAnswer, Outcome, deterministic
from advisor.chat.bridge import iterate_in_thread
from advisor.chat.citations import citation_events, servicing_events
from advisor.chat.decision_facts import DecisionFacts, facts_selector
from advisor.chat.events import ChatEvent
from advisor.chat.filters import MendPlaceholders, Railed, SentenceFilter, Supported
from advisor.chat.guarded import guard_events
from advisor.chat.plan import (
    HELP_TEXT,
    Inputs,
    Screening,
    decide,
    routed_elsewhere,
    routed_topic,
    servicing_request,
    trusted_route,
)
from advisor.chat.precedence import followed_route, topics_yield
from advisor.chat.sources import AnswerSources, Found, shared_embedding
from advisor.chat.turn import Turn, done_data, route_data
from advisor.chat.validation import clean_message
from advisor.chat.vaults import SessionVaults
from advisor.context_service import ContextService
from advisor.grounding.rules import load_rulebook
from advisor.grounding.selection import Slots, select_facts
from advisor.grounding.support import SupportChecker
from advisor.llm.base import ChatMessage, GenerationRequest, LLMBackend
from advisor.ops.tracing import traced_stream, turn_started
from advisor.ops.turns import observed_turn
from advisor.rails.output.guard import RailContext
from advisor.rails.pii.vault import Vault
from advisor.rails.service import Rails, spotlight
from advisor.settings import Settings
from advisor.store import (
    TurnRecord,
    load_session,
    new_session_id,
    recent_turns,
    save_turn,
    session_decision_traces,
    upgrade_turns,
)
from portfolio_context.db import session_scope
from prompts import load_prompt

if TYPE_CHECKING:
    from advisor.grounding.similarity import SentenceSimilarity
    from advisor.routing.router import Router
    from retrieval.service import RetrievalService

log = logging.getLogger("advisor.chat")
STOP = ["\n\n", "\nDraft:", "\nQuestion:", "<|im_end|>"]
__all__ = ["HELP_TEXT", "ChatService"]


class ChatService:
    """Orchestrates context, the plan, the model, the answer pipeline and the store."""

    def __init__(
        self,
        settings: Settings,
        context: ContextService,
        backend: LLMBackend,
        retrieval: RetrievalService | None = None,
        rails: Rails | None = None,
        similarity: SentenceSimilarity | None = None,
        router: Router | None = None,
    ) -> None:
        self.settings, self.context, self.backend = settings, context, backend
        self.retrieval, self.rails, self.similarity = retrieval, rails, similarity
        self.router = router
        self.decisions = DecisionFacts(settings, context)  # recommendations, credit decisions
        self.actions = ChatActions(settings)  # "move $500 to savings": a pending action
        self.vaults = SessionVaults.from_settings(settings)  # PII vaults, sealed, in the database
        upgrade_turns(context.url)  # a bank made before turns kept their decision traces
        self.prompt = load_prompt("answer", settings.llm.prompt_version)
        self.system = rails.system_prompt(self.prompt.system) if rails else self.prompt.system

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        context: ContextService,
        backend: LLMBackend,
        retrieval: RetrievalService | None = None,
        rails: Rails | None = None,
        router: Router | None = None,
    ) -> ChatService:
        """The service with the shipped sentence similarity (MiniLM) for the support check."""
        from advisor.grounding.similarity import SentenceSimilarity

        similarity = SentenceSimilarity.shipped()
        return cls(settings, context, backend, retrieval, rails, similarity, router)

    @turn_started
    def prepare(self, customer_id: str, message: object, session_id: str | None) -> Turn:
        """Validate, load and plan everything the turn needs; raises before anything is written."""
        text = clean_message(message, self.settings.max_message_chars)
        slots, history, vault = Slots(), [], Vault()
        earlier: tuple[str, ...] = ()  # the session's decision traces: a repeat reuses its offer
        sid = session_id or new_session_id()
        if session_id is not None:  # everything a follow-up needs is in the database
            with session_scope(self.context.url) as db:
                chat = load_session(db, session_id, customer_id)
                slots = Slots.from_json(json.loads(chat.slots))
                turns = recent_turns(db, session_id, self.settings.history_turns)
                vault = self.vaults.load(db, session_id)
                earlier = session_decision_traces(db, session_id)
            for past in turns:
                if vault.names_all(past.user_text + past.answer_text):
                    history += [
                        ChatMessage("user", past.user_text),
                        ChatMessage("assistant", past.answer_text),
                    ]
        return self._planned(customer_id, sid, text, slots, tuple(history), vault, earlier)

    @turn_started
    def prepare_stateless(self, customer_id: str, asked: list[str]) -> Turn:
        """A turn from a message list (OpenAI style): earlier questions set the follow-up slots."""
        texts = [clean_message(m, self.settings.max_message_chars) for m in asked]
        view, slots, sid, vault = self.context.view(customer_id), Slots(), new_session_id(), Vault()
        rails = self.rails
        for earlier in texts[:-1]:
            redacted = rails.screen(earlier, sid, view.merchants, vault).text if rails else earlier
            if previous := select_facts(redacted, view, slots):
                slots = previous.slots
        return self._planned(customer_id, sid, texts[-1], slots, (), vault)

    def _planned(
        self,
        customer_id: str,
        sid: str,
        text: str,
        slots: Slots,
        history: tuple[ChatMessage, ...],
        vault: Vault,
        earlier: tuple[str, ...] = (),
    ) -> Turn:
        """Screen the message (redacted from here on), route it, select facts or passages."""
        view = self.context.view(customer_id)
        screened = self.rails.screen(text, sid, view.merchants, vault) if self.rails else None
        routed = self.router.route(text, shared_embedding(text)) if self.router else None
        route = trusted_route(followed_route(routed, text), text)
        text = screened.text if screened else text
        refusal = screened.refusal if screened else None
        screening = Screening(
            refusal,
            self.rails.inputs.text_for(refusal) if self.rails and refusal else "",
            tuple(screened.interventions) if screened else (),
        )
        # The topic patterns give way to a sure out-of-scope call, and to a servicing or rule
        # request that asks for none of the customer's own figures (precedence.yaml).
        topic = routed_topic(route)
        rules = not (routed_elsewhere(route) or topics_yield(route, text))
        # A short servicing request ("my card still hasn't arrived") is no follow-up.
        previous = Slots() if servicing_request(route) else slots
        pick = facts_selector(text, view, previous, topic, rules)
        decision = self.decisions.decide(customer_id, view, text, route, pick, refusal, earlier)
        selection = decision.selection
        found = Found()
        if not (selection or refusal):
            found = AnswerSources(self.retrieval, self.similarity).for_message(text, route)
        passages = list(found.passages)
        if self.rails is not None and passages:
            passages, dropped = self.rails.screen_passages(passages)
            notes = screening.interventions + tuple(dropped)
            screening = dataclasses.replace(screening, interventions=notes)
        given = Inputs(
            screening, selection, tuple(passages), route, found.servicing, self.phrased, routed,
            found.alternative,
        )  # fmt: skip
        held = vault if screened else None  # without rails nothing is redacted or restored
        plan = self.actions.revise(customer_id, decide(given))
        if plan.kind == "facts" and decision.proposal is not None:  # a raise's offer, made
            plan = dataclasses.replace(plan, proposal=decision.proposal)
        decided = decision.trace_ids if plan.kind == "facts" else ()
        return Turn(customer_id, sid, text, view, plan, history, held, decision_trace_ids=decided)

    def phrased(self, topic: str) -> bool:
        """Whether the model rewords this topic's draft: the settings, else the topic rules."""
        chosen = self.settings.llm.phrase_topics
        if chosen is not None:
            return "*" in chosen or topic in chosen
        rule = load_rulebook().topic(topic)
        return rule is None or rule.phrase

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

    @observed_turn
    async def stream(self, turn: Turn) -> AsyncIterator[ChatEvent]:
        """Events of one turn: meta, guard, citation, fact, token, grounding, done (or error);
        every sentence is held until it is checked."""
        outcome, turn_id = Outcome("", "cancelled", "cancelled"), None
        yield events.meta(turn.session_id, turn.trace_id, route_data(turn.plan.routed))
        try:
            for event in guard_events(list(turn.plan.interventions)):
                yield event
            async for item in self._answer(turn):
                if isinstance(item, Outcome):
                    outcome = item
                else:
                    yield item
            turn_id = self._store(turn, outcome, time.perf_counter() - turn.created)
            yield ChatEvent("done", done_data(turn, outcome, turn_id))  # stored: feedback can come
        except Exception as exc:  # the stream has started: say so in-band, never just stop
            log.exception("turn %s failed", turn.trace_id)
            outcome = Outcome(outcome.text, outcome.grounding, "error")
            yield events.error(type(exc).__name__, "the answer could not be completed")
        finally:
            if turn_id is None:  # cancelled or failed: stored as it ended
                self._store(turn, outcome, time.perf_counter() - turn.created)

    async def _answer(self, turn: Turn) -> AsyncIterator[ChatEvent | Outcome]:
        """The plan's answer: the model phrasing a draft, or the deterministic text."""
        plan = turn.plan
        if plan.kind == "facts" and plan.selection is not None:
            for item in plan.selection.facts:
                yield events.fact(item)
            for offered in await self.actions.offered(plan):  # the decision's pending offer
                yield offered
        shed = plan.phrase and self.settings.llm.shed_when_busy and self.backend.busy()
        if plan.phrase and not shed:
            async for event in self._phrased(turn):
                yield event
            return
        cited = [
            *citation_events(list(plan.passages)), *servicing_events(plan.servicing),
            *servicing_events(plan.alternative, 2),
        ]  # fmt: skip
        for event in [*self.actions.events(plan, turn.session_id), *cited]:
            yield event
        railed = Railed(self.rails.outputs if self.rails else None, self._context(turn))
        shown, text = deterministic(plan.text, railed, HELP_TEXT, turn.vault, turn.created)
        for event in shown:
            yield event
        yield Outcome(text.strip(), plan.grounding, plan.finish_reason, shed=shed)

    @traced_stream("chat.model")
    async def _phrased(self, turn: Turn) -> AsyncIterator[ChatEvent | Outcome]:
        """The model rewrites the draft; every sentence is checked before it is shown."""
        assert turn.selection is not None
        draft = turn.selection.draft
        checker = self._checker(turn)
        railed = Railed(self.rails.outputs if self.rails else None, self._context(turn))
        # The rails first: a leak or an echo stops the answer with its own rule; what they fix
        # (a promised return) is then held to the draft like any other sentence.
        filters: list[SentenceFilter] = [MendPlaceholders(turn.vault), railed, Supported(checker)]
        answer = ModelAnswer(filters, [railed], railed, checker, turn.vault)
        budget = self.token_budget(draft)
        request = GenerationRequest(
            self.messages_for(turn), budget, self.settings.llm.temperature, STOP
        )
        llm, cancel = self.settings.llm, threading.Event()
        deadlines = Deadlines.after(turn.created, llm.first_text_deadline_s, llm.answer_deadline_s)
        deltas = iterate_in_thread(self.backend.execute(request, cancel), cancel)
        try:
            async for item in answer.stream(deltas, deadlines, turn.created, budget, cancel):
                yield item
        finally:
            cancel.set()

    def _checker(self, turn: Turn) -> SupportChecker:
        """The support checker of one phrased answer."""
        assert turn.selection is not None
        return SupportChecker(
            turn.selection.draft,
            turn.selection.facts,
            turn.message,
            turn.view.ledger.as_of,
            similarity=self.similarity,
            merchants=turn.view.merchants,
        )

    def _context(self, turn: Turn) -> RailContext:
        """The output rails' context of one answer.

        Numbers are the support filter's to check (stricter: the customer's own numbers are
        not the bank's), so the rails get no verifier.
        """
        plan, selection = turn.plan, turn.plan.selection
        if self.rails is None:
            return RailContext()
        trusted = plan.text
        if selection is not None:
            trusted = " ".join([plan.text, *(f"{f.label} {f.display}" for f in selection.facts)])
        return self.rails.context(
            plan.topic, None, trusted, self.system, turn.message, bool(plan.passages), plan.passages
        )

    def token_budget(self, draft: str) -> int:
        """Room for a faithful rewrite of the draft, capped by the settings (bounds rambling)."""
        return min(self.settings.llm.max_tokens, len(draft) // 3 + 24)

    def _store(self, turn: Turn, outcome: Outcome, elapsed: float) -> int:
        """Persist the turn (also a cancelled one), log its outcome without its text; its id."""
        record = TurnRecord(
            turn.trace_id,
            turn.message,
            outcome.text,
            outcome.grounding,
            outcome.finish_reason,
            turn.fact_ids,
            turn.decision_trace_ids,  # thumbs on the turn join its suggestion by these
        )
        with session_scope(self.context.url) as db:
            turn_id = save_turn(db, turn.session_id, turn.customer_id, turn.slots.to_json(), record)
            if turn.vault is not None:  # with the turn: the next one may run on any replica
                self.vaults.save(db, turn.session_id, turn.vault)
        log.info(
            "turn trace=%s session=%s plan=%s grounding=%s finish=%s facts=%d seconds=%.3f",
            *(turn.trace_id, turn.session_id, turn.plan.kind, outcome.grounding),
            *(outcome.finish_reason, len(turn.fact_ids), elapsed),
        )
        return turn_id

"""Decision facts for chat: a table routed intent -> provider of the facts and draft it answers.

A provider turns a decision (recommendations, a credit-limit decision) into what a "facts" plan
needs, so the usual grounding and support checks hold the model's phrasing to it.

Interface, one line per intent in PROVIDERS (register yours there):

    "intent": Entry("package.module:factory", before_topics=True|False)
    factory(settings: Settings, context: ContextService) -> Provider      # built once, lazily
    Provider = (customer_id: str, view: Customer360, message: str, earlier: tuple[str, ...] = ())
        -> DecisionDraft | None

`message` is the redacted customer text; `earlier` the decision trace ids of this chat
session's earlier turns (a repeated request can answer with the decision already made);
return None to let the turn go the usual way. A message that names the intent but asks for no
decision (request_cues.yaml: "don't raise my limit", "how do I raise my limit?") never reaches
the provider: it gets the cue's informational reply (replies.yaml).
`DecisionDraft(topic, facts, draft, trace_ids, proposal)`: every figure in `draft` must be one
of `facts` (portfolio_context.facts.Fact, ids such as reco.1.action); `trace_ids` are the
decision traces (advisor/decisions/traces.py) the answer rests on; the `done` event carries
them as `decision_trace_ids`; `proposal` names a pending action the decision already made (a
credit-limit raise's offer), which the stream announces as its `action` event. With
`before_topics` the provider answers before the topic patterns
of advisor/grounding/topics.yaml; without, only when no topic pattern matches. Messages
matching PATTERNS (decision_patterns.yaml) reach the provider even without a router.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Protocol

import yaml

from advisor.chat.plan import replies
from advisor.chat.request_cues import asks, not_a_request
from advisor.errors import AdvisorError
from advisor.grounding.selection import Selection, Slots
from portfolio_context.facts import Fact

if TYPE_CHECKING:
    from advisor.context_service import ContextService
    from advisor.orchestration.actions import Proposal
    from advisor.routing.router import Routed
    from advisor.settings import Settings
    from portfolio_context.view import Customer360

log = logging.getLogger("advisor.chat")
MIN_CONFIDENCE = 0.6  # as advisor/chat/plan.py: below this the router's intent does not decide


@dataclass(frozen=True)
class DecisionDraft:
    """What a decision provider answers: topic, facts, deterministic draft and trace ids."""

    topic: str
    facts: list[Fact]
    draft: str
    trace_ids: tuple[str, ...] = ()
    proposal: Proposal | None = None


@dataclass(frozen=True)
class Decided:
    """A turn's selection, the decision traces it rests on and the action a decision made."""

    selection: Selection | None
    trace_ids: tuple[str, ...] = ()
    proposal: Proposal | None = None


class Provider(Protocol):
    """Decides and answers one message of its intent (None: the turn goes the usual way)."""

    def __call__(
        self, customer_id: str, view: Customer360, message: str, earlier: tuple[str, ...] = ()
    ) -> DecisionDraft | None: ...


Factory = Callable[["Settings", "ContextService"], Provider]


@dataclass(frozen=True)
class Entry:
    """Where an intent's provider factory lives, and whether it outranks the topic patterns."""

    factory: str  # "package.module:function"
    before_topics: bool


PROVIDERS: dict[str, Entry] = {
    "savings_advice": Entry("advisor.decisions.chat_facts:advice", before_topics=False),
    "life_event_planning": Entry("advisor.decisions.chat_facts:advice", before_topics=False),
    "credit_limit_request": Entry("advisor.decisions.credit_chat:credit_limit", before_topics=True),
}
FactsFor = Callable[[bool], Selection | None]  # select_facts with (True) or without the router


@lru_cache(maxsize=1)
def patterns() -> dict[str, list[re.Pattern[str]]]:
    """Message patterns that name a decision intent outright, by intent (decision_patterns.yaml)."""
    text = resources.files("advisor.chat").joinpath("decision_patterns.yaml").read_text("utf-8")
    loaded: dict[str, list[str]] = yaml.safe_load(text)
    return {intent: [re.compile(p, re.I) for p in found] for intent, found in loaded.items()}


def matched_intent(text: str) -> str | None:
    """The decision intent whose patterns the message matches, if any."""
    named = (i for i, found in patterns().items() if any(p.search(text) for p in found))
    return next((i for i in named if i in PROVIDERS), None)


def routed_intent(route: Routed | None) -> str | None:
    """The decision intent a confident route names, if any."""
    if route is None or route.confidence < MIN_CONFIDENCE or route.intent not in PROVIDERS:
        return None
    return route.intent


class DecisionFacts:
    """Answers decision intents in chat through the providers of PROVIDERS."""

    def __init__(self, settings: Settings, context: ContextService) -> None:
        self.settings, self.context = settings, context
        self._providers: dict[str, Provider] = {}
        self._lock = threading.Lock()

    def provider(self, intent: str) -> Provider:
        """The intent's provider, built on first use (once per factory)."""
        where = PROVIDERS[intent].factory
        with self._lock:
            if where not in self._providers:
                module, name = where.split(":")
                factory: Factory = getattr(importlib.import_module(module), name)
                self._providers[where] = factory(self.settings, self.context)
            return self._providers[where]

    def answer(
        self, intent: str, customer_id: str, view: Customer360, text: str,
        earlier: tuple[str, ...] = (),
    ) -> Decided | None:  # fmt: skip
        """The selection, trace ids and action of the intent's decision, or None (also when the
        provider fails unexpectedly: the turn then goes the usual way, and the log says why)."""
        try:
            found = self.provider(intent)(customer_id, view, text, earlier)
        except AdvisorError:
            raise
        except Exception:
            log.exception("the %s decision failed for %s", intent, customer_id)
            return None
        if found is None:
            return None
        selection = Selection(found.topic, found.facts, found.draft, Slots())
        return Decided(selection, found.trace_ids, found.proposal)

    def select(
        self,
        customer_id: str,
        view: Customer360,
        text: str,
        route: Routed | None,
        facts: FactsFor,
        refusal: object | None = None,
    ) -> tuple[Selection | None, tuple[str, ...]]:
        """The turn's selection and decision trace ids (see `decide`)."""
        decided = self.decide(customer_id, view, text, route, facts, refusal)
        return decided.selection, decided.trace_ids

    def decide(
        self,
        customer_id: str,
        view: Customer360,
        text: str,
        route: Routed | None,
        facts: FactsFor,
        refusal: object | None = None,
        earlier: tuple[str, ...] = (),
    ) -> Decided:
        """The turn's selection, decision trace ids and any action a decision made: a decision
        where its patterns name one, or a confident route does (after the topic patterns unless
        `before_topics`), else the customer-facts selection as before; no decision is made for
        a refused message, nor for one that names the intent without asking for it (its cue's
        reply answers instead). `earlier`: the session's earlier decision trace ids."""
        if refusal is not None:
            return Decided(facts(True))
        named, intent = matched_intent(text), routed_intent(route)
        if named is None and intent is None:
            return Decided(facts(True))
        chosen = str(named or intent)
        if (cue := not_a_request(chosen, text)) is not None:
            return Decided(Selection(cue.topic, [], replies()[cue.answer], Slots()))
        if named is None and not asks(chosen, text):
            return Decided(facts(True))  # routed only, and no request phrase: no decision
        first = named is not None or PROVIDERS[chosen].before_topics
        if not first and (found := facts(False)) is not None:
            return Decided(found)
        return self.answer(chosen, customer_id, view, text, earlier) or Decided(facts(True))


def facts_selector(
    text: str, view: Customer360, previous: Slots, topic: str | None, rules: bool
) -> FactsFor:
    """select_facts for this message, with (True) or without (False) the router's topic."""
    from advisor.grounding.selection import select_facts

    return lambda routed: select_facts(text, view, previous, topic if routed else None, rules)

"""Decide what a turn will answer, once, before anything streams: an immutable plan."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Literal

import yaml

from advisor.chat.citations import quoted_answer
from advisor.grounding.selection import FOLLOW_UP, Selection
from advisor.rails.injection.detector import RULE_SIMILAR
from advisor.rails.output.guard import Intervention
from retrieval.search import Hit

if TYPE_CHECKING:
    from advisor.orchestration.actions import Proposal
    from advisor.routing.router import Routed
    from retrieval.servicing import ServicingAnswer

PlanKind = Literal[
    "refuse", "handoff", "facts", "quote", "servicing", "reply", "out_of_scope", "help", "action"
]
HELP_TEXT = (
    "I can answer questions about your own accounts: balances, spending by category, bills "
    "coming up, income, debt-to-income, credit utilisation and score, your emergency fund and "
    "your investments. For anything else, I can connect you with one of our bankers."
)
# What a plan's answer is called in the stored turn and the `done` event.
GROUNDING = {
    "refuse": "deterministic",
    "handoff": "deterministic",
    "facts": "deterministic",
    "quote": "quoted",
    "servicing": "quoted",
    "reply": "deterministic",
    "out_of_scope": "deterministic",
    "help": "deterministic",
    "action": "deterministic",  # a pending action the customer confirms (advisor/chat/actions.py)
}
FINISH = {
    "refuse": "refused", "quote": "stop", "servicing": "stop", "reply": "stop", "action": "stop",
}  # fmt: skip
# Router families and intents answered from the customer's facts, by the topic they ask for.
FACT_FAMILIES = {"own_money"}
TOPIC_OF_INTENT = {"move_money": "free_cash", "savings_advice": "free_cash"}
HANDOFF_INTENTS = {"handoff"}
SERVICES = {"card_and_account_services"}  # the product document servicing articles cite
MIN_CONFIDENCE = 0.6  # below this the router's intent does not overrule the topic rules
SERVICING_CONFIDENCE = 0.5  # a servicing article answers from here (it states only our terms)
ELSEWHERE = {"servicing", "out_of_scope", "conversation", "handoff"}
# Above this the router's out-of-scope call outranks the topic patterns ("balance this
# chemistry equation" is no balance question) and gets the out-of-scope reply; below it an
# out-of-scope call still lets a close passage be quoted. Measured on the golden suite: the
# router's out-of-scope calls from 0.6 to 0.91 included "Anything due in the next few
# weeks?" and "how do I opt out of you sharing my info".
OUT_OF_SCOPE_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Plan:
    """What the turn answers: its kind, the deterministic text, and what that text rests on."""

    kind: PlanKind
    text: str
    selection: Selection | None = None
    passages: tuple[Hit, ...] = ()
    interventions: tuple[Intervention, ...] = ()
    phrase: bool = False  # whether the model rephrases `text` (facts with a draft only)
    topic: str | None = None  # the customer-facts topic (None for every other plan)
    routed: Routed | None = None
    servicing: ServicingAnswer | None = None
    proposal: Proposal | None = None  # the pending action an "action" plan proposes
    alternative: ServicingAnswer | None = None  # the runner-up's article, when the router is split

    @property
    def finish_reason(self) -> str:
        """How a deterministic answer of this plan ends."""
        if self.kind == "facts" and self.selection is not None and self.selection.facts:
            return "stop"  # a draft the topic rules answer without the model
        return FINISH.get(self.kind, "no_facts")

    @property
    def grounding(self) -> str:
        """The grounding outcome of a deterministic answer of this plan."""
        return GROUNDING[self.kind]


@dataclass(frozen=True)
class Screening:
    """What the input rails said about the message."""

    refusal: Intervention | None = None
    refusal_text: str = ""
    interventions: tuple[Intervention, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Inputs:
    """Everything a plan is decided from."""

    screening: Screening
    selection: Selection | None
    passages: tuple[Hit, ...] = ()
    routed: Routed | None = None  # the route the plan follows (see trusted_route)
    servicing: ServicingAnswer | None = None
    phrased: Callable[[str], bool] = lambda topic: True
    reported: Routed | None = None  # what the router said, reported whether followed or not
    alternative: ServicingAnswer | None = None  # the article of the route's runner-up, if split


def trusted_route(routed: Routed | None, text: str) -> Routed | None:
    """The route the plan follows: none for a follow-up the router cannot place without the
    conversation ("and what's the penalty?"), nor for a named product's question that the
    router took for a servicing request (products are the quoted corpus's)."""
    if routed is None or routed.family not in ELSEWHERE:
        return routed
    if FOLLOW_UP.search(text):
        return None
    products = [e for e in routed.entities if e.type == "product" and e.value not in SERVICES]
    return None if routed.family == "servicing" and products else routed


def routed_topic(routed: Routed | None) -> str | None:
    """The facts topic a confident route asks for, if any."""
    if routed is None or routed.confidence < MIN_CONFIDENCE:
        return None
    if routed.family in FACT_FAMILIES or routed.intent in HANDOFF_INTENTS:
        return routed.intent
    return TOPIC_OF_INTENT.get(routed.intent)


def covered(routed: Routed, alternative: bool = True) -> float:
    """The probability that the answer covers the request: the route's confidence, plus its
    runner-up's when the router is split and that article is answered too."""
    if not alternative:
        return routed.confidence
    return routed.confidence + sum(a.confidence for a in routed.alternatives)


def _floor(routed: Routed) -> float:
    """How confident the router must be for its intent to decide the plan."""
    if routed.intent == "out_of_scope":
        return OUT_OF_SCOPE_CONFIDENCE
    return SERVICING_CONFIDENCE if routed.family == "servicing" else MIN_CONFIDENCE


def servicing_request(route: Routed | None) -> bool:
    """Whether the router is sure enough of a servicing intent to answer it with its article."""
    return (
        route is not None and route.family == "servicing" and covered(route) >= SERVICING_CONFIDENCE
    )


def routed_elsewhere(routed: Routed | None) -> bool:
    """Whether the router is sure enough that the message is out of scope to overrule the
    topic patterns (servicing and small talk do not: "my card was charged twice, what's my
    balance?" still gets the balance)."""
    return (
        routed is not None
        and routed.intent == "out_of_scope"
        and routed.confidence >= OUT_OF_SCOPE_CONFIDENCE
    )


def answers_without_passages(
    routed: Routed | None, servicing: ServicingAnswer | None, alternative: bool = False
) -> bool:
    """Whether the router settles the turn so that no corpus search is needed (`alternative`:
    the runner-up's article is answered too)."""
    if routed is None or covered(routed, alternative) < _floor(routed):
        return False
    return servicing is not None or routed.intent == "out_of_scope" or routed.intent in replies()


def decide(given: Inputs) -> Plan:
    """The plan, carrying what the router said (followed or not)."""
    return dataclasses.replace(_decide(given), routed=given.reported)


def _decide(given: Inputs) -> Plan:
    """The plan: refusal, then the customer's facts, then what the router says, then quotes."""
    screening, selection, routed = given.screening, given.selection, given.routed
    notes = screening.interventions
    if screening.refusal is not None and not _handoff_outranks(screening.refusal, selection):
        return Plan("refuse", screening.refusal_text, interventions=notes, routed=routed)
    if screening.refusal is not None:
        notes = tuple(i for i in notes if i is not screening.refusal)
    if selection is not None:
        return _facts(selection, notes, routed, given.phrased)
    return _routed(given, notes) or _fallthrough(given, notes)


def _facts(
    selection: Selection,
    notes: tuple[Intervention, ...],
    routed: Routed | None,
    phrased: Callable[[str], bool],
) -> Plan:
    """A handoff or an answer from the customer's facts (the model may reword its draft)."""
    if selection.topic == "handoff":
        draft = selection.draft
        return Plan("handoff", draft, selection, (), notes, topic="handoff", routed=routed)
    phrase = bool(selection.facts) and phrased(selection.topic)
    return Plan("facts", selection.draft, selection, (), notes, phrase, selection.topic, routed)


def _routed(given: Inputs, notes: tuple[Intervention, ...]) -> Plan | None:
    """What a confident router decides when no facts topic applies."""
    routed, alternative = given.routed, given.alternative
    if routed is None or covered(routed, alternative is not None) < _floor(routed):
        return None
    if given.servicing is not None:
        return Plan("servicing", _servicing_text(given.servicing, alternative),
                    interventions=notes, routed=routed, servicing=given.servicing,
                    alternative=alternative)  # fmt: skip
    if routed.intent == "out_of_scope":
        text = replies()["out_of_scope"]
        return Plan("out_of_scope", text, interventions=notes, routed=routed)
    if routed.intent in replies():
        text = replies()[routed.intent]
        return Plan("reply", text, interventions=notes, routed=routed)
    return None


def _servicing_text(article: ServicingAnswer, alternative: ServicingAnswer | None) -> str:
    """One article's answer; or, when the router is split, a lead-in and both articles, each
    under its title with its own citation mark."""
    if alternative is None:
        return _article_text(article, 1)
    parts = [f"{a.title}: {_article_text(a, i)}" for i, a in enumerate((article, alternative), 1)]
    return " ".join([replies()["servicing_either"], *parts])


def _article_text(article: ServicingAnswer, index: int) -> str:
    """The article, its citation mark and, where its intent is an action, the offer of it."""
    text = f"{article.text} [{index}]"
    if article.action is not None:
        text += " " + replies()["action_offer"].format(label=article.action.label)
    return text


def _fallthrough(given: Inputs, notes: tuple[Intervention, ...]) -> Plan:
    """A quoted passage when one is close enough, else what the advisor can do."""
    if given.passages:
        text = quoted_answer(list(given.passages))
        return Plan("quote", text, None, given.passages, notes, routed=given.reported)
    return Plan("help", HELP_TEXT, interventions=notes, routed=given.reported)


@lru_cache(maxsize=1)
def replies() -> dict[str, str]:
    """The fixed replies of `replies.yaml`, by router intent."""
    text = resources.files("advisor.chat").joinpath("replies.yaml").read_text("utf-8")
    loaded: dict[str, str] = yaml.safe_load(text)
    return loaded


def _handoff_outranks(refusal: Intervention, selection: Selection | None) -> bool:
    """A request for a banker gets the handoff even when only the classifier doubted it.

    The handoff answer is deterministic, runs no model and reveals nothing, so a classifier
    false alarm there ("connect me to an advisor") costs the customer the banker for nothing.
    Pattern and policy refusals stand.
    """
    return refusal.rule == RULE_SIMILAR and selection is not None and selection.topic == "handoff"

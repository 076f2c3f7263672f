"""Decide what a turn will answer, once, before anything streams: an immutable plan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from advisor.chat.citations import quoted_answer
from advisor.grounding.selection import Selection
from advisor.rails.injection import RULE_SIMILAR
from advisor.rails.output import Intervention
from retrieval.search import Hit

PlanKind = Literal["refuse", "handoff", "facts", "quote", "servicing", "out_of_scope", "help"]
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
    "out_of_scope": "deterministic",
    "help": "deterministic",
}
FINISH = {"refuse": "refused", "quote": "stop", "servicing": "stop"}


@dataclass(frozen=True)
class Plan:
    """What the turn answers: its kind, the deterministic text, and what that text rests on."""

    kind: PlanKind
    text: str
    selection: Selection | None = None
    passages: tuple[Hit, ...] = ()
    interventions: tuple[Intervention, ...] = ()
    phrase: bool = False  # whether the model rephrases `text` (facts with a draft only)
    topic: str | None = None

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


def decide(
    screening: Screening,
    selection: Selection | None,
    passages: list[Hit],
    phrased: Callable[[str], bool] = lambda topic: True,
) -> Plan:
    """The plan: a refusal stands, unless only the classifier doubted a request for a banker.

    `phrased(topic)` says whether the model rewords that topic's draft.
    """
    notes = screening.interventions
    if screening.refusal is not None and not _handoff_outranks(screening.refusal, selection):
        return Plan("refuse", screening.refusal_text, interventions=notes)
    if screening.refusal is not None:
        notes = tuple(i for i in notes if i is not screening.refusal)
    if selection is not None and selection.topic == "handoff":
        return Plan("handoff", selection.draft, selection, interventions=notes, topic="handoff")
    if selection is not None:
        phrase = bool(selection.facts) and phrased(selection.topic)
        return Plan("facts", selection.draft, selection, (), notes, phrase, selection.topic)
    if passages:
        return Plan("quote", quoted_answer(passages), None, tuple(passages), notes)
    return Plan("help", HELP_TEXT, interventions=notes)


def _handoff_outranks(refusal: Intervention, selection: Selection | None) -> bool:
    """A request for a banker gets the handoff even when only the classifier doubted it.

    The handoff answer is deterministic, runs no model and reveals nothing, so a classifier
    false alarm there ("connect me to an advisor") costs the customer the banker for nothing.
    Pattern and policy refusals stand.
    """
    return refusal.rule == RULE_SIMILAR and selection is not None and selection.topic == "handoff"

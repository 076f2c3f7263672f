"""A chat turn: what it needs (Turn), how it ended (Outcome), and the `done` event."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field

from advisor.chat.guarded import split_sentences
from advisor.grounding.selection import Selection
from advisor.grounding.verify import Verifier
from advisor.llm.base import ChatMessage
from advisor.rails.injection import RULE_SIMILAR
from advisor.rails.output import Intervention
from advisor.rails.vault import Vault
from portfolio_context.facts import Fact
from portfolio_context.view import Customer360
from retrieval.search import Hit

SENTENCE_END = re.compile(r"[.!?)\"']")


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
    vault: Vault | None = None
    refusal: Intervention | None = None
    interventions: list[Intervention] = field(default_factory=list)
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


def done_data(turn: Turn, outcome: Outcome) -> dict[str, object]:
    """The `done` event's data."""
    fact_ids = [f.id for f in turn.selection.facts] if turn.selection else []
    return {
        "text": turn.vault.restore(outcome.text) if turn.vault else outcome.text,
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


def check_complete(text: str, selection: Selection, verifier: Verifier, hit_budget: bool) -> None:
    """Raise Incomplete unless the text states every fact of the draft and was not cut off."""
    if not text.strip():
        raise Incomplete("the model returned no text")
    left_out = [f.id for f in selection.facts if not verifier.states(text, f)]
    if left_out:
        raise Incomplete(f"the answer left out {', '.join(left_out)}")
    if hit_budget and not SENTENCE_END.search(text.rstrip()[-1:]):
        raise Incomplete("the answer was cut off mid-sentence")


def _ms(seconds: float | None) -> float | None:
    """Seconds as rounded milliseconds."""
    return None if seconds is None else round(seconds * 1000, 1)


def handoff_outranks(refusal: Intervention | None, selection: Selection | None) -> bool:
    """A request for a banker gets the handoff even when only the classifier doubted it.

    The handoff answer is deterministic, runs no model and reveals nothing, so a classifier
    false alarm there ("connect me to an advisor") costs the customer the banker for nothing.
    Pattern and policy refusals stand.
    """
    return (
        refusal is not None
        and refusal.rule == RULE_SIMILAR
        and selection is not None
        and selection.topic == "handoff"
    )


def draft_for(draft: str, missing: list[Fact], verifier: Verifier) -> str:
    """The draft's sentences that state the missing facts (the whole draft if none do)."""
    sentences = [s.strip() for s in split_sentences(draft)]
    chosen = [s for s in sentences if any(verifier.states(s, f) for f in missing)]
    return " ".join(chosen) or draft

"""Answers from the product and regulatory corpus: quoted verbatim, marked and cited."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from advisor.chat.events import ChatEvent
from retrieval.search import Hit, SearchError

if TYPE_CHECKING:
    from retrieval.service import RetrievalService
    from retrieval.servicing import ServicingAnswer

log = logging.getLogger("advisor.citations")
MIN_SIMILARITY = 0.35  # below this the best passage is not about the question
MAX_CITED = 2
SNIPPET_CHARS = 320
SENTENCE = re.compile(r"(?<=[.;:])\s+")


def find_passages(retrieval: RetrievalService | None, message: str) -> list[Hit]:
    """Passages that answer the message, or none when nothing is close enough."""
    if retrieval is None:
        return []
    try:
        hits = retrieval.search(message[:1000], k=MAX_CITED + 1)
    except SearchError as exc:
        log.warning("retrieval unavailable: %s", exc)
        return []
    if not hits or hits[0].similarity < MIN_SIMILARITY:
        return []
    return [h for h in hits[:MAX_CITED] if h.similarity >= MIN_SIMILARITY]


def snippet(text: str) -> str:
    """The passage's opening sentences, verbatim, cut at a sentence end where possible."""
    flat = " ".join(text.split())
    if len(flat) <= SNIPPET_CHARS:
        return flat
    cut = flat[:SNIPPET_CHARS]
    ends = [m.start() for m in SENTENCE.finditer(cut)]
    return cut[: ends[-1]] if ends and ends[-1] > 80 else cut.rsplit(" ", 1)[0] + " \u2026"


def citation_events(hits: list[Hit]) -> list[ChatEvent]:
    """One `citation` event per passage, numbered as the text marks them."""
    return [
        ChatEvent(
            "citation",
            {
                "index": i,
                "citation": h.chunk.citation,
                "title": h.chunk.title,
                "source": h.chunk.source,
                "section": h.chunk.section,
                "snippet": snippet(h.chunk.text),
            },
        )
        for i, h in enumerate(hits, 1)
    ]


def servicing_events(answer: ServicingAnswer | None, index: int = 1) -> list[ChatEvent]:
    """The servicing article's citation (numbered `index`, as the text marks it) and, where the
    intent is an action, the offer of it."""
    if answer is None:
        return []
    cited = ChatEvent("citation", answer.citation_payload(index))
    if answer.action is None:
        return [cited]
    offer = {"id": answer.action.id, "label": answer.action.label, "intent": answer.intent}
    return [cited, ChatEvent("action", {**offer, "status": "offered", "confirm": True})]


def quoted_answer(hits: list[Hit]) -> str:
    """The first passage quoted (not paraphrased) with its marker; further ones referenced."""
    first = hits[0].chunk
    quote = snippet(first.text)
    text = f"Here is what {first.citation} ({first.title}) says [1]: \u201c{quote}\u201d"
    for i, hit in enumerate(hits[1:], 2):
        text += f" See also {hit.chunk.citation} ({hit.chunk.title}) [{i}]."
    return text + " Ask me if you want me to connect you with a banker about your situation."

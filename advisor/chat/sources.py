"""Where a plan's text can come from beside the customer's facts: a servicing article or
passages of the corpus, whichever answers the message better."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from advisor.chat.citations import find_passages
from advisor.chat.plan import answers_without_passages
from advisor.ops.tracing import traced
from retrieval.search import Hit
from retrieval.servicing import ServicingAnswer, servicing_answer

if TYPE_CHECKING:
    from advisor.grounding.similarity import SentenceSimilarity
    from advisor.routing.router import Routed
    from retrieval.service import RetrievalService


@dataclass(frozen=True)
class Found:
    """What a message can be answered from: the route's servicing article, its runner-up's
    when the router is split between two servicing intents, and corpus passages."""

    servicing: ServicingAnswer | None = None
    alternative: ServicingAnswer | None = None
    passages: tuple[Hit, ...] = ()


class AnswerSources:
    """The servicing knowledge base and the corpus, weighed against each other."""

    def __init__(
        self, retrieval: RetrievalService | None, similarity: SentenceSimilarity | None
    ) -> None:
        self.retrieval, self.similarity = retrieval, similarity

    @traced("chat.retrieval")
    def for_message(self, text: str, route: Routed | None) -> Found:
        """The servicing articles the route names and the passages worth quoting (any may be
        missing); called only when no customer-facts topic and no refusal applies."""
        servicing = servicing_for(route)
        alternative = alternative_for(route) if servicing else None
        if not answers_without_passages(route, servicing, alternative is not None):
            return Found(servicing, alternative, tuple(find_passages(self.retrieval, text)))
        return self._closer(text, Found(servicing, alternative)) if servicing else Found()

    def _closer(self, text: str, articles: Found) -> Found:
        """The servicing articles, or the corpus passages when they answer the message better
        (MiniLM cosine of each with the message): the router, even a sure one, can take a
        product or rule question ("a late payment reported to the credit bureau by mistake",
        0.92) for a servicing request."""
        passages = find_passages(self.retrieval, text)
        if not passages or self.similarity is None or articles.servicing is None:
            return articles
        shown = [a.text for a in (articles.servicing, articles.alternative) if a is not None]
        article = max(self.similarity(text, shown))
        closest = max(hit.similarity for hit in passages)
        return articles if article >= closest else Found(passages=tuple(passages))


def servicing_for(routed: Routed | None) -> ServicingAnswer | None:
    """The servicing article for a servicing intent, if the knowledge base has one."""
    if routed is None or routed.family != "servicing":
        return None
    return servicing_answer(routed.intent)


def alternative_for(routed: Routed | None) -> ServicingAnswer | None:
    """The article of the route's runner-up when the router is split between two servicing
    intents (the router names a runner-up only then)."""
    if routed is None or routed.family != "servicing" or not routed.alternatives:
        return None
    return servicing_answer(routed.alternatives[0].intent)


def shared_embedding(text: str) -> np.ndarray | None:
    """The message's MiniLM sentence vector, if the rails' pass already computed it."""
    from retrieval.embeddings import shared_embedder

    return shared_embedder().remembered([text])[0]

"""Where a plan's text can come from beside the customer's facts: a servicing article or
passages of the corpus, whichever answers the message better."""

from __future__ import annotations

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


class AnswerSources:
    """The servicing knowledge base and the corpus, weighed against each other."""

    def __init__(
        self, retrieval: RetrievalService | None, similarity: SentenceSimilarity | None
    ) -> None:
        self.retrieval, self.similarity = retrieval, similarity

    @traced("chat.retrieval")
    def for_message(
        self, text: str, route: Routed | None
    ) -> tuple[ServicingAnswer | None, list[Hit]]:
        """The servicing article the route names and the passages worth quoting (either may be
        missing); called only when no customer-facts topic and no refusal applies."""
        servicing = servicing_for(route)
        if not answers_without_passages(route, servicing):
            return servicing, find_passages(self.retrieval, text)
        return self._closer(text, servicing) if servicing else (None, [])

    def _closer(
        self, text: str, servicing: ServicingAnswer
    ) -> tuple[ServicingAnswer | None, list[Hit]]:
        """The servicing article, or the corpus passages when they answer the message better
        (MiniLM cosine of each with the message): the router, even a sure one, can take a
        product or rule question ("a late payment reported to the credit bureau by mistake",
        0.92) for a servicing request."""
        passages = find_passages(self.retrieval, text)
        if not passages or self.similarity is None:
            return servicing, []
        article = self.similarity(text, [servicing.text])[0]
        closest = max(hit.similarity for hit in passages)
        return (servicing, []) if article >= closest else (None, passages)


def servicing_for(routed: Routed | None) -> ServicingAnswer | None:
    """The servicing article for a servicing intent, if the knowledge base has one."""
    if routed is None or routed.family != "servicing":
        return None
    return servicing_answer(routed.intent)


def shared_embedding(text: str) -> np.ndarray | None:
    """The message's MiniLM sentence vector, if the rails' pass already computed it."""
    from retrieval.embeddings import shared_embedder

    return shared_embedder().remembered([text])[0]

"""The intent router at run time: a message (and its MiniLM vector, when the turn already has
it) -> intent, family, handler, calibrated confidence and entities."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from advisor.errors import InvalidInput
from advisor.ops.tracing import traced
from advisor.routing.model import RouterModel, RouterModelError
from advisor.routing.slots import Entity, SlotExtractor
from advisor.routing.split import SPLIT_FAMILY, Alternative, split_rows
from advisor.routing.taxonomy import OUT_OF_SCOPE, Taxonomy, TaxonomyError, shipped_taxonomy

if TYPE_CHECKING:
    from advisor.settings import Settings

log = logging.getLogger(__name__)
Embed = Callable[[list[str]], np.ndarray]
OVERRIDES_PATH = Path(__file__).with_name("overrides.yaml")
__all__ = ["Alternative", "Routed", "Router", "RouterModelError", "load_router", "router_dir"]


@dataclass(frozen=True)
class Routed:
    """Where a message goes: its intent with family and handler, the calibrated confidence of
    that intent, the entities found in it, and the runner-up servicing intent when the
    decision between two servicing intents is split (the model's SplitRule)."""

    text: str
    intent: str
    family: str
    handler: str
    confidence: float
    entities: tuple[Entity, ...]
    alternatives: tuple[Alternative, ...] = ()
    in_scope: Alternative | None = None  # beside an out-of-scope call: the likeliest intent

    def to_json(self) -> dict[str, Any]:
        """`{"text", "intent", "family", "confidence", "entities": [...]}`."""
        return {
            "text": self.text, "intent": self.intent, "family": self.family,
            "confidence": round(self.confidence, 4),
            "entities": [e.to_json() for e in self.entities],
        }  # fmt: skip


@dataclass(frozen=True)
class Override:
    """A rule that wins whatever the model says."""

    intent: str
    patterns: tuple[re.Pattern[str], ...]
    min_chars: int = 0

    def matches(self, text: str) -> bool:
        """Whether the rule decides this text."""
        return len(text) >= self.min_chars and any(p.search(text) for p in self.patterns)


class Router:
    """Routes messages; build once (from_settings) and share: it holds no per-call state."""

    def __init__(
        self, model: RouterModel, taxonomy: Taxonomy, slots: SlotExtractor,
        overrides: list[Override], embed: Embed | None = None,
    ) -> None:  # fmt: skip
        unknown = sorted(set(model.classes) - set(taxonomy.intents))
        if unknown:
            raise RouterModelError(
                f"the router model knows intents the taxonomy does not ({unknown[:5]}): "
                "run `advisor train router`"
            )
        self.model, self.taxonomy, self.slots, self.overrides = model, taxonomy, slots, overrides
        self._embed = embed
        self._servicing = np.array([taxonomy[c].family == SPLIT_FAMILY for c in model.classes])
        self.dimension = model.coef.shape[1] - sum(
            len(v.vocabulary_) for v in model.vectorizers.values()
        )

    @classmethod
    def from_settings(cls, settings: Settings, embed: Embed | None = None) -> Router:
        """The trained router of these settings (RouterModelError when it is not trained)."""
        taxonomy = shipped_taxonomy()
        return cls(
            RouterModel.read(router_dir(settings)), taxonomy, SlotExtractor.load(),
            load_overrides(taxonomy), embed,
        )  # fmt: skip

    @traced("chat.routing")
    def route(self, text: str, embedding: np.ndarray | None = None) -> Routed:
        """Route one message; pass its unit MiniLM sentence embedding when already computed."""
        vectors = None if embedding is None else self._checked(np.reshape(embedding, (1, -1)))
        return self._route([text], vectors)[0]

    def route_many(self, texts: list[str]) -> list[Routed]:
        """Route many messages, embedded in one batch."""
        return self._route(texts, None)

    def _route(self, texts: list[str], vectors: np.ndarray | None) -> list[Routed]:
        """Classify, apply the overrides and the out-of-scope decision, extract entities."""
        if not texts:
            return []
        vectors = self._vectors(texts) if vectors is None else vectors
        probs = self.model.probabilities(texts, vectors)
        return [self._decide(text, row) for text, row in zip(texts, probs, strict=True)]

    def _decide(self, text: str, probs: np.ndarray) -> Routed:
        """One message's intent and confidence."""
        intent, confidence = self._by_model(probs)
        alternatives = self._alternatives(probs, intent)
        in_scope = self._in_scope(probs) if intent == OUT_OF_SCOPE else None
        rule = next((o for o in self.overrides if o.matches(text)), None)
        if rule is not None:
            intent, confidence, alternatives, in_scope = rule.intent, 1.0, (), None
        meta = self.taxonomy[intent]
        entities = tuple(self.slots.extract(text))
        return Routed(
            text, intent, meta.family, meta.handler, float(confidence), entities, alternatives,
            in_scope,
        )  # fmt: skip

    def _in_scope(self, probs: np.ndarray) -> Alternative:
        """The likeliest in-scope intent and its probability (reported beside an out-of-scope
        call, which the plan may overrule when it is weak)."""
        ranked = probs.copy()
        ranked[self.model.classes.index(OUT_OF_SCOPE)] = -1.0
        best = int(ranked.argmax())
        return Alternative(self.model.classes[best], float(probs[best]))

    def _alternatives(self, probs: np.ndarray, intent: str) -> tuple[Alternative, ...]:
        """The runner-up when the model is split between two servicing intents, else none."""
        if intent == OUT_OF_SCOPE:
            return ()
        best = np.array([self.model.classes.index(intent)])
        second, split = split_rows(probs[None, :], best, self._servicing, self.model.split)
        if not split[0]:
            return ()
        return (Alternative(self.model.classes[int(second[0])], float(probs[second[0]])),)

    def _by_model(self, probs: np.ndarray) -> tuple[str, float]:
        """The model's intent: out of scope when P(out_of_scope) reaches its threshold or the
        best in-scope probability is below the minimum (then the confidence is that of being
        out of scope)."""
        classes, oos = self.model.classes, self.model.classes.index(OUT_OF_SCOPE)
        in_scope = probs.copy()
        in_scope[oos] = -1.0
        best = int(in_scope.argmax())
        top = float(in_scope[best])
        if probs[oos] >= self.model.oos_threshold or top < self.model.min_confidence:
            return OUT_OF_SCOPE, max(float(probs[oos]), 1.0 - top)
        return classes[best], top

    def _vectors(self, texts: list[str]) -> np.ndarray:
        """Unit MiniLM vectors: those the name tagger's pass remembered, else embedded."""
        if self._embed is not None:
            return self._checked(self._embed(texts))
        from retrieval.embeddings import shared_embedder

        embedder = shared_embedder()
        known = embedder.remembered(texts) if len(texts) == 1 else [None]
        if known[0] is not None:
            return self._checked(np.asarray(known, dtype=np.float32))
        return self._checked(embedder.unit_vectors(texts))

    def _checked(self, vectors: np.ndarray) -> np.ndarray:
        """Vectors of the model's dimension (InvalidInput otherwise)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape[-1] != self.dimension or not np.isfinite(vectors).all():
            raise InvalidInput(
                f"the embedding must be {self.dimension} finite numbers (MiniLM), "
                f"got shape {vectors.shape}"
            )
        return vectors


def load_router(settings: Settings) -> Router | None:
    """The trained router, or None (with a warning saying how to train it) when there is none."""
    try:
        return Router.from_settings(settings)
    except RouterModelError as exc:
        log.warning("%s; routing is off", exc)
        return None


def router_dir(settings: Settings) -> Path:
    """Where the router model lives: `router_model_dir`, else var_dir/models/router."""
    return settings.router_model_dir or settings.var_dir / "models" / "router"


def load_overrides(taxonomy: Taxonomy, path: Path = OVERRIDES_PATH) -> list[Override]:
    """The override rules, their intents checked against the taxonomy."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))["overrides"]
        rules = [
            Override(
                r["intent"],
                tuple(re.compile(p, re.IGNORECASE) for p in r["patterns"]),
                int(r.get("min_chars", 0)),
            )
            for r in raw
        ]
    except (OSError, yaml.YAMLError, KeyError, TypeError, re.error) as exc:
        raise TaxonomyError(f"cannot load the routing overrides {path}: {exc}") from None
    for rule in rules:
        taxonomy[rule.intent]  # raises TaxonomyError on an unknown intent
    return rules

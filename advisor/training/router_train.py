"""Train the intent router: a logistic head over MiniLM embeddings and TF-IDF n-grams, its
temperature and out-of-scope thresholds tuned on the tune split, its figures read from the
report split. `advisor train router` runs it; runtime code never imports this module."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from advisor import __version__
from advisor.routing.model import EMBEDDING_WEIGHT, TEXT_FEATURES, RouterModel, vectorizer
from advisor.routing.router import router_dir
from advisor.routing.split import SplitRule
from advisor.routing.taxonomy import shipped_taxonomy
from advisor.settings import Settings
from advisor.training.embed_cache import Embed, cached_vectors
from advisor.training.router_data import EXAMPLES, SEED, Example, Splits, load_splits
from advisor.training.router_metrics import Labelled, fit_temperature, metrics, tune_thresholds
from advisor.training.router_split import (
    MAX_TWO_ARTICLE_SHARE,
    SPLIT_TUNED_ON,
    eligible_classes,
    split_metrics,
    tune_split_rule,
)

C = 8.0  # inverse regularisation of the logistic head (chosen on the tune split)
PROJECT_WEIGHT = 3.0  # the project's few examples per intent count thrice beside the datasets'
MAX_ITER = 3000
CHAR_MIN_DF = 2
EMBEDDING_CACHE = "all-MiniLM-L6-v2.npz"
TUNED_ON = "tune split: Banking77 5%, half of CLINC val and oos_val, 10% of the project examples"
Say = Callable[[str], None]


def train_router(
    settings: Settings,
    data_dir: Path | None = None,
    out_dir: Path | None = None,
    per_intent: int | None = None,
    examples: Path = EXAMPLES,
    say: Say = lambda _: None,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Train, tune, measure and save the router; returns its card. Bad data raises
    TrainingDataError before anything is written (the previous model stays)."""
    started = time.perf_counter()
    data_dir = data_dir or settings.shared_data_dir / "intents"
    splits = load_splits(data_dir, shipped_taxonomy(), examples)
    if per_intent:
        splits.fit = subsample(splits.fit, per_intent)
    say(f"fit {len(splits.fit)}, tune {len(splits.tune)}, report {len(splits.report)} examples")
    cache = (cache_dir or settings.var_dir / "cache" / "router") / EMBEDDING_CACHE
    embed = cached_embedder(cache, say)
    vectors = {n: embed([e.text for e in getattr(splits, n)]) for n in ("fit", "tune", "report")}
    first = fit_head(splits.fit, vectors["fit"], say)
    tune = _labelled(first, splits.tune, vectors["tune"])
    temperature = fit_temperature(tune)
    oos_t, min_conf = tune_thresholds(tune, temperature)
    eligible = eligible_classes(tune.classes, shipped_taxonomy())
    rule = tune_split_rule(tune, temperature, (oos_t, min_conf), eligible)
    say("refitting the head on fit + tune")
    head = fit_head(splits.fit + splits.tune, np.vstack([vectors["fit"], vectors["tune"]]), say)
    parts = {"tune": tune, "report": _labelled(head, splits.report, vectors["report"])}
    card = _card(splits, head, parts, (temperature, oos_t, min_conf, rule), per_intent, started)
    final = RouterModel(
        head.classes, head.coef, head.intercept, head.vectorizers,
        temperature, oos_t, min_conf, card, rule,
    )  # fmt: skip
    final.save(out_dir or router_dir(settings))
    return final.card


def fit_head(rows: list[Example], vectors: np.ndarray, say: Say) -> RouterModel:
    """TF-IDF vectorizers and the logistic head fitted on rows (temperature 1, no
    thresholds)."""
    from sklearn.linear_model import LogisticRegression

    texts = [e.text for e in rows]
    vectorizers = {
        name: vectorizer(analyzer, ngrams, min_df=CHAR_MIN_DF).fit(texts)
        for name, analyzer, ngrams in TEXT_FEATURES
    }
    draft = RouterModel([], np.zeros(0), np.zeros(0), vectorizers, 1.0, 1.0, 0.0, {})
    say(f"fitting the logistic head on {len(rows)} examples")
    head = LogisticRegression(C=C, max_iter=MAX_ITER, random_state=SEED)
    weights = [PROJECT_WEIGHT if e.source == "project" else 1.0 for e in rows]
    head.fit(draft.features(texts, vectors), [e.intent for e in rows], sample_weight=weights)
    return RouterModel(
        [str(c) for c in head.classes_], head.coef_.astype(np.float32),
        head.intercept_.astype(np.float32), vectorizers, 1.0, 1.0, 0.0, {},
    )  # fmt: skip


def _labelled(model: RouterModel, rows: list[Example], vectors: np.ndarray) -> Labelled:
    """A split's logits with its labels and sources."""
    texts = [e.text for e in rows]
    logits = np.asarray(model.features(texts, vectors) @ model.coef.T + model.intercept)
    return Labelled(
        logits, np.array([e.intent for e in rows]), np.array([e.source for e in rows]),
        np.array(model.classes),
    )  # fmt: skip


def subsample(rows: list[Example], per_intent: int) -> list[Example]:
    """At most `per_intent` examples of each intent (seeded), for a quick small model."""
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for row in rows:
        by_intent[row.intent].append(row)
    rng = random.Random(SEED)
    return [
        e for intent in sorted(by_intent)
        for e in rng.sample(by_intent[intent], min(per_intent, len(by_intent[intent])))
    ]  # fmt: skip


def cached_embedder(cache: Path, say: Say) -> Embed:
    """Texts -> unit MiniLM vectors, through the digest-keyed cache under var/."""
    from retrieval.embeddings import shared_embedder

    def embed(texts: list[str]) -> np.ndarray:
        def fresh(missing: list[str]) -> np.ndarray:
            say(f"embedding {len(missing)} new texts with MiniLM (cached under {cache.parent})")
            return np.asarray(shared_embedder().embed(missing), dtype=np.float32)

        return cached_vectors(texts, fresh, cache)

    return embed


def _card(
    splits: Splits, model: RouterModel, parts: dict[str, Labelled],
    tuned: tuple[float, float, float, SplitRule], per_intent: int | None, started: float,
) -> dict[str, Any]:  # fmt: skip
    """The model card: data digests, split sizes, settings, metrics and the date."""
    temperature, oos_t, min_conf, rule = tuned

    def figures(part: Labelled) -> dict[str, float]:
        eligible = eligible_classes(part.classes, shipped_taxonomy())
        split = split_metrics(part, temperature, (oos_t, min_conf), rule, eligible)
        return {**metrics(part, temperature, oos_t, min_conf), **split}

    return {
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "advisor_version": __version__,
        "data_sha256": splits.digests,
        "splits": {n: len(getattr(splits, n)) for n in ("fit", "tune", "report")},
        "seed": SEED, "c": C, "embedding_weight": EMBEDDING_WEIGHT, "per_intent": per_intent,
        "project_weight": PROJECT_WEIGHT,
        "features": {n: len(v.vocabulary_) for n, v in model.vectorizers.items()},
        "classes": len(model.classes),
        "thresholds_tuned_on": TUNED_ON,
        "split_tuned_on": SPLIT_TUNED_ON, "max_two_article_share": MAX_TWO_ARTICLE_SHARE,
        "refit": "the saved head is refitted on fit + tune after tuning; metrics_tune are of "
        "the head fitted on fit alone, metrics_report of the saved head",
        "metrics_tune": figures(parts["tune"]),
        "metrics_report": figures(parts["report"]),
        "metrics_report_uncalibrated_ece": metrics(parts["report"], 1.0, oos_t, min_conf)["ece"],
        "train_seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip

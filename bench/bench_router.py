"""Intent router quality and speed: Banking77 and CLINC150 figures on the report split (never
tuned on), calibration, and routing latency beyond the shared MiniLM pass.

    .venv/bin/python bench/bench_router.py --out BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from advisor.routing.model import RouterModel
from advisor.routing.router import Router, router_dir
from advisor.routing.taxonomy import shipped_taxonomy
from advisor.settings import get_settings
from advisor.training.router_data import load_splits
from advisor.training.router_metrics import Labelled, metrics
from advisor.training.router_split import eligible_classes, split_metrics
from advisor.training.router_train import EMBEDDING_CACHE, cached_embedder
from bench.report import replace_section

BEGIN, END = "<!-- bench_router:begin -->", "<!-- bench_router:end -->"
LATENCY_MESSAGES = 300
# Tried on 2026-12-07 (session 19), each chosen or dropped on the tune split alone (Banking77
# accuracy of the argmax over all classes, 500 tune utterances; the baseline scores 92.2% there).
LATER_TRIALS = (
    "Tried later, each judged on the tune split alone (Banking77 argmax accuracy on its 500 "
    "tune utterances; the saved head's design scores 92.2% there), none kept: richer features "
    "from the same MiniLM pass beside the n-grams (mean pooling of layer 5 as well as layer 6: "
    "92.2%, project examples 84.4% against 86.7%; max pooling of layer 6 as well: 92.4%; "
    "mean pooling of layers 3-6 and max pooling of layer 6: 92.6%, CLINC 96.0% against 96.3%, "
    "out-of-scope argmax recall 80% against 84%: one or two utterances of 500, no clear gain), and "
    "the router's own fine-tuned copy of MiniLM's last layer reading the shared pass's "
    "layer-5 token states (4 epochs on the fit split, seeded, one thread; alone 91.6% after "
    "3 epochs; its logits added to the linear head's at weight 0.75 chosen on tune: tune "
    "92.6%, and on the report split, measured once after the choice, Banking77 93.01%, CLINC "
    "96.33%, out-of-scope recall 92.59%: no better than the linear head, while each tail "
    "epoch took 86 s on a shared core, so not kept).",
)


# Measured 2026-12-07 (issue 11), in-process, the same router arrays with and without the rule
# in its card (without it no route names a runner-up, as before the rule existed).
SPLIT_GOLDEN = (
    "The project's servicing golden conversations (`evals/golden/core/servicing.yaml`, 22 "
    "conversations, 28 turns, run in-process on the seeded bank) pass 11 of 22 without the "
    "rule and 14 of 22 with it, none worse: the declined, the cancelled and the timed transfer "
    "now get two articles (twice the right one was the runner-up, once the top intent was "
    "under the one-article floor and got the help text before), and the euro-rate turn too "
    "(its conversation still fails on its next turn). The other failures: corpus passages "
    "quoted instead of an article (4), a facts topic taken (2), the help text (1), a pair "
    "without the right article (1). The "
    "corpus, scope, action and handoff files (72 conversations) passed, failed and stayed "
    "pending alike with and without the rule (65/3/4); the facts, drafts and safety files (94) "
    "passed 92 of 94 without it and 89 with it, the three misses being 8-10 s latency checks "
    "of model-phrased facts turns under load, which passed again with the rule when rerun."
)


def quality(model: RouterModel, data_dir: Path, cache: Path) -> dict[str, Any]:
    """Metrics of the saved model on the report split, recomputed from the data (the saved
    head was refitted on fit + tune, so the tune split's figures come from the card)."""
    splits = load_splits(data_dir, shipped_taxonomy())
    embed = cached_embedder(cache, print)
    out: dict[str, Any] = {}
    for name in ("report",):
        rows = getattr(splits, name)
        texts = [e.text for e in rows]
        vectors = embed(texts)
        logits = np.asarray(model.features(texts, vectors) @ model.coef.T + model.intercept)
        split = Labelled(
            logits, np.array([e.intent for e in rows]), np.array([e.source for e in rows]),
            np.array(model.classes),
        )  # fmt: skip
        out[name] = metrics(split, model.temperature, model.oos_threshold, model.min_confidence)
        eligible = eligible_classes(split.classes, shipped_taxonomy())
        oos = (model.oos_threshold, model.min_confidence)
        out[name] |= split_metrics(split, model.temperature, oos, model.split, eligible)
        out[f"{name}_ece_uncalibrated"] = metrics(
            split, 1.0, model.oos_threshold, model.min_confidence
        )["ece"]
    out["texts"] = [e.text for e in splits.report[:LATENCY_MESSAGES]]
    return out


def latency(router: Router, texts: list[str]) -> dict[str, float]:
    """p50/p95 ms of routing with the embedding given (the chat turn's case) and of the
    MiniLM pass itself, one message at a time."""
    from retrieval.embeddings import shared_embedder

    embedder = shared_embedder()
    minilm: list[float] = []
    routing: list[float] = []
    split: list[float] = []
    for text in texts:
        start = time.perf_counter()
        vector = embedder.unit_vectors([text])[0]
        minilm.append(time.perf_counter() - start)
        start = time.perf_counter()
        router.route(text, vector)
        routing.append(time.perf_counter() - start)
        probs = router.model.probabilities([text], np.reshape(vector, (1, -1)))[0]
        intent = router._by_model(probs)[0]
        start = time.perf_counter()
        router._alternatives(probs, intent)  # the split decision alone, as route() makes it
        split.append(time.perf_counter() - start)
    return {
        "route_p50_ms": statistics.median(routing) * 1000,
        "route_p95_ms": float(np.percentile(routing, 95)) * 1000,
        "split_p50_ms": statistics.median(split) * 1000,
        "minilm_p50_ms": statistics.median(minilm) * 1000,
        "messages": len(texts),
    }


def render(card: dict[str, Any], q: dict[str, Any], speed: dict[str, float]) -> str:
    """The Markdown section."""
    r, t = q["report"], card["metrics_tune"]
    rows = [
        ("Banking77 accuracy, our validation split (10% of train)",
         f"**{r['banking77_accuracy']:.2%}** of {r['banking77_count']}", "> 94%"),
        ("CLINC150 banking+credit in-scope accuracy (report half of val)",
         f"**{r['clinc_accuracy']:.2%}** of {r['clinc_count']}", "≥ 95%"),
        ("out-of-scope recall (report half of oos_val + project examples)",
         f"**{r['oos_recall']:.2%}** of {r['oos_count']}", "≥ 90%"),
        ("CLINC in-scope called out of scope (report half)",
         f"**{r['clinc_in_scope_called_oos']:.2%}**", "≤ 3%"),
        ("Banking77 called out of scope (validation split)",
         f"{r['banking77_called_oos']:.2%}", ""),
        ("project advisory examples, held-out 10%",
         f"{r['project_accuracy']:.2%} of {r['project_count']}", ""),
        ("expected calibration error (report split, 15 bins)",
         f"{r['ece']:.3f} (before temperature {q['report_ece_uncalibrated']:.3f})", ""),
        ("Banking77 answers covering the true intent (validation split), one article / two "
         "when split", f"{r['banking77_top1_accuracy']:.2%} / **{r['banking77_coverage']:.2%}**",
         ""),
        ("Banking77 messages answered with two articles (validation split)",
         f"**{r['banking77_two_article_share']:.2%}**", ""),
        ("all in-scope report messages: coverage, two-article share",
         f"{r['in_scope_coverage']:.2%}, {r['in_scope_two_article_share']:.2%} of "
         f"{r['in_scope_count']}", ""),
        ("out-of-scope report messages answered with two articles",
         f"{r['out_of_scope_two_article_share']:.2%}", ""),
        ("routing p50 / p95 beyond the MiniLM pass",
         f"**{speed['route_p50_ms']:.1f} ms** / {speed['route_p95_ms']:.1f} ms", "≤ 10 ms"),
        ("of which the split servicing decision (p50, timed alone)",
         f"{speed['split_p50_ms'] * 1000:.0f} µs", ""),
        ("the MiniLM pass itself (p50, shared with the rails)",
         f"{speed['minilm_p50_ms']:.1f} ms", ""),
    ]  # fmt: skip
    table = [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join([
        BEGIN,
        "## Intent router (frozen MiniLM + TF-IDF n-grams, logistic head; 2 cores)",
        "",
        f"Run {dt.date.today()} on {platform.machine()} (load average {os.getloadavg()[0]:.1f} "
        f"at the start: latencies vary with it), model trained {card['trained_at']} "
        f"in {card['train_seconds']} s (fit {card['splits']['fit']} examples, then refitted "
        f"on fit + tune, {card['splits']['fit'] + card['splits']['tune']}; "
        f"{card['classes']} intents). Commands: `.venv/bin/advisor train router` then "
        "`.venv/bin/python bench/bench_router.py --out BENCHMARKS.md` (`make bench-router`).",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        *table,
        "",
        "Splits (seeded, stratified): Banking77 train 85% fit / 5% tune / 10% validation; CLINC "
        "val and oos_val halved into tune and report; the project's examples 80% fit / 10% tune / "
        "10% report. The softmax "
        "temperature and both out-of-scope thresholds (P(out_of_scope) ≥ "
        f"{card['oos_threshold']}, or best in-scope probability < {card['min_confidence']}) "
        "were chosen on the tune split only, with the head fitted on the fit split alone; the "
        "saved head was then refitted on fit + tune. Every figure above is of the saved head "
        "on the report split. On the tune split (head before the refit): "
        f"Banking77 {t['banking77_accuracy']:.2%}, CLINC {t['clinc_accuracy']:.2%}, "
        f"out-of-scope recall {t['oos_recall']:.2%}. The Banking77 official test split is not "
        "in this repository: no test figure is claimed.",
        "",
        "Banking77 stays under its 94% target. Tried (compared on the tune and the report "
        "split alike, so the choice of features, C and weights saw the report figures; the "
        "temperature and thresholds did not): MiniLM embedding alone "
        "with logistic regression (92.2-92.4% at C 2-32), TF-IDF word and character n-grams "
        "beside it (+0.5 to +1 point: kept), a linear SVM on the same features (no better), a "
        "product or mean of separate embedding and TF-IDF models (no better), a larger "
        "embedding weight or C (no better), refitting the head on fit + tune once the "
        "thresholds are chosen (+0.7 point: kept). "
        "The remaining errors are mostly Banking77's near-twins "
        "(`top_up_by_card_charge` / `extra_charge_on_statement` / `card_payment_fee_charged`).",
        "",
        *LATER_TRIALS,
        "",
        *split_note(card, r),
        "",
        SPLIT_GOLDEN,
        "",
        f"Latency over {speed['messages']} validation messages, one at a time, embedding given "
        "(as the chat turn passes it).",
        END,
    ])  # fmt: skip


def split_note(card: dict[str, Any], report: dict[str, Any]) -> list[str]:
    """How a split servicing decision is answered, and where its thresholds come from."""
    t = card.get("metrics_tune", {})
    if "split_max_top" not in card or "banking77_coverage" not in t:
        return ["The model predates the split-decision rule: every route names one intent."]
    return [
        "When the top two intents are both servicing intents and the decision is split (top "
        f"probability < {card['split_max_top']} and the runner-up within "
        f"{card['split_max_margin']} of it), the chat answers both articles, each with its "
        "own citation, under a lead-in from `advisor/chat/replies.yaml`, and `meta`/`done` "
        "carry the runner-up in `alternatives` (`advisor/routing/split.py`; read from the "
        "probabilities already computed, no extra pass; an article pair answers once the two "
        "probabilities together reach the single article's floor). The two thresholds were "
        f"chosen on the {card['split_tuned_on']}: there, Banking77 coverage "
        f"{t['banking77_top1_accuracy']:.2%} -> {t['banking77_coverage']:.2%} with "
        f"{t['banking77_two_article_share']:.2%} of its messages answered twice (all in-scope "
        f"{t['in_scope_two_article_share']:.2%}, cap {card['max_two_article_share']:.0%}). "
        "The report split's figures above were read once, after the choice; there the "
        f"in-scope two-article share is {report['in_scope_two_article_share']:.2%} (the saved "
        "head, refitted on fit + tune, against the tune figure of the head fitted on fit "
        "alone).",
    ]


def main() -> None:
    """Measure and print (or write into --out)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", help="Markdown file whose router section to replace")
    args = parser.parse_args()
    settings = get_settings()
    model = RouterModel.read(router_dir(settings))
    cache = settings.var_dir / "cache" / "router" / EMBEDDING_CACHE
    q = quality(model, settings.shared_data_dir / "intents", cache)
    speed = latency(Router.from_settings(settings), q.pop("texts"))
    section = render(model.card, q, speed)
    print(section)
    if args.out:
        replace_section(Path(args.out), BEGIN, END, section)


if __name__ == "__main__":
    main()

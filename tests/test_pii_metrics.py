"""The PII evaluation data (spans, checksums) and the redaction metrics on tiny fixtures."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from evals.pii_metrics import (
    Gold,
    Prediction,
    Sample,
    coverage,
    evaluate,
    load_banking77,
    load_banking_sentences,
    load_presidio_research,
    recall,
    utterance_report,
)

OUR_TYPES = {
    *("CREDIT_CARD", "IBAN_CODE", "US_SSN", "US_ITIN", "US_BANK_NUMBER", "ABA_ROUTING_NUMBER"),
    *("EMAIL_ADDRESS", "PHONE_NUMBER", "STREET_ADDRESS", "ZIP_CODE", "PERSON", "IP_ADDRESS"),
    "US_DRIVER_LICENSE",
}
SENTENCES = load_banking_sentences()


def values(type_: str) -> list[str]:
    """Every labelled value of one type in our banking sentences."""
    return [g.value for s in SENTENCES for g in s.entities if g.type == type_]


def luhn(digits: str) -> bool:
    """The Luhn check of a card number."""
    total = 0
    for i, d in enumerate(int(c) for c in reversed(digits)):
        total += d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2)
    return total % 10 == 0


def test_banking_sentences_have_spans_matching_values_and_every_type() -> None:
    assert len(SENTENCES) >= 150
    assert sum(s.pii_free for s in SENTENCES) >= 60
    for sample in SENTENCES:
        for gold in sample.entities:
            assert sample.text[gold.start : gold.end] == gold.value
            assert gold.type in OUR_TYPES
    assert {g.type for s in SENTENCES for g in s.entities} == OUR_TYPES


@pytest.mark.parametrize("card", values("CREDIT_CARD"))
def test_every_card_is_luhn_valid_in_a_common_format(card: str) -> None:
    digits = re.sub(r"[ -]", "", card)
    assert digits.isdigit() and len(digits) in (14, 15, 16)
    assert luhn(digits)


@pytest.mark.parametrize("iban", values("IBAN_CODE"))
def test_every_iban_is_mod97_valid(iban: str) -> None:
    compact = iban.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    assert int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


@pytest.mark.parametrize("routing", values("ABA_ROUTING_NUMBER"))
def test_every_routing_number_passes_the_aba_checksum(routing: str) -> None:
    d = [int(c) for c in routing]
    assert len(d) == 9
    assert (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]) % 10 == 0


@pytest.mark.parametrize("ssn", values("US_SSN"))
def test_every_ssn_has_a_valid_area(ssn: str) -> None:
    area = ssn[:3]
    assert area not in ("000", "666") and not area.startswith("9")


def test_a_value_must_occur_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text('- text: "pay 12 to 12"\n  entities:\n    - {type: X, value: "12"}\n')
    with pytest.raises(ValueError, match="exactly once"):
        load_banking_sentences(path)


def test_presidio_research_is_mapped_to_our_types() -> None:
    samples = load_presidio_research()
    golds = [(s.text, g) for s in samples for g in s.entities]
    assert len(samples) == 100 and golds
    for text, gold in golds:
        assert text[gold.start : gold.end] == gold.value
        assert gold.value.lower() != "nan" and not re.fullmatch(r"\d{1,3}", gold.value)
    types = Counter(g.type for _, g in golds)
    assert set(types) <= OUR_TYPES and types["STREET_ADDRESS"] and types["ZIP_CODE"]
    assert all(re.fullmatch(r"\d{5}", g.value) for _, g in golds if g.type == "ZIP_CODE")
    assert any(g.value == "Ayers" for _, g in golds)  # its offsets are off by one upstream


def test_banking77_has_every_training_utterance() -> None:
    utterances = load_banking77()
    assert len(utterances) == 10_003 and all(utterances)


TEXT = "Pay Maria Gonzalez from card 4111 1111 1111 1111 today."
MARIA = Gold("PERSON", "Maria Gonzalez", 4, 18)
CARD = Gold("CREDIT_CARD", "4111 1111 1111 1111", 29, 48)
FIXTURE = [Sample(TEXT, (MARIA, CARD), False), Sample("What is an ATM fee in EUR?", (), True)]


def perfect(text: str) -> list[Prediction]:
    """An analyzer that finds exactly the gold spans of the fixture."""
    return [(g.type, g.start, g.end) for s in FIXTURE if s.text == text for g in s.entities]


def empty(text: str) -> list[Prediction]:
    """An analyzer that finds nothing."""
    return []


def scores(analyze: Callable[[str], Sequence[Prediction]]) -> dict[str, Any]:
    """Recall rows of an analyzer on the fixture."""
    return recall(FIXTURE, [analyze(s.text) for s in FIXTURE])


def test_fixture_spans_are_right() -> None:
    assert [TEXT[g.start : g.end] for g in (MARIA, CARD)] == [MARIA.value, CARD.value]


def test_perfect_analyzer_has_recall_one_and_no_false_redaction() -> None:
    report = evaluate(perfect, {"fixture": FIXTURE}, ["What is an ATM fee in EUR?"])
    rows = report["fixture"]["recall"]
    assert {t: (r["recall"], r["type_exact_recall"]) for t, r in rows.items()} == {
        "CREDIT_CARD": (1.0, 1.0),
        "PERSON": (1.0, 1.0),
        "ALL": (1.0, 1.0),
    }
    assert report["fixture"]["pii_free"]["falsely_redacted"] == 0
    assert report["banking77"]["share"] == 0.0
    assert report["latency"]["messages"] == 3


def test_empty_analyzer_has_recall_zero() -> None:
    rows = scores(empty)
    assert all(r["recall"] == 0.0 and r["type_exact_recall"] == 0.0 for r in rows.values())
    assert rows["PERSON"]["missed"] == ["Maria Gonzalez"]
    assert rows["CREDIT_CARD"]["missed"] == ["4111 1111 1111 1111"]


def test_coverage_rule_is_eighty_percent_of_characters_by_any_span() -> None:
    assert coverage(CARD, [(29, 33), (34, 38), (39, 43), (44, 48)]) == pytest.approx(16 / 19)
    assert coverage(MARIA, [(0, 14)]) == pytest.approx(10 / 14)
    ten = Gold("X", "0123456789", 0, 10)
    assert coverage(ten, [(0, 8)]) == 0.8
    assert recall([Sample("0123456789", (ten,), False)], [[("X", 0, 8)]])["X"]["recall"] == 1.0
    assert recall([Sample("0123456789", (ten,), False)], [[("X", 0, 7)]])["X"]["recall"] == 0.0


def test_another_type_counts_for_privacy_but_not_type_exact() -> None:
    rows = recall(FIXTURE, [[("LOCATION", 4, 18), ("CREDIT_CARD", 29, 48)], []])
    assert rows["PERSON"]["recall"] == 1.0 and rows["PERSON"]["type_exact_recall"] == 0.0


def test_false_redactions_are_counted_per_pii_free_sentence() -> None:
    def noisy(text: str) -> list[Prediction]:
        return [("ORGANIZATION", text.index("ATM"), text.index("ATM") + 3)] if "ATM" in text else []

    report = evaluate(noisy, {"fixture": FIXTURE}, [])
    assert report["fixture"]["pii_free"]["falsely_redacted"] == 1
    assert report["fixture"]["pii_free"]["examples"][0]["redacted"] == ["ORGANIZATION:ATM"]


def test_utterance_report_counts_share_and_most_redacted_strings() -> None:
    texts = ["my ATM card", "ATM fee", "hello", "EUR to USD"]

    def acronyms(text: str) -> list[Prediction]:
        return [("ORG", m.start(), m.end()) for m in re.finditer(r"\b[A-Z]{3}\b", text)]

    report = utterance_report(acronyms, texts)
    assert report["share"] == 0.75 and report["redacted"] == 3
    assert report["top_strings"][0] == {"text": "ATM", "count": 2}
    assert report["by_type"] == {"ORG": 4}

"""The learned name tagger, table-driven: what it adds to the rules, what it leaves alone."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import spacy

from advisor.rails.pii.name_tagger import (
    LearnedNameRecognizer,
    NameTagger,
    TaggerWeights,
    learned_recognizers,
)
from advisor.rails.pii.policy import PiiPolicy, PolicyError
from advisor.rails.pii.redactor import PiiRedactor
from advisor.settings import Settings
from advisor.training.name_tagger_train import (
    Fillers,
    fill,
    read_templates,
    templates_digest,
)
from retrieval.embeddings import shared_embedder

POLICY_DIR = Path(Settings().rails.policy_dir)

# Names the rules alone miss (lower case, no cue, an English-word surname): the tagger finds.
TAGGER_ONLY = [
    ("we watched the tomasz brook documentary", "tomasz brook"),
    ("a photo of kasimir lund on the wall", "kasimir lund"),
    ("did ines costa get the money", "ines costa"),
    ("the fee from the pavel novak transfer", "pavel novak"),
]

# (text, words the tagger may score): capitalised English words opening a line, lower-case
# English words in a text with capitals, stop words and digits are not its to decide.
CANDIDATES = [
    ("Sort out my card please", []),
    ("Why did Waters charge me?", ["Waters"]),
    ("my friend waters paid me", ["friend", "waters", "paid"]),
    ("Pay 40 to Ksenia tomorrow", ["Ksenia"]),
    ("Can I send money to my Mum?", ["Mum"]),
]


@pytest.fixture(scope="module")
def recognizer(redactor: PiiRedactor) -> LearnedNameRecognizer:
    """The learned recognizer of the shipped redactor."""
    assert len(redactor.learned) == 1, "the shipped policy names the tagger's weights"
    return redactor.learned[0]  # type: ignore[return-value]


def people(redactor: PiiRedactor, text: str, learned: bool = True) -> list[str]:
    """The person spans the redactor finds."""
    found = redactor.analyze(text, learned=learned)
    return [text[e.start : e.end] for e in found if e.type == "PERSON"]


@pytest.mark.parametrize(("text", "name"), TAGGER_ONLY)
def test_the_tagger_finds_names_the_rules_miss(redactor: PiiRedactor, text: str, name: str) -> None:
    assert name in people(redactor, text)


@pytest.mark.parametrize(("text", "name"), TAGGER_ONLY)
def test_without_the_tagger_those_names_are_missed(
    redactor: PiiRedactor, text: str, name: str
) -> None:
    assert name not in people(redactor, text, learned=False)  # the row above is the tagger's


def test_the_tagger_screens_customer_text_not_the_models_sentences(
    redactor: PiiRedactor,
) -> None:
    text, name = TAGGER_ONLY[0]
    assert name not in redactor.redact(text).redacted
    assert redactor.untrusted_spans(text) == []  # streamed sentences skip the tagger


@pytest.mark.parametrize(("text", "words"), CANDIDATES)
def test_candidates_are_the_words_rules_leave_open(
    recognizer: LearnedNameRecognizer, redactor: PiiRedactor, text: str, words: list[str]
) -> None:
    doc = redactor.analyzer.nlp_engine.nlp["en"](text)  # type: ignore[attr-defined]
    assert [doc[i].text for i in recognizer.tagger.candidates(doc)] == words


def test_without_candidates_minilm_is_not_run(recognizer: LearnedNameRecognizer) -> None:
    calls: list[list[str]] = []

    def vectorise(texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        calls.append(texts)
        return []

    tagger = NameTagger(recognizer.tagger.lexicon, vectorise)
    doc = spacy.blank("en")("What is the fee for this?")
    assert tagger.probabilities(doc, recognizer.weights) == {} and calls == []


def test_shipped_weights_were_trained_on_the_shipped_templates() -> None:
    rules = PiiPolicy.load(POLICY_DIR).learned_names
    assert rules is not None and 0.5 <= rules.threshold < 1
    weights = TaggerWeights.read(POLICY_DIR / rules.weights)
    assert weights.trained_on == templates_digest(POLICY_DIR), (
        "templates.txt changed: retrain with python -m advisor.training.name_tagger_train"
    )
    assert weights.coef.shape == (384 + 19,) and np.isfinite(weights.coef).all()


def test_weights_round_trip_and_unreadable_weights_are_a_policy_error(tmp_path: Path) -> None:
    weights = TaggerWeights(np.arange(384 + 19, dtype=np.float32), -1.5, "abc")
    weights.save(tmp_path / "w.npz")
    again = TaggerWeights.read(tmp_path / "w.npz")
    assert again.coef.tolist()[:3] == [0, 1, 2] and again.intercept == -1.5
    assert again.trained_on == "abc"
    for content in (b"not numpy", b"", b"PK\x03\x04truncated"):
        (tmp_path / "bad.npz").write_bytes(content)
        with pytest.raises(PolicyError, match="unreadable"):
            TaggerWeights.read(tmp_path / "bad.npz")
    TaggerWeights(np.zeros(3, np.float32), 0.0).save(tmp_path / "short.npz")
    with pytest.raises(PolicyError, match="wrong shape"):
        TaggerWeights.read(tmp_path / "short.npz")


def test_a_policy_without_the_tagger_registers_none(recognizer: LearnedNameRecognizer) -> None:
    assert learned_recognizers(None, recognizer.tagger.lexicon, POLICY_DIR) == []


def test_token_vectors_map_pieces_to_characters() -> None:
    text = "Pay Ksenia Rushisvili 40 dollars. " * 60  # longer than one 256-piece window
    [(vectors, offsets)] = shared_embedder().token_vectors([text])
    assert vectors.shape == (len(offsets), 384)
    assert text[offsets[0][0] : offsets[0][1]].lower() == "pay"
    assert offsets[:, 1].max() >= len(text.rstrip()) - 1  # the last window reaches the end


def test_long_texts_give_each_piece_once() -> None:
    text = "Pay Ksenia Rushisvili 40 dollars. " * 60  # windows overlap by 64 pieces
    [(_, offsets)] = shared_embedder().token_vectors([text])
    spans = [tuple(o) for o in offsets.tolist()]
    assert len(spans) == len(set(spans)) and spans == sorted(spans)


@pytest.mark.parametrize("case", [str.lower, str.upper])
def test_case_changes_keep_the_people_spans(case: Callable[[str], str]) -> None:
    fillers = Fillers(random.Random(3))
    fillers.value = lambda slot: "İlkay Heß" if slot == "full" else "Ümraniye"  # type: ignore[method-assign]
    text, [(start, end)] = fill("From {city}: pay {full} now", fillers, case)
    assert text[start:end] == case("İlkay Heß")


@pytest.mark.parametrize(
    ("template", "people_in_it"),
    [("Pay {full} {amount} on {weekday}.", 1), ("{first}, {first} and {last}", 3),
     ("{merchant} charged me twice.", 0)],
)  # fmt: skip
def test_a_filled_template_labels_exactly_its_people(template: str, people_in_it: int) -> None:
    text, spans = fill(template, Fillers(random.Random(3)))
    assert "{" not in text and len(spans) == people_in_it
    assert all(text[s:e].strip() == text[s:e] and text[s:e] for s, e in spans)


def test_templates_read_line_breaks_and_skip_comments(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("# comment\n\nRegards,\\n{full}\n", encoding="utf-8")
    assert read_templates(path) == ["Regards,\n{full}"]


def test_a_message_the_tagger_read_is_not_embedded_again() -> None:
    embedder = shared_embedder()
    text = "my friend waters paid me back"
    embedder.token_vectors([text])
    [kept] = embedder.remembered([text])
    assert kept is not None
    assert np.allclose(kept, embedder.embed([text])[0], atol=1e-5)  # what encode makes
    assert embedder.remembered(["a text never read"]) == [None]

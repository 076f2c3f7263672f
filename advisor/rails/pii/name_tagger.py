"""A learned name tagger: a logistic head on MiniLM's contextual word vectors and word shape.

Rules find names that a cue announces or that no English dictionary knows. What they cannot
see is a name that nothing announces and that the small spaCy model calls a place or nothing
("unlike the langrová novel", "a Mashuu Ohara concert"), or a name that is also a word
("Waters", "Hull"). The tagger reads each candidate word in context: the mean of its word
pieces' last-layer vectors in all-MiniLM-L6-v2 (already loaded for retrieval and injection
checks), plus a few shape features the uncased model cannot see (capitals, the text's case,
dictionary and first-name lists, spaCy's tags of the word and its neighbours). The head is
trained by advisor/training/name_tagger_train.py on sentences written for this project,
filled with Faker's people; the weights live beside the policy (guardrails/name_tagger/).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from advisor.rails.pii.gazetteer import fold_name
from advisor.rails.pii.policy import LearnedNameRules, PolicyError
from advisor.rails.pii.unknown_names import NAME_WORD, Lexicon

TokenVectors = tuple[np.ndarray, np.ndarray]  # (pieces x dim) vectors, (pieces x 2) offsets
Vectorise = Callable[[list[str]], list[TokenVectors]]
SHAPE = (
    *("title", "upper", "lower_text", "line_start", "english", "first_name", "ner_person"),
    *("ner_other", "propn", "non_ascii", "pieces"),
    *("prev_title", "prev_first_name", "prev_ner_person", "prev_english"),
    *("next_title", "next_first_name", "next_ner_person", "next_english"),
)
MINILM_DIMENSION = 384  # all-MiniLM-L6-v2's vectors
LINE_ENDS = frozenset(".!?:;\n\"'(")


@dataclass(frozen=True)
class TaggerWeights:
    """The logistic head: one weight per feature and a bias."""

    coef: np.ndarray
    intercept: float
    trained_on: str = ""  # digest of the templates the weights were trained on

    @classmethod
    def read(cls, path: Path) -> TaggerWeights:
        """Weights saved by the trainer."""
        try:
            with np.load(path) as saved:
                coef, intercept = saved["coef"].astype(np.float32), float(saved["intercept"])
                trained_on = str(saved["trained_on"])
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise PolicyError(f"name tagger weights unreadable: {path} ({exc})") from None
        if coef.ndim != 1 or coef.shape[0] != MINILM_DIMENSION + len(SHAPE):
            raise PolicyError(f"name tagger weights of the wrong shape {coef.shape}: {path}")
        return cls(coef, intercept, trained_on)

    def save(self, path: Path) -> None:
        """Write the weights (a few kilobytes)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path, coef=self.coef, intercept=np.float32(self.intercept), trained_on=self.trained_on
        )


class NameTagger:
    """The probability that each candidate word of a spaCy document is part of a person's name."""

    def __init__(self, lexicon: Lexicon, vectorise: Vectorise) -> None:
        self.lexicon, self.vectorise = lexicon, vectorise

    def candidates(self, doc: Any) -> list[int]:
        """Indices of the tokens that could be a name word the rules leave undecided.

        No stop word and no digits; in a text with capitals, an English word counts only when
        it is a first name or capitalised inside a line ("Waters", not "Sort" opening one).
        """
        lower_text = doc.text.islower()
        return [t.i for t in doc if self._candidate(t, lower_text)]

    def _candidate(self, token: Any, lower_text: bool) -> bool:
        """Whether one token is a candidate (see candidates)."""
        text = token.text
        if not NAME_WORD.fullmatch(text) or token.lower_ in self.lexicon.common:
            return False
        if lower_text or not self.lexicon.knows(text) or self._first_name(text):
            return True
        return text[0].isupper() and not _starts_line(token)

    def features(self, docs: Sequence[Any]) -> list[tuple[list[int], np.ndarray]]:
        """Each document's candidate tokens and their feature rows."""
        vectors = self.vectorise([doc.text for doc in docs])
        out = []
        for doc, (pieces, offsets) in zip(docs, vectors, strict=True):
            chosen = self.candidates(doc)
            out.append((chosen, self._matrix(doc, chosen, pieces, offsets)))
        return out

    def _matrix(
        self, doc: Any, chosen: list[int], pieces: np.ndarray, offsets: np.ndarray
    ) -> np.ndarray:
        """The feature rows of the chosen tokens of one document."""
        rows = [self._row(doc[i], pieces, offsets) for i in chosen]
        width = pieces.shape[1] + len(SHAPE) if len(pieces) else len(SHAPE)
        return np.array(rows, np.float32).reshape(len(rows), width)

    def _row(self, token: Any, pieces: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """One word's mean piece vector followed by its shape features."""
        start, end = token.idx, token.idx + len(token.text)
        inside = (offsets[:, 0] < end) & (offsets[:, 1] > start)
        vector = pieces[inside].mean(axis=0) if inside.any() else np.zeros(pieces.shape[1])
        return np.concatenate([vector, self._shape(token, int(inside.sum()))])

    def _shape(self, token: Any, pieces: int) -> np.ndarray:
        """What the uncased model cannot see: capitals, lists and spaCy's view of the word."""
        text, doc = token.text, token.doc
        prev = doc[token.i - 1] if token.i > 0 else None
        after = doc[token.i + 1] if token.i + 1 < len(doc) else None
        values = (
            text[0].isupper() and not text.isupper(), text.isupper(), doc.text.islower(),
            _starts_line(token), self.lexicon.knows(text), self._first_name(text),
            token.ent_type_ == "PERSON", token.ent_type_ not in ("", "PERSON"),
            token.pos_ == "PROPN", not text.isascii(), min(pieces, 6) / 6,
            *self._neighbour(prev), *self._neighbour(after),
        )  # fmt: skip
        return np.array(values, np.float32)

    def _neighbour(self, token: Any | None) -> tuple[bool, bool, bool, bool]:
        """A neighbour's capital, first-name, NER-person and English-word flags."""
        if token is None or not NAME_WORD.fullmatch(token.text):
            return False, False, False, False
        text = token.text
        title = text[0].isupper() and not text.isupper()
        return title, self._first_name(text), token.ent_type_ == "PERSON", self.lexicon.knows(text)

    def _first_name(self, word: str) -> bool:
        """A first name of the gazetteer."""
        return fold_name(word).removesuffix("'s") in self.lexicon.names

    def probabilities(self, doc: Any, weights: TaggerWeights) -> dict[int, float]:
        """Token index -> probability of a name word, for the document's candidates."""
        chosen = self.candidates(doc)
        if not chosen:
            return {}  # nothing to decide: MiniLM is not run
        [(pieces, offsets)] = self.vectorise([doc.text])
        rows = self._matrix(doc, chosen, pieces, offsets)
        logits = rows @ weights.coef + weights.intercept
        return dict(zip(chosen, (1 / (1 + np.exp(-logits))).tolist(), strict=True))


def _starts_line(token: Any) -> bool:
    """The token opens the text, a line or a sentence."""
    prev = token.doc[token.i - 1] if token.i > 0 else None
    return prev is None or prev.text[-1:] in LINE_ENDS or "\n" in prev.whitespace_


class LearnedNameRecognizer(EntityRecognizer):
    """Words the tagger is confident about, as people."""

    def __init__(self, rules: LearnedNameRules, tagger: NameTagger, weights: TaggerWeights) -> None:
        self.rules, self.tagger, self.weights = rules, tagger, weights
        super().__init__(["PERSON"], name="LearnedNameRecognizer")

    def load(self) -> None:
        """Nothing to load: the weights are read before."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Each confident name word; neighbouring words are joined into one name later."""
        if nlp_artifacts is None or "PERSON" not in entities:
            return []
        doc = nlp_artifacts.tokens
        found = self.tagger.probabilities(doc, self.weights)
        return [
            RecognizerResult("PERSON", doc[i].idx, doc[i].idx + len(doc[i].text), self.rules.score)
            for i, p in found.items()
            if p >= self.rules.threshold
        ]


def shared_vectorise() -> Vectorise:
    """The process's MiniLM word-piece vectors (loaded on first use)."""
    from retrieval.embeddings import shared_embedder

    return lambda texts: shared_embedder().token_vectors(texts)


def learned_recognizers(
    rules: LearnedNameRules | None, lexicon: Lexicon, policy_dir: Path
) -> list[EntityRecognizer]:
    """The learned name recognizer when the policy names its weights, else none."""
    if rules is None:
        return []
    weights = TaggerWeights.read(policy_dir / rules.weights)
    return [LearnedNameRecognizer(rules, NameTagger(lexicon, shared_vectorise()), weights)]

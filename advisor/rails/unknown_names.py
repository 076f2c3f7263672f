"""Names no list knows: a proper noun that is no English word, and the name words beside a name.

The small spaCy model finds "Sumaya", "Fukunaga" or "Kasslin" but often labels them ORG or
PRODUCT, and finds "kristin" without "crnić". A word counts as English when any simple
inflection of it is in the model's own WordNet-derived lemma tables, its stop words or the
policy's allow-list ("Transfers", "ATMs" and "Mastercards" are English, "Rushisvili" is not).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from advisor.rails.gazetteer import fold_name
from advisor.rails.policy import UnknownNameRules
from advisor.rails.spans import with_bounds

# One word of a name: letters, an optional O'/D' prefix and one hyphenated part ("Anne-Lise").
NAME_WORD = re.compile(r"(?:[^\W\d_]')?[^\W\d_]{2,}(?:-[^\W\d_]{2,})?")
INFLECTIONS: tuple[tuple[str, str], ...] = (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""))
INFLECTIONS += (("ed", "e"), ("ing", ""), ("ing", "e"), ("'s", ""))
MIN_STEM = 3


class Lexicon:
    """English words of the spaCy pipeline plus the policy's allow-list."""

    def __init__(self, pipeline: Any, allowed: frozenset[str], names: frozenset[str]) -> None:
        from spacy.lang.en.stop_words import STOP_WORDS

        lookups = pipeline.get_pipe("lemmatizer").lookups
        words = {w for ws in lookups.get_table("lemma_index").values() for w in ws}
        words |= {w for ws in lookups.get_table("lemma_exc").values() for w in ws}
        self.words = frozenset(words | STOP_WORDS | allowed)
        self.common = frozenset(STOP_WORDS | allowed)
        self.names = names

    def knows(self, word: str) -> bool:
        """Whether the word (each hyphenated part, or a simple inflection of it) is English."""
        parts = word.lower().split("-")
        return all(any(form in self.words for form in _forms(part)) for part in parts)

    def is_foreign_name_word(self, word: str) -> bool:
        """Shaped like one word of a name and no English word."""
        if not NAME_WORD.fullmatch(word) or word.isupper():  # ATM, EUR, merchant descriptors
            return False
        return not self.knows(word) and not self.knows(fold_name(word))

    def may_join(self, word: str, name: str) -> bool:
        """Whether a word beside a name is part of it: foreign, a first name, or capitalised."""
        if not NAME_WORD.fullmatch(word) or word.lower() in self.common or word.isupper():
            return False
        capitalised = word[0].isupper() and name[:1].isupper()
        known_name = fold_name(word).removesuffix("'s") in self.names
        return capitalised or known_name or self.is_foreign_name_word(word)


def _forms(word: str) -> Iterator[str]:
    """The word and its stems under the simple English inflections."""
    yield word
    for suffix, replacement in INFLECTIONS:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            yield word[: -len(suffix)] + replacement


class UnknownNameRecognizer(EntityRecognizer):
    """A proper noun that is no English word and not a place, taken for a person."""

    def __init__(self, rules: UnknownNameRules, lexicon: Lexicon) -> None:
        self.rules, self.lexicon = rules, lexicon
        super().__init__(["PERSON"], name="UnknownNameRecognizer")

    def load(self) -> None:
        """Nothing to load: the lexicon comes from the spaCy pipeline."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Every token that looks like a name no list knows."""
        if nlp_artifacts is None:
            return []
        score = self.rules.score
        return [
            RecognizerResult("PERSON", t.idx, t.idx + len(t.text), score)
            for t in nlp_artifacts.tokens
            if self._is_name(t)
        ]

    def _is_name(self, token: Any) -> bool:
        """A foreign word the tagger or the NER model treats as a name, and not a place."""
        if token.ent_type_ in self.rules.place_labels:
            return False
        if not self.lexicon.is_foreign_name_word(token.text) or self.lexicon.knows(token.lemma_):
            return False
        if token.text[0].isupper():
            return True
        at_place = token.i > 0 and token.nbor(-1).lower_ in self.rules.place_words
        named = token.pos_ in ("PROPN", "X") or token.ent_type_ in self.rules.name_labels
        return named and not at_place


def grow_names(text: str, chosen: list[RecognizerResult], lexicon: Lexicon, max_words: int) -> None:
    """Widen each person by the name words beside it, up to max_words on each side.

    The spans are disjoint, so a word can only clash with the neighbouring spans: linear time.
    """
    for r, floor, limit in with_bounds(chosen, len(text)):
        if r.entity_type != "PERSON":
            continue
        for _ in range(max_words):
            after = NAME_AFTER.match(text, r.end, limit)
            if after is None or not lexicon.may_join(after.group(1), text[r.start : r.end]):
                break
            r.end = after.end()
        for _ in range(max_words):
            before = NAME_BEFORE.search(text, floor, r.start)
            if before is None or not lexicon.may_join(before.group(1), text[r.start : r.end]):
                break
            r.start = before.start()


NAME_AFTER = re.compile(rf" ({NAME_WORD.pattern})(?![\w'\-])")
NAME_BEFORE = re.compile(rf"(?<![\w'\-])({NAME_WORD.pattern}) $")


LISTED = re.compile(rf"(?:, | and | or | & )({NAME_WORD.pattern})(?![\w'\-])")


def listed_names(text: str, chosen: list[RecognizerResult], lexicon: Lexicon) -> None:
    """Capitalised words listed after a name are names too ("Dita, Brajko and Kaypa").

    A list stops at the next found span, which continues it if it is a person: linear time.
    """
    for person, _, limit in with_bounds(chosen, len(text)):
        if person.entity_type != "PERSON":
            continue
        end = person.end
        while (item := LISTED.match(text, end, limit)) is not None:
            word = item.group(1)
            if not word[0].isupper() or word.lower() in lexicon.common:
                break
            chosen.append(RecognizerResult("PERSON", item.start(1), item.end(1), person.score))
            end = item.end(1)

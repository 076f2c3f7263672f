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

from advisor.rails.pii.gazetteer import fold_name
from advisor.rails.pii.policy import UnknownNameRules
from advisor.rails.pii.spans import with_bounds

# One word of a name: letters, an optional O'/D' prefix (not "I've") and one hyphenated part
# ("Anne-Lise").
NAME_WORD = re.compile(r"(?:[^\W\d_]'(?!(?:ve|ll|re)\b))?[^\W\d_]{2,}(?:-[^\W\d_]{2,})?")
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

    def listable(self, word: str) -> bool:
        """Whether a word listed after a name is one: capitalised, or a name word."""
        return self.is_name(word) or (word[0].isupper() and self._plain(word))

    def is_name(self, word: str) -> bool:
        """No common word, and a known first name or no English word (any case)."""
        known = fold_name(word) in self.names
        return self._plain(word) and (known or self.is_foreign_name_word(word))

    def _plain(self, word: str) -> bool:
        """Not a common word and not an acronym."""
        return word.lower() not in self.common and not word.isupper()

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
        stem = word[: -len(suffix)] + replacement
        if word.endswith(suffix) and len(stem) >= MIN_STEM:  # "owed" -> "owe"
            yield stem


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
LISTED_BEFORE = re.compile(rf"(?<![\w'\-])({NAME_WORD.pattern})(?:, | and | or | & )$")
LIST_REACH = 40  # how far before a name the previous item of its list is looked for


def listed_names(text: str, chosen: list[RecognizerResult], lexicon: Lexicon) -> None:
    """Name words listed before or after a name are names too ("Jan, Lucas, Dita and Kaypa").

    A list stops at the neighbouring found span, which continues it if it is a person.
    """
    taken = {(r.start, r.end) for r in chosen}

    def add(item: re.Match[str], score: float) -> None:
        if item.span(1) not in taken:
            taken.add(item.span(1))
            chosen.append(RecognizerResult("PERSON", item.start(1), item.end(1), score))

    for person, floor, limit in with_bounds(chosen, len(text)):
        if person.entity_type != "PERSON":
            continue
        end, start = person.end, person.start
        while (item := LISTED.match(text, end, limit)) and lexicon.listable(item.group(1)):
            add(item, person.score)
            end = item.end(1)
        while (
            item := LISTED_BEFORE.search(text, max(floor, start - LIST_REACH), start)
        ) and lexicon.is_name(item.group(1)):  # a sentence's first word is capitalised too
            add(item, person.score)
            start = item.start(1)


LINE_WORDS = rf"{NAME_WORD.pattern}(?:[ \t]+{NAME_WORD.pattern}){{0,2}}"
NAME_LINE = re.compile(rf"^[ \t>]*(?:[^\n:]*:[ \t]*)?({LINE_WORDS}),?[ \t]*$", re.MULTILINE)
ADDRESSEE_LINES = 3  # how many lines above a street may hold its addressee (name, company)


def addressee_names(text: str, chosen: list[RecognizerResult], lexicon: Lexicon) -> None:
    """A line of name words above a street is its addressee ("alexia bustos\n630 jackson cape")."""
    taken = [(r.start, r.end) for r in chosen]
    for street, floor, _ in with_bounds(chosen, len(text)):
        if street.entity_type != "STREET_ADDRESS":
            continue
        above = text[floor : street.start].split("\n")[-ADDRESSEE_LINES - 1 :]
        offset = street.start - len("\n".join(above))  # `^` skips a partial first line
        for line in NAME_LINE.finditer(text, offset, street.start):
            words = line.group(1).split()
            free = all(e <= line.start(1) or s >= line.end(1) for s, e in taken)
            if free and any(map(lexicon.is_name, words)) and all(map(lexicon.listable, words)):
                chosen.append(RecognizerResult("PERSON", line.start(1), line.end(1), street.score))

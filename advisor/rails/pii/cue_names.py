"""Names announced by the words around them, in any case ("call me koppány").

The small NER model labels many foreign names a place or nothing, and lower-case names carry
no capital to go by. Next to a phrase that introduces a person, a word counts as a name when
it is no English word or is a known first name; capitalised words then join it (`grow_names`).
"""

from __future__ import annotations

import re
from itertools import takewhile
from typing import Any

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from advisor.rails.pii.policy import NameCueRules
from advisor.rails.pii.recognizers import any_of
from advisor.rails.pii.unknown_names import NAME_WORD, Lexicon

NOUN_TAGS = ("PROPN", "NOUN", "X")  # a name's later words as the tagger sees them
CONJUNCTIONS = ("SCONJ", "CCONJ")  # "that", "because", "but", "and" open a clause
SENTENCE_ENDS = frozenset({".", "!", "?", "\n", "\n\n", ">"})
NOTHING = "(?!)"  # the alternation of an empty list matches nothing
LOOK_BACK_CHARS = 80  # how far before a payee phrase its name words are looked for


class CueNameRecognizer(EntityRecognizer):
    """Name words after an introducing phrase, before a payee phrase, as a speaker or subject."""

    def __init__(self, rules: NameCueRules, titles: list[str], lexicon: Lexicon) -> None:
        self.rules, self.lexicon = rules, lexicon
        word, words = NAME_WORD.pattern, rf"{NAME_WORD.pattern}(?: {NAME_WORD.pattern})*"
        title = rf"(?:(?i:{any_of(titles) or NOTHING})\.?[ \t]+)?"
        before, after = any_of(rules.before) or NOTHING, any_of(rules.after) or NOTHING
        self.after_cue = re.compile(
            rf"(?i:(?<![\w'])(?:{before}))[ \t]+{title}({words})(?![\w'\-])"
        )
        self.cue_after = re.compile(rf"(?i:(?<=\w)[ \t]*(?:{after}))(?!\w)")
        self.words_before = re.compile(rf"(?<![\w'\-])((?:{word} )*{word})$")
        self.speaker = re.compile(rf"^[ \t>]*({word}(?: {word})?)[ \t]*:", re.MULTILINE)
        # Called by name: "Helena, can I ...", "... don't go to town, Rayan!"
        self.vocative = re.compile(
            rf"(?:^|(?<=[.!?] ))({word}(?: {word})?),[ \t]|(?<=, )({word}(?: {word})?)[!?]",
            re.MULTILINE,
        )
        super().__init__(["PERSON"], name="CueNameRecognizer")

    def load(self) -> None:
        """Nothing to load: the cues come from the policy."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Every name next to a cue."""
        tokens: list[Any] = list(nlp_artifacts.tokens) if nlp_artifacts is not None else []
        nouns = frozenset(t.idx for t in tokens if t.pos_ in NOUN_TAGS)
        cued = self.after_cue.finditer(text)
        spans = [self._leading(m.group(1), m.start(1), nouns) for m in cued]
        spans += [self._before(text, m.start()) for m in self.cue_after.finditer(text)]
        spans += [self._whole(m.group(1), m.start(1)) for m in self.speaker.finditer(text)]
        spans += [
            self._whole(m.group(m.lastindex or 1), m.start(m.lastindex or 1))
            for m in self.vocative.finditer(text)
        ]
        spans += [(t.idx, t.idx + len(t.text)) for t in tokens if self._opens_clause(t)]
        score = self.rules.score
        return [RecognizerResult("PERSON", a, b, score) for a, b in filter(None, spans)]

    def is_name_word(self, word: str) -> bool:
        """A known first name or no English word (a possessive aside), and no common word."""
        return self.lexicon.is_name(word.removesuffix("'s"))

    def _leading(self, words: str, start: int, nouns: frozenset[int]) -> tuple[int, int] | None:
        """The name at the start of a run of words: then nouns too ("emma tyndall", not "wants")."""
        taken: list[str] = []
        for word in words.split(" ")[: self.rules.max_words]:
            at = start + len(" ".join(taken)) + (1 if taken else 0)
            noun = bool(taken) and at in nouns and word.lower() not in self.lexicon.common
            if not (noun or self._may_take(word)):
                break
            taken.append(word)
        return (start, start + len(" ".join(taken))) if self._holds_name(taken) else None

    def _before(self, text: str, end: int) -> tuple[int, int] | None:
        """The name words right before a payee phrase (looked for in a bounded stretch)."""
        floor = max(0, end - LOOK_BACK_CHARS)
        run = self.words_before.search(text, floor, end)
        return self._trailing(run.group(1), run.start(1)) if run else None

    def _trailing(self, words: str, start: int) -> tuple[int, int] | None:
        """The name at the end of a run of words (at most max_words)."""
        last = reversed(words.split(" ")[-self.rules.max_words :])
        taken = list(takewhile(self._may_take, last))
        end = start + len(words)
        return (end - len(" ".join(taken)), end) if self._holds_name(taken) else None

    def _may_take(self, word: str) -> bool:
        """A name word, or a capitalised word that may belong to one ("Calan Stevenson")."""
        return self.lexicon.listable(word.removesuffix("'s"))

    def _holds_name(self, words: list[str]) -> bool:
        """At least one of the words is a name word ("said Tuesday" holds none)."""
        return any(map(self.is_name_word, words))

    def _opens_clause(self, token: Any) -> bool:
        """A name word opening a sentence or clause before its verb ("Joel spent a year",
        "... that dresdner was influenced", "but Campbell just has to")."""
        doc, i = token.doc, token.i
        opens = i == 0 or doc[i - 1].text in SENTENCE_ENDS or doc[i - 1].pos_ in CONJUNCTIONS
        after = [t.pos_ for t in doc[i + 1 : i + 3]]
        verb = after[:1] in (["VERB"], ["AUX"]) or after in (["ADV", "VERB"], ["ADV", "AUX"])
        return opens and verb and token.pos_ in NOUN_TAGS and self.is_name_word(token.text)

    def _whole(self, words: str, start: int) -> tuple[int, int] | None:
        """The words only if each of them is a name word (a speaker's label)."""
        ok = all(self.is_name_word(w) for w in words.split(" "))
        return (start, start + len(words)) if ok else None

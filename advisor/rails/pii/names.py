"""People the small NER model misses: a gazetteer first name in a person context."""

from __future__ import annotations

import re

from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from advisor.rails.pii.gazetteer import Gazetteer, fold_name
from advisor.rails.pii.policy import PersonNames

TOKEN = re.compile(r"[^\W\d_][\w'\-]*")
SCORE = 0.6
MAX_WORDS = 5
# Cues strong enough to take a name that is also an English word ("pay sarah $20").
STRONG = frozenset({"pay", "paid", "send", "sent", "owe", "owes", "thank", "thanks", "dear",
                    "hi", "hey", "named", "called"})  # fmt: skip


class GazetteerPersonRecognizer(EntityRecognizer):
    """Known first names (folded) with the name words after them, only in a person context.

    Capitalised: a name that is not an English word, or any name in a full name ("Ana Lucia
    Torres") or after a cue. Lower-case: after a cue ("for marek"), and a name that is also an
    English word only after a strong cue ("pay sarah").
    """

    def __init__(self, rules: PersonNames, gazetteer: Gazetteer, allowed: frozenset[str]) -> None:
        self.names, self.words = gazetteer
        self.cues, self.allowed = frozenset(rules.cues), allowed
        self.particles = frozenset(rules.particles)
        self.after = tuple(f" {a}" for a in rules.after)
        super().__init__(["PERSON"], name="GazetteerPersonRecognizer")

    def load(self) -> None:
        """Nothing to load: the gazetteer is given to the constructor."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Every accepted name span."""
        tokens, results, i = list(TOKEN.finditer(text)), [], 0
        doc = nlp_artifacts.tokens if nlp_artifacts is not None else None
        proper = {t.idx for t in doc if t.pos_ in ("PROPN", "X")} if doc is not None else set()
        while i < len(tokens):
            end = self._name_end(text, tokens, i, proper)
            if end > i:
                start, stop = tokens[i].start(), tokens[end - 1].end()
                results.append(RecognizerResult("PERSON", start, stop, SCORE))
            i = max(end, i + 1)
        return results

    def _key(self, token: re.Match[str]) -> str:
        """The folded token without a possessive."""
        return fold_name(token.group()).removesuffix("'s")

    def _name_end(self, text: str, tokens: list[re.Match[str]], i: int, proper: set[int]) -> int:
        """The token index after the name starting at token i, or i when there is none."""
        key, word = self._key(tokens[i]), tokens[i].group()
        if key not in self.names or key in self.allowed or word.isupper():
            return i
        prev = self._key(tokens[i - 1]) if i and _adjacent(text, tokens[i - 1], tokens[i]) else ""
        cased, common = word[0].isupper(), key in self.words
        end = self._extend(text, tokens, i, cased, proper)
        after = text[tokens[end - 1].end() :].lower().startswith(self.after)
        if cased:
            ok = not common or prev in self.cues or end - i > 1 or after
        else:
            first = i == 0 or "\n" in text[tokens[i - 1].end() : tokens[i].start()]
            ok = prev in STRONG or (not common and (prev in self.cues or (first and end - i > 1)))
        return end if ok else i

    def _particle_leads(self, text: str, tokens: list[re.Match[str]], j: int) -> bool:
        """Particles at j lead to a capitalised name word ("van den Bergh")."""
        k = j
        while k < len(tokens) and self._key(tokens[k]) in self.particles:
            if k + 1 >= len(tokens) or not _adjacent(text, tokens[k], tokens[k + 1]):
                return False
            k += 1
        return k < len(tokens) and tokens[k].group()[0].isupper()

    def _extend(
        self, text: str, tokens: list[re.Match[str]], i: int, cased: bool, proper: set[int]
    ) -> int:
        """Take the name words after a first name: capitalised, or lower-case proper nouns."""
        j = i + 1
        while j < len(tokens) and j - i < MAX_WORDS and _adjacent(text, tokens[j - 1], tokens[j]):
            word, key = tokens[j].group(), self._key(tokens[j])
            if key in self.allowed or word.isupper():
                break
            fits = word[0].isupper() if cased else tokens[j].start() in proper
            if cased and key in self.particles and self._particle_leads(text, tokens, j):
                fits = True
            if not fits or (not cased and key in self.cues):
                break
            j += 1
        return j


def _adjacent(text: str, left: re.Match[str], right: re.Match[str]) -> bool:
    """Only a single space between two tokens."""
    return text[left.end() : right.start()] == " "

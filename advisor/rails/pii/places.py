"""Place names taken for people: "What's the capital of Peru?" holds no personal data.

The small NER model, the unknown-word rule and the learned tagger all read a capitalised word
no dictionary knows as a name, and "Peru" is one. A PERSON span that is nothing but a place of
guardrails/place_names.yaml is let through unless the words around it announce a person ("Mr
Jordan", "my son Jordan", "thanks Georgia", "Jordan's name", "can Chile use my card"). A place
that is also a name (listed in `also_names`, or a name of person_names.txt or the policy's
`not_names`: "Georgia", "Santiago", "Milan") only right after strong place words ("the capital
of Georgia", "I moved to Santiago"), never after a bare "in" or "from". A place with more name
words ("Peru Smith", "Georgia Brown") is never let through. When unsure, the name is redacted.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from advisor.rails.pii.gazetteer import fold_name, load_names
from advisor.rails.pii.policy import PiiPolicy, validate_policy
from advisor.rails.pii.recognizers import any_of

PLACES_FILE = "place_names.yaml"
LOOK_BACK_CHARS = 40  # how far before a place its announcing words are looked for
EDGES = " \t.,;:!?\"'()"
# Words right before a name that make it a person's (names.py's strong cues).
PERSON_BEFORE = ["pay", "paid", "send", "sent", "owe", "owes", "thank", "thanks", "dear", "hi",
                 "hey", "named", "called"]  # fmt: skip


class PlaceNames(BaseModel):
    """The place lists: every one is no person alone; names only after `strong_place_words`."""

    countries: list[str]
    us_states: list[str]
    cities: list[str]
    also_names: list[str]
    place_words: list[str]
    # Place words that hold for a place that is also a name ("capital of", not a bare "in").
    strong_place_words: list[str] = []
    # Words right before a place that make it a person's ("can Chile use", "from Brazil").
    person_before: list[str] = []
    # Things after a possessive that make it a person's ("Chelsea's name", "Peru's account").
    person_possessions: list[str] = []
    # Phrases after a name that the policy takes for a person's but that follow a place too.
    not_person_after: list[str] = []

    @classmethod
    def load(cls, policy_dir: Path) -> PlaceNames:
        """Read place_names.yaml from the policy directory."""
        return validate_policy(cls, policy_dir / PLACES_FILE)


def place_key(text: str) -> str:
    """A span or a listed place as compared: folded, lower-case, single spaces, no possessive."""
    words = fold_name(text).replace("\u2019", "'").strip(EDGES).split()
    return " ".join(words).removesuffix("'s").strip(EDGES)


class PlaceFilter:
    """Tells a PERSON span that is only a place (and no announced person) from a name."""

    def __init__(
        self, places: PlaceNames, policy: PiiPolicy, names: frozenset[str] = frozenset()
    ) -> None:
        listed = [*places.countries, *places.us_states, *places.cities]
        keys = frozenset(place_key(p) for p in listed)
        known = names | {place_key(n) for n in policy.person_names.not_names}
        self.ambiguous = frozenset(place_key(p) for p in places.also_names) | (keys & known)
        self.places = keys - self.ambiguous
        longer = [p for p in listed if " " in p.strip()]  # "District of Columbia"
        self.multi_word = re.compile(rf"(?<!\w)(?:{any_of(longer) or '(?!)'})(?!\w)", re.I)
        person = [*PERSON_BEFORE, *policy.name_cues.before, *policy.person_names.titles]
        self.person_before = _ending(person)
        self.place_before = _ending([*places.place_words, *places.strong_place_words])
        self.strong_place_before = _ending(places.strong_place_words)
        self.weak_person_before = _ending(places.person_before)
        owned = any_of(places.person_possessions) or "(?!)"
        self.possession = re.compile(rf"\s*(?:{owned})(?!\w)", re.IGNORECASE)
        not_after = {place_key(p) for p in places.not_person_after}
        after = [a for a in [*policy.name_cues.after, *policy.person_names.after]
                 if place_key(a) not in not_after]  # fmt: skip
        self.person_after = re.compile(rf"\s*(?:{any_of(after) or '(?!)'})(?!\w)", re.IGNORECASE)

    @classmethod
    def from_policy_dir(cls, policy_dir: Path, policy: PiiPolicy) -> PlaceFilter:
        """The filter of the shipped (or a given) policy directory, names from its gazetteer."""
        return cls(PlaceNames.load(policy_dir), policy, load_names(policy_dir)[0])

    def only_a_place(self, text: str, start: int, end: int) -> bool:
        """Whether text[start:end] is a place and nothing around it announces a person."""
        key = place_key(text[start:end])
        inside = self._inside_a_longer_place(text, start, end)
        if key not in self.places and key not in self.ambiguous and not inside:
            return False
        before = text[max(0, start - LOOK_BACK_CHARS) : start]
        if self._announces_a_person(text, before, start, end):
            return False
        if key in self.ambiguous and not inside:
            return self.strong_place_before.search(before) is not None
        if self.place_before.search(before):
            return True
        return self.weak_person_before.search(before) is None

    def _announces_a_person(self, text: str, before: str, start: int, end: int) -> bool:
        """A person cue before the span, a person's phrase after it, or "X's name"."""
        if self.person_before.search(before) or self.person_after.match(text, end):
            return True
        span = text[start:end].replace("\u2019", "'")
        owner = span.endswith("'s") or re.match(r"['\u2019]s\b", text[end:]) is not None
        tail = end + (0 if span.endswith("'s") else 2)
        return owner and self.possession.match(text, tail) is not None

    def _inside_a_longer_place(self, text: str, start: int, end: int) -> bool:
        """The span lies within a listed place of several words ("Bosnia and Herzegovina")."""
        window = max(0, start - LOOK_BACK_CHARS), min(len(text), end + LOOK_BACK_CHARS)
        found = self.multi_word.finditer(text, *window)
        return any(m.start() <= start and end <= m.end() for m in found)


def _ending(phrases: list[str]) -> re.Pattern[str]:
    """A regex for any of the phrases as the last words before a span."""
    return re.compile(rf"(?<![\w'])(?:{any_of(phrases) or '(?!)'})\.?[ \t]+$", re.IGNORECASE)

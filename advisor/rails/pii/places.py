"""Place names taken for people: "What's the capital of Peru?" holds no personal data.

The small NER model, the unknown-word rule and the learned tagger all read a capitalised word
no dictionary knows as a name, and "Peru" is one. A PERSON span that is nothing but a place of
guardrails/place_names.yaml is let through unless the words around it announce a person ("Mr
Jordan", "my son Jordan", "thanks Georgia", "Jordan's account"); a place that is also a common
name ("Georgia", "Austin") only right after words naming a place ("the capital of Georgia").
A place with more name words ("Peru Smith", "Georgia Brown") is never let through.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from advisor.rails.pii.gazetteer import fold_name
from advisor.rails.pii.policy import PiiPolicy, validate_policy
from advisor.rails.pii.recognizers import any_of

PLACES_FILE = "place_names.yaml"
LOOK_BACK_CHARS = 40  # how far before a place its announcing words are looked for
EDGES = " \t.,;:!?\"'()"
# Words right before a name that make it a person's (names.py's strong cues).
PERSON_BEFORE = ["pay", "paid", "send", "sent", "owe", "owes", "thank", "thanks", "dear", "hi",
                 "hey", "named", "called"]  # fmt: skip


class PlaceNames(BaseModel):
    """The place lists: every one is no person alone; `also_names` only after `place_words`."""

    countries: list[str]
    us_states: list[str]
    cities: list[str]
    also_names: list[str]
    place_words: list[str]
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

    def __init__(self, places: PlaceNames, policy: PiiPolicy) -> None:
        self.ambiguous = frozenset(place_key(p) for p in places.also_names)
        listed = [*places.countries, *places.us_states, *places.cities]
        self.places = frozenset(place_key(p) for p in listed) - self.ambiguous
        longer = [p for p in listed if " " in p.strip()]  # "District of Columbia"
        self.multi_word = re.compile(rf"(?<!\w)(?:{any_of(longer) or '(?!)'})(?!\w)", re.I)
        person = [*PERSON_BEFORE, *policy.name_cues.before, *policy.person_names.titles]
        self.person_before = _ending(person)
        self.place_before = _ending(places.place_words)
        not_after = {place_key(p) for p in places.not_person_after}
        after = [a for a in [*policy.name_cues.after, *policy.person_names.after]
                 if place_key(a) not in not_after]  # fmt: skip
        self.person_after = re.compile(rf"\s*(?:{any_of(after) or '(?!)'})(?!\w)", re.IGNORECASE)

    @classmethod
    def from_policy_dir(cls, policy_dir: Path, policy: PiiPolicy) -> PlaceFilter:
        """The filter of the shipped (or a given) policy directory."""
        return cls(PlaceNames.load(policy_dir), policy)

    def only_a_place(self, text: str, start: int, end: int) -> bool:
        """Whether text[start:end] is a place and nothing around it announces a person."""
        key = place_key(text[start:end])
        inside = self._inside_a_longer_place(text, start, end)
        if key not in self.places and key not in self.ambiguous and not inside:
            return False
        before = text[max(0, start - LOOK_BACK_CHARS) : start]
        if self.person_before.search(before) or self.person_after.match(text, end):
            return False
        return key in self.places or inside or self.place_before.search(before) is not None

    def _inside_a_longer_place(self, text: str, start: int, end: int) -> bool:
        """The span lies within a listed place of several words ("Bosnia and Herzegovina")."""
        window = max(0, start - LOOK_BACK_CHARS), min(len(text), end + LOOK_BACK_CHARS)
        found = self.multi_word.finditer(text, *window)
        return any(m.start() <= start and end <= m.end() for m in found)


def _ending(phrases: list[str]) -> re.Pattern[str]:
    """A regex for any of the phrases as the last words before a span."""
    return re.compile(rf"(?<![\w'])(?:{any_of(phrases) or '(?!)'})\.?[ \t]+$", re.IGNORECASE)

"""Postcodes that follow a street line ("9 Rue de Rivoli, 75004 Paris", "..., Austin, TX 78704")."""

from __future__ import annotations

import re

from presidio_analyzer import RecognizerResult

from advisor.rails.pii.policy import ZipRules
from advisor.rails.pii.recognizers import any_of
from advisor.rails.pii.spans import with_bounds

# Where an address sentence ends: ! ? ; after a word (not a "???" bullet), or a full stop
# after a word (not "Apt." or "St.").
SENTENCE_END = re.compile(r"(?<=\w)[!?;]|(?<=[^\W\d]{4})\.(?:\s|$)")
BLOCK_CHARS = 60
# What may sit between a street and its postcode, or end its line: capitalised place names,
# state codes, units and numbers ("#7, Austin, Texas", "\nErwetegem\n, VOV\n Serbia").
PARTICLE = r"(?:of|the|and|de|da|do|del|la|le|di|du|nad|upon|on|am|an|im|sur|en)"
# Each word is taken atomically: a run like "AAAA…" or "1111…" is never re-split (backtracking).
LOCALITY = re.compile(
    rf"(?:(?>[ \t.,]*(?:[A-Z][\w'\-]*\.?|#?\d{{1,5}}[a-zA-Z]?|{PARTICLE}(?=[ \t]+[A-Z]))))+"
    r"[ \t.,]*"
)
LINE_END = re.compile(r"[ \t]*(?:\n|$)")
# Town, region and country lines under a street ("\n Apt. 252\n Kruså\n Georgia").
TOWN_LINE = re.compile(rf"[ \t.,]*\n(?=[^\n]{{1,40}}(?:\n|$))(?:{LOCALITY.pattern})(?=\n|$)")
MAX_TOWN_LINES = 3
# House numbers written before the street name ("85 Kongshøj Allé 70", "21 170 London Place").
HOUSE_NUMBERS = re.compile(r"(?<![\w.,\-])(?:\d{1,5}[a-zA-Z]?[ \t]+){1,2}$")


class PostcodeFollower:
    """Finds the postcode after each street line; a multi-line block joins the street span."""

    def __init__(self, rules: ZipRules) -> None:
        self.patterns = [(re.compile(r.regex), r.score) for r in rules.postcodes]
        self.reach = rules.follow_chars

    def candidates(self, text: str, found: list[RecognizerResult]) -> list[RecognizerResult]:
        """A ZIP_CODE candidate after each street candidate (overlaps are settled later)."""
        streets = [r for r in found if r.entity_type == "STREET_ADDRESS"]
        taken = [r for r in found if r.entity_type != "PERSON"]  # spaCy reads "Leeds LS1" as one
        zips = (self._postcode(text, street.end, taken) for street in streets)
        return [z for z in zips if z is not None]

    @staticmethod
    def join_blocks(text: str, chosen: list[RecognizerResult]) -> list[RecognizerResult]:
        """Extend a street over its town lines: up to its postcode, or to the end of its line.

        A town the NER model took for a person ("..., Monte Gil, Canada") joins the street.
        """
        ordered = sorted((r for r in chosen if r.entity_type != "PERSON"), key=lambda r: r.start)
        for i, street in enumerate(ordered):
            if street.entity_type == "STREET_ADDRESS":
                after = ordered[i + 1] if i + 1 < len(ordered) else None
                street.end += _town_length(text, street.end, after)
        streets = [r for r in ordered if r.entity_type == "STREET_ADDRESS"]
        kept = []
        for r in chosen:
            hit = [s for s in streets if r.entity_type == "PERSON" and _overlap(s, r)]
            for street in hit:
                street.start, street.end = min(street.start, r.start), max(street.end, r.end)
            if not hit:
                kept.append(r)
        return kept

    def _postcode(
        self, text: str, begin: int, taken: list[RecognizerResult]
    ) -> RecognizerResult | None:
        """The first free postcode-shaped token before the sentence ends, if any."""
        window = text[begin : begin + self.reach]
        cut = SENTENCE_END.search(window)
        window = window[: cut.start()] if cut else window
        hits = [
            RecognizerResult("ZIP_CODE", begin + m.start(), begin + m.end(), score)
            for pattern, score in self.patterns
            for m in pattern.finditer(window)
        ]
        free = [h for h in hits if all(_apart(t, h.start, h.end) for t in taken)]
        return min(free, key=lambda h: h.start) if free else None


def _apart(result: RecognizerResult, start: int, end: int) -> bool:
    """The result does not overlap [start, end)."""
    return result.end <= start or result.start >= end


def _town_length(text: str, start: int, after: RecognizerResult | None) -> int:
    """How far the street's town part reaches: to its postcode, or over its town lines."""
    if after is not None and after.entity_type == "ZIP_CODE":
        between = text[start : after.start]
        if len(between) <= BLOCK_CHARS and ("\n" in between or LOCALITY.fullmatch(between)):
            return len(between.rstrip(" \t\n,"))
    town = LOCALITY.match(text, start, after.start if after is not None else len(text))
    if town is None:
        at_line_end = LINE_END.match(text, start) is not None
        return _town_lines_end(text, start, after) - start if at_line_end else 0
    listed = town.group().lstrip().startswith(",") and text[town.end() : town.end() + 1].islower()
    if listed:  # ", Monte Gil, Canada for post mail"
        return len(town.group().rstrip(" \t\n.,"))
    if LINE_END.match(text, town.end()):
        return _town_lines_end(text, town.end(), after) - start
    return 0


def _town_lines_end(text: str, end: int, after: RecognizerResult | None) -> int:
    """Where the street's block ends: its line, then up to three short town or country lines."""
    end = len(text[:end].rstrip(" \t\n.,"))
    limit = after.start if after is not None else len(text)
    for _ in range(MAX_TOWN_LINES):
        line = TOWN_LINE.match(text, end, limit)
        if line is None:
            break
        end = len(text[: line.end()].rstrip(" \t\n.,"))
    return end


def take_house_numbers(text: str, chosen: list[RecognizerResult]) -> None:
    """A street starts at the house numbers written before it, if nothing else holds them."""
    for street, floor, _ in with_bounds(chosen, len(text)):
        if street.entity_type != "STREET_ADDRESS":
            continue
        numbers = HOUSE_NUMBERS.search(text, floor, street.start)
        if numbers is not None:
            street.start = numbers.start()


def _overlap(a: RecognizerResult, b: RecognizerResult) -> bool:
    """The two spans share a character."""
    return a.start < b.end and b.start < a.end


class UnitTowns:
    """The town, region and country written after a unit on the street's line ("... Apt. 837
    Bydgoszcz Poland", "... suite 574, grundbach, bulgaria 46027"), up to the sentence's end."""

    def __init__(self, units: list[str], ordinary: list[str]) -> None:
        self.unit_end = re.compile(rf"(?i:\b(?:{any_of(units)}))\.?\s*#?\s*\d{{1,5}}[a-zA-Z]?$")
        stop = any_of(ordinary)
        word = rf"(?!(?i:{stop})\b)[^\W\d_][\w'.\-]*"
        ends = rf"[ \t]*(?:[.?!;:\n]|$)|[ \t]+(?i:{stop})\b|,?[ \t]+\d"  # a sentence, a word, a ZIP
        self.towns = re.compile(rf"(?:,?[ \t]+{word}){{1,6}}(?:,?[ \t]+\d{{5}})?(?={ends})")

    def extend(self, text: str, chosen: list[RecognizerResult]) -> None:
        """Widen each street that ends with a unit over the town words after it (a person
        found there joins the street in `join_blocks`)."""
        places = [r for r in chosen if r.entity_type != "PERSON"]  # a town taken for a person
        for street, _, limit in with_bounds(places, len(text)):
            if street.entity_type != "STREET_ADDRESS":
                continue
            if self.unit_end.search(text, street.start, street.end) is None:
                continue
            town = self.towns.match(text, street.end, limit)
            if town is not None:
                street.end = len(text[: town.end()].rstrip(" \t.,"))

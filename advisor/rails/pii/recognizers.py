"""Banking recognizers Presidio lacks, built from the policy's vocabulary (rules as data)."""

from __future__ import annotations

import re

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer

from advisor.rails.pii.gazetteer import Gazetteer
from advisor.rails.pii.id_recognizers import (
    CaseFoldIbanRecognizer,
    CueIdRecognizer,
    LoosePhoneRecognizer,
    broad_card_recognizer,
)
from advisor.rails.pii.names import GazetteerPersonRecognizer
from advisor.rails.pii.policy import PiiPolicy, StreetRules

CASED = re.MULTILINE  # capitalisation carries meaning for names and state codes
NAME = r"[A-Z][a-z'\-]+(?:\s+[A-Z][a-z'\-]+){0,2}"
MILITARY = r"(?:USNS|USNV|USS|USCGC)\s+[^\W\d_][\w'\-]*|(?:PSC|Unit)\s+\d{4},?\s+Box\s+\d{4}"
# Postcodes that close an address block: US ZIP(+4), UK, Dutch, Czech/Slovak/Greek, Polish.
BLOCK_POSTCODE = (
    r"\d{5}(?:-\d{4})?|[A-Za-z]{1,2}\d[A-Za-z\d]?\s?\d[A-Za-z]{2}|\d{4}\s?[A-Za-z]{2}"
    r"|\d{3}\s\d{2}|\d{2}-\d{3}"
)

# A short street line over a "postcode town" line, the continental way ("ul. Sowia 84\n94-969
# Racibórz", "Rotonda Munari, 22\n98077, Santo Stefano (ME)", "Marapad 412\n3041JX\nBierum").
HOUSE = r"\d{1,5}[a-zA-Z]?(?:[/\-]\d{1,4}[a-zA-Z]?)?"  # "31/56", "7-3", "17a"


def _town_block(rules: StreetRules) -> str:
    """A street line's last words (no ordinary words) over a postcode and its town."""
    stop = rf"(?i:{any_of(rules.not_street_words)})\b"
    word = rf"(?!{stop})[^\W\d_][\w'.\-]*"
    town_word = rf"(?:{word}|\([A-Za-z]{{2}}\))"
    town = rf"{town_word}(?:[ \t]+{town_word}){{0,5}}(?=[ \t]*(?:[.?!,;:]|$)|[ \t]+{stop})"
    street = rf"(?:\d{{1,5}}[a-zA-Z]?,?[ \t]+)?(?:{word}[ \t,]+){{0,4}}{word}"
    number = rf"(?:,?[ \t]+{HOUSE}(?:[ \t]+{word}[ \t]+\d{{1,3}})?)?"  # "3 piano 3"
    after = rf"[ \t>]*(?:{BLOCK_POSTCODE})(?:,?[ \t]+|[ \t]*\n[ \t>]*){town}"
    return rf"(?<![\w'.\-]){street}{number}[ \t]*\n{after}"


def any_of(words: list[str]) -> str:
    """A regex alternation of literal words, longest first."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _street_patterns(rules: StreetRules) -> list[Pattern]:
    """US forms, continental forms, PO boxes and address lines, from the policy's words."""
    stop = rf"(?!(?:{any_of(rules.not_street_words)})\b)"
    units, suffixes = any_of(rules.units), any_of([*rules.suffixes, *rules.more_suffixes])
    # Capitalised entries match only capitalised ("Via Roma 5", not "pay via Zelle 50").
    first = "|".join(
        w if w.islower() else f"(?-i:{w})" for w in any_of(rules.name_first).split("|")
    )
    fused, prefixes = any_of(rules.fused_suffixes), any_of(rules.prefixes)
    unit = rf"(?:,?\s+(?:(?:{units})\.?\s*#?|#)\s*\w{{1,6}})?"
    house, word = r"\b\d{1,6}[a-z]?,?", r"[^\W\d_][\w'.\-]*"
    words = rf"(?:(?:{word}|\d{{1,3}}(?:st|nd|rd|th))\s+){{1,4}}"
    name = r"(?:[^\W\d_][\w'\-]*\s?){1,4}"
    number = rf"\d{{1,4}}[a-z]?\b(?![.,]\d){unit}"
    line_words = rf"(?:{stop}{word}[ \t]+){{1,3}}"
    lead = rf"(?:{stop}[^\W\d_][\w'\-]*[ \t])?"  # "Korte Noordsstraat 307"
    crossing = r"[^\n,;!?]{2,60}?\s(?:and|&)\s(?:[^\W\d_][\w'\-.]*\s){1,3}"
    return [
        Pattern("number street suffix", rf"{house}\s+{words}(?:{suffixes})\b\.?{unit}", 0.65),
        Pattern("fused suffix number", rf"\b{lead}\w*(?:{fused})\s+\d{{1,5}}\w?\b{unit}", 0.6),
        Pattern("prefix street", rf"{house}\s+(?:{prefixes})\s+{name}", 0.6),
        Pattern("type name number", rf"(?<!\w)(?:{first})\s+{name},?\s+{number}", 0.6),
        Pattern("unit", rf"\b(?:{units})\.?\s*#?\s*\d{{1,5}}[a-z]?\b", 0.5),
        Pattern("po box", r"\bp\.?\s?o\.?\s?box\s+\d{1,7}\b", 0.7),
        # A crossing: "the corner of 5th Avenue and Main Street", "corner of Auenweg 85 and
        # Kesä Street" (the second street ends in a street type).
        Pattern("street crossing", rf"\b{CROSSING_HEAD.pattern}{crossing}(?:{suffixes})\b", 0.7),
        # US military mail: "USNS Vestergaard\nFPO AA 08331", "PSC 1234, Box 5678\nAPO AE 09012".
        Pattern("military mail", rf"\b(?:{MILITARY})\s*\n?\s*[ADF]PO\s+A[AEP]\s+\d{{5}}\b", 0.7),
        # A line of its own: "11 Školní 939" (house number, street, number).
        Pattern("address line", rf"^[ \t]*\d{{1,4}}[ \t]+{line_words}{number}", 0.5),
        # "Jakobi 69": only with address words before it (context lifts it over the threshold).
        Pattern("name number (context)", rf"\b(?:{stop}{word}[ \t]){{1,3}}{number}", 0.15),
    ]


class StreetAddressRecognizer(PatternRecognizer):
    """House number plus street name and suffix ("1234 Elm Street, Apt 5"), EU forms too."""

    def __init__(self, rules: StreetRules) -> None:
        self.not_street = {w.lower() for w in rules.not_street_words}
        super().__init__(
            "STREET_ADDRESS", name="StreetAddressRecognizer", patterns=_street_patterns(rules),
            context=rules.context,
        )  # fmt: skip

    def invalidate_result(self, pattern_text: str) -> bool:
        """Reject a match whose would-be street name is ordinary words ("2 cards on my way");
        a crossing's two streets are judged one by one."""
        text = pattern_text.lower()
        crossing = CROSSING_HEAD.match(text)
        if crossing is None:
            return self._ordinary(text)
        return any(map(self._ordinary, CROSSING_AND.split(text[crossing.end() :], maxsplit=1)))

    def _ordinary(self, street: str) -> bool:
        """Whether one street's name words include an ordinary word."""
        words = re.findall(r"(?<!\w)[^\W\d_]+", street)  # not the "a" of house number "17a"
        named = words if re.search(r"\d\W*$", street) else words[:-1]
        return any(w in self.not_street for w in named)


CROSSING_HEAD = re.compile(r"(?:the\s+)?corner\s+of\s+")
CROSSING_AND = re.compile(r"\s(?:and|&)\s")


class AddressBlockRecognizer(PatternRecognizer):
    """A multi-line address: a house-number line, up to three short lines, then a postcode."""

    def __init__(self, rules: StreetRules) -> None:
        self.not_street = {w.lower() for w in rules.not_street_words}
        line = r"[^\n?!]{0,40}"
        first = rf"(?<![\w\-])\d{{1,5}}[a-z]?(?:[ \t]+\d{{1,5}})?[ \t,]+[^\W\d_]{line}\n"
        last = rf"[ \t,]*(?:[^\n?!]{{0,30}}[ \t,])?(?:{BLOCK_POSTCODE})(?![\w\-]|[ \t]+\d)"
        patterns = [
            Pattern("address block", rf"{first}(?:{line}\n){{0,3}}{last}", 0.7),
            Pattern("street over postcode town", _town_block(rules), 1.0),
        ]
        super().__init__(
            "STREET_ADDRESS", name="AddressBlockRecognizer", patterns=patterns,
            global_regex_flags=CASED,
        )  # fmt: skip

    def invalidate_result(self, pattern_text: str) -> bool:
        """Reject a block whose first line is ordinary words ("2 cards on my way\n...")."""
        first = pattern_text.split("\n", 1)[0].lower()
        return any(w in self.not_street for w in re.findall(r"(?<!\w)[^\W\d_]+", first))


class UsZipRecognizer(PatternRecognizer):
    """ZIP and ZIP+4 after a state code (strong) or near address words (context)."""

    def __init__(self, rules: StreetRules, context: list[str]) -> None:
        states = "|".join(rules.us_states)
        patterns = [
            Pattern("state zip", rf"(?<=\b(?:{states})\s)\d{{5}}(?:-\d{{4}})?\b", 0.7),
            Pattern("zip+4", r"\b\d{5}-\d{4}\b", 0.4),
            Pattern("zip (needs context)", r"\b\d{5}\b", 0.05),
        ]
        super().__init__(
            "ZIP_CODE", name="UsZipRecognizer", patterns=patterns, context=context,
            global_regex_flags=CASED,
        )  # fmt: skip


class PersonCueRecognizer(PatternRecognizer):
    """A name right after a title or an introducing phrase ("ms. Wijtze", "my name is Ana")."""

    def __init__(self, policy: PiiPolicy) -> None:
        cues = policy.person_cues
        titles, phrases = any_of(cues.titles), any_of(cues.phrases)
        first = r"(?i:[a-z][a-z'\-]+)"
        patterns = [
            Pattern("title name", rf"(?<=(?i:\b(?:{titles}))\.?\s+){first}(?:\s+{NAME})?", 0.7),
            Pattern("cue name", rf"(?<=(?i:\b(?:{phrases}))\s+){NAME}", 0.6),
        ]
        super().__init__(
            "PERSON", name="PersonCueRecognizer", patterns=patterns, global_regex_flags=CASED
        )


def banking_recognizers(policy: PiiPolicy, gazetteer: Gazetteer) -> list[EntityRecognizer]:
    """Every custom recognizer of the policy."""
    return [
        StreetAddressRecognizer(policy.street_address),
        AddressBlockRecognizer(policy.street_address),
        UsZipRecognizer(policy.street_address, policy.zip_code.context),
        PersonCueRecognizer(policy),
        GazetteerPersonRecognizer(policy.person_names, gazetteer, policy.allowed),
        broad_card_recognizer(policy.card_patterns),
        CaseFoldIbanRecognizer(),
        CueIdRecognizer("US_DRIVER_LICENSE", policy.driver_license),
        CueIdRecognizer("NATIONAL_ID", policy.national_id),
        LoosePhoneRecognizer(policy.phone),
    ]

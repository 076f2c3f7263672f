"""Number-shaped PII Presidio's predefined recognizers miss: cards, IBANs, licences, phones."""

from __future__ import annotations

import re

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer, IbanRecognizer

from advisor.rails.pii.policy import CueIdRules, PatternRule, PhoneRules

CASED = re.MULTILINE
ID_MIN_DIGITS = 5
EXTENSION = re.compile(r"\s?(?:x|ext\.?)\s?\d+$", re.IGNORECASE)
NOT_PHONE = (
    re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}"),  # ISO date
    re.compile(r"\d{1,2}[-./]\d{1,2}[-./]\d{2,4}"),  # day/month/year
    re.compile(r"\d{1,3}(?:\.\d{1,3}){3}"),  # IPv4
)
AMOUNT = re.compile(r"\d{1,3}(?:[ .,]\d{3})+")  # "792 601 815" or 1 250 000 won: needs context
AMOUNT_SCORE = 0.05
CUE_SCORE, CUE_BEFORE, CUE_AFTER = 0.5, 40, 12  # a phone word this close before/after
# Separators inside a card number that the Luhn check ignores ("4916.3385.0612.7744").
CARD_SEPARATORS = [("-", ""), (" ", ""), (".", "")]
# An IBAN's country code and check digits, then its parts (one space or hyphen between).
IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}")
IBAN_PART = re.compile(r"[ \-]?[A-Za-z0-9]+")
IBAN_MIN, IBAN_MAX = 15, 34  # characters without separators, over every country's format


def patterns(rules: list[PatternRule]) -> list[Pattern]:
    """Presidio patterns of the policy's pattern rules."""
    return [Pattern(r.name, r.regex, r.score) for r in rules]


def broad_card_recognizer(rules: list[PatternRule]) -> CreditCardRecognizer:
    """Presidio's card recognizer (Luhn check kept) with the policy's broader patterns."""
    return CreditCardRecognizer(
        patterns=patterns(rules), name="BroadCardRecognizer", replacement_pairs=CARD_SEPARATORS
    )


class CaseFoldIbanRecognizer(EntityRecognizer):
    """An IBAN typed in lower or mixed case ("gb82 west 1234 5698 7654 32"): its checksum and
    country format are checked on the upper-cased form. Upper-case ones are Presidio's."""

    def __init__(self) -> None:
        self.checker = IbanRecognizer()
        super().__init__(["IBAN_CODE"], name="CaseFoldIbanRecognizer")

    def load(self) -> None:
        """Nothing to load."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """The longest valid IBAN at each start that has a lower-case letter."""
        found = []
        for start in IBAN_START.finditer(text):
            end = self._valid_end(text, start.start())
            if end is not None:
                found.append(RecognizerResult("IBAN_CODE", start.start(), end, self.MAX_SCORE))
        return found

    def _valid_end(self, text: str, start: int) -> int | None:
        """Where the longest run of parts from start that is a valid IBAN ends, if any."""
        ends: list[tuple[int, int]] = []
        pos, size = start, 0
        while (part := IBAN_PART.match(text, pos)) is not None and size <= IBAN_MAX:
            pos, size = part.end(), size + len(part.group().lstrip(" -"))
            ends.append((pos, size))
        for end, length in reversed(ends):
            candidate = text[start:end]
            valid = IBAN_MIN <= length <= IBAN_MAX and candidate != candidate.upper()
            if valid and self.checker.validate_result(candidate.upper()) is True:
                return end
        return None


class CueIdRecognizer(PatternRecognizer):
    """An ID-shaped token within a few words after its cue ("driver's license", "my SSN is")."""

    def __init__(self, entity: str, rules: CueIdRules) -> None:
        cues = "|".join(re.escape(c) for c in sorted(rules.cues, key=len, reverse=True))
        lead = rf"(?<=(?i:\b(?:{cues})(?!\w))\W{{0,3}}(?:[^\W\d][\w']*\W{{1,3}}){{0,5}})"
        pattern = Pattern("cue id", rf"{lead}\b{rules.number}", 0.6)
        super().__init__(
            entity, name=f"CueIdRecognizer:{entity}", patterns=[pattern],
            global_regex_flags=CASED,
        )  # fmt: skip

    def invalidate_result(self, pattern_text: str) -> bool:
        """Too few digits for an ID number ("license expired 2 days ago")."""
        return sum(ch.isdigit() for ch in pattern_text) < ID_MIN_DIGITS


class LoosePhoneRecognizer(PatternRecognizer):
    """International numbers in digit groups ("21 212 133 2727", "+1-944-435-4352x04732")."""

    def __init__(self, rules: PhoneRules) -> None:
        self.min_digits, self.max_digits = rules.min_digits, rules.max_digits
        # Presidio's context check skips stop words ("call"): phone words are matched here.
        self.cue, self.strong = _words(rules.context), _words(rules.amount_context)
        super().__init__(
            "PHONE_NUMBER", name="LoosePhoneRecognizer", patterns=patterns(rules.patterns),
        )  # fmt: skip

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Matches; one shaped like an amount in thousands counts only with phone words."""
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for r in results:
            amount = AMOUNT.fullmatch(text[r.start : r.end]) is not None
            if amount:
                r.score = min(r.score, AMOUNT_SCORE)
            near = (
                f"{text[max(0, r.start - CUE_BEFORE) : r.start]} {text[r.end : r.end + CUE_AFTER]}"
            )
            if (self.strong if amount else self.cue).search(near):
                r.score = max(r.score, CUE_SCORE)
        return results

    def invalidate_result(self, pattern_text: str) -> bool:
        """Wrong digit count, or a date or an IP address rather than a phone number."""
        number = EXTENSION.sub("", pattern_text.strip())
        digits = sum(ch.isdigit() for ch in number)
        if not self.min_digits <= digits <= self.max_digits:
            return True
        prefixed = number.startswith(("+", "(", "00"))
        return not prefixed and any(p.fullmatch(number) for p in NOT_PHONE)


def _words(words: list[str]) -> re.Pattern[str]:
    """A case-insensitive regex of whole words."""
    return re.compile(rf"\b(?:{'|'.join(map(re.escape, words))})\b", re.IGNORECASE)

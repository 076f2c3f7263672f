"""Number-shaped PII Presidio's predefined recognizers miss: cards, licences, phones."""

from __future__ import annotations

import re

from presidio_analyzer import Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer

from advisor.rails.policy import DriverLicenseRules, PatternRule, PhoneRules

CASED = re.MULTILINE
LICENSE_MIN_DIGITS = 5
EXTENSION = re.compile(r"\s?(?:x|ext\.?)\s?\d+$", re.IGNORECASE)
NOT_PHONE = (
    re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}"),  # ISO date
    re.compile(r"\d{1,2}[-./]\d{1,2}[-./]\d{2,4}"),  # day/month/year
    re.compile(r"\d{1,3}(?:\.\d{1,3}){3}"),  # IPv4
    re.compile(r"\d{1,3}(?:[ .,]\d{3})+"),  # an amount in thousands
)


def patterns(rules: list[PatternRule]) -> list[Pattern]:
    """Presidio patterns of the policy's pattern rules."""
    return [Pattern(r.name, r.regex, r.score) for r in rules]


def broad_card_recognizer(rules: list[PatternRule]) -> CreditCardRecognizer:
    """Presidio's card recognizer (Luhn check kept) with the policy's broader patterns."""
    return CreditCardRecognizer(patterns=patterns(rules), name="BroadCardRecognizer")


class DriverLicenseCueRecognizer(PatternRecognizer):
    """An ID-shaped token within a few words after "driver's license", "DL#", "licence no"."""

    def __init__(self, rules: DriverLicenseRules) -> None:
        cues = "|".join(re.escape(c) for c in sorted(rules.cues, key=len, reverse=True))
        lead = rf"(?<=(?i:\b(?:{cues}))\W{{0,3}}(?:[^\W\d][\w']*\W{{1,3}}){{0,5}})"
        pattern = Pattern("cue licence", rf"{lead}\b{rules.number}", 0.6)
        super().__init__(
            "US_DRIVER_LICENSE", name="DriverLicenseCueRecognizer", patterns=[pattern],
            global_regex_flags=CASED,
        )  # fmt: skip

    def invalidate_result(self, pattern_text: str) -> bool:
        """Too few digits for a licence number ("license expired 2 days ago")."""
        return sum(ch.isdigit() for ch in pattern_text) < LICENSE_MIN_DIGITS


class LoosePhoneRecognizer(PatternRecognizer):
    """International numbers in digit groups ("21 212 133 2727", "+1-944-435-4352x04732")."""

    def __init__(self, rules: PhoneRules) -> None:
        self.min_digits, self.max_digits = rules.min_digits, rules.max_digits
        super().__init__(
            "PHONE_NUMBER", name="LoosePhoneRecognizer", patterns=patterns(rules.patterns),
            context=rules.context,
        )  # fmt: skip

    def invalidate_result(self, pattern_text: str) -> bool:
        """Wrong digit count, or a date, IP address or amount rather than a phone number."""
        number = EXTENSION.sub("", pattern_text.strip())
        digits = sum(ch.isdigit() for ch in number)
        if not self.min_digits <= digits <= self.max_digits:
            return True
        prefixed = number.startswith(("+", "(", "00"))
        return not prefixed and any(p.fullmatch(number) for p in NOT_PHONE)

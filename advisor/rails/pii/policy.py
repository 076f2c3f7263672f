"""The PII policy as data: guardrails/pii_policy.yaml, validated into typed objects."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from advisor.errors import AdvisorError

Model = TypeVar("Model", bound=BaseModel)


class PolicyError(AdvisorError):
    """A guardrails policy file is missing or malformed."""


class EntityRule(BaseModel):
    """How one entity type is redacted."""

    placeholder: str
    threshold: float
    priority: int = 1
    # What the customer sees where the placeholder is restored: the value, or only its last 4.
    restore: Literal["full", "last4"] = "full"


class PatternRule(BaseModel):
    """One regex of a recognizer, with the score of a match."""

    name: str
    regex: str
    score: float


class PersonCues(BaseModel):
    """Words that put the capitalised words after them in a person's context."""

    titles: list[str]
    phrases: list[str]


class StreetRules(BaseModel):
    """The vocabulary of street addresses."""

    suffixes: list[str]
    more_suffixes: list[str] = []
    fused_suffixes: list[str]
    name_first: list[str] = []
    prefixes: list[str]
    units: list[str]
    not_street_words: list[str]
    us_states: list[str]
    context: list[str]


class ZipRules(BaseModel):
    """Words that make a five-digit number a ZIP code; postcodes that follow a street."""

    context: list[str]
    postcodes: list[PatternRule]
    # How far after a street line a postcode still belongs to it ("..., Austin, TX 78704").
    follow_chars: int = 60


class PersonNames(BaseModel):
    """Where a gazetteer first name counts as a person (never on its own)."""

    # Lower-case words right before a lower-case name ("pay sarah", "for marek").
    cues: list[str]
    # Phrases right after a capitalised name ("Bui Van Duc as a payee").
    after: list[str]
    # Names that are also everyday words: left out of the generated gazetteer.
    not_names: list[str]
    # Lower-case parts inside a name ("Owen van den Bergh", "Genoveva del Pujol").
    particles: list[str] = []
    # Titles that belong to the name span ("Dr Joshua Gray", "Sig.ra Matilda Cusano").
    titles: list[str] = []


class UnknownNameRules(BaseModel):
    """Proper nouns that are no English word: which NER labels mean a name, which a place."""

    score: float
    name_labels: list[str]
    place_labels: list[str]
    # A lower-case unknown word right after these is a merchant or a place ("spent at nbag").
    place_words: list[str] = []
    # Words a name may grow by on either side when they are no English word ("kristin crnić").
    max_extra_words: int = 2


class LearnedNameRules(BaseModel):
    """The learned name tagger: its weights (relative to the policy dir) and when it speaks."""

    weights: str
    threshold: float
    score: float


class NameCueRules(BaseModel):
    """Phrases next to which a foreign word or a known first name is a person, in any case."""

    score: float
    max_words: int = 3
    # The name follows ("call me koppány", "my son tomasz").
    before: list[str]
    # The name precedes ("Topi Sainio's address", "Calan Stevenson as a beneficiary").
    after: list[str]


class CueIdRules(BaseModel):
    """Words that announce an ID number (a driver's licence, an SSN), and the number's shape."""

    cues: list[str]
    number: str


class PhoneRules(BaseModel):
    """International phone numbers Presidio's regional parser misses."""

    patterns: list[PatternRule]
    context: list[str]
    # Words that make a number shaped like an amount ("792 601 815") a phone number.
    amount_context: list[str]
    min_digits: int
    max_digits: int


class PiiPolicy(BaseModel):
    """Which entities are redacted, how, and what must survive."""

    entities: dict[str, EntityRule]
    nlp_disable: list[str] = []
    allow_words: dict[str, list[str]]
    person_cues: PersonCues
    street_address: StreetRules
    zip_code: ZipRules
    card_patterns: list[PatternRule]
    # Predefined recognizers whose own regex flags beat the global ones (IBAN is upper-case:
    # ignoring case lets "…1345 belongs" swallow a word and fail the checksum).
    own_regex_flags: dict[str, int]
    person_names: PersonNames
    unknown_names: UnknownNameRules
    name_cues: NameCueRules
    # None: names come from rules and the NER model only.
    learned_names: LearnedNameRules | None = None
    driver_license: CueIdRules
    national_id: CueIdRules
    phone: PhoneRules

    @property
    def allowed(self) -> frozenset[str]:
        """Every allow-listed word, lower-cased."""
        return frozenset(w.lower() for words in self.allow_words.values() for w in words)

    @classmethod
    def load(cls, policy_dir: Path) -> PiiPolicy:
        """Read pii_policy.yaml from the policy directory."""
        return validate_policy(cls, policy_dir / "pii_policy.yaml")


def read_yaml(path: Path) -> dict[str, object]:
    """A YAML mapping, or PolicyError saying what is wrong with the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"cannot read policy {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"policy {path} is not a mapping")
    return data


def validate_policy(model: type[Model], path: Path) -> Model:
    """Validate a policy file against a model, as PolicyError."""
    try:
        return model.model_validate(read_yaml(path))
    except ValidationError as exc:
        raise PolicyError(f"policy {path} is invalid: {exc}") from exc

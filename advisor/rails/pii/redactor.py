"""PII redaction: Presidio finds, the policy filters, the anonymizer swaps in pseudonyms."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

from presidio_analyzer import (
    AnalyzerEngine,
    AnalyzerEngineProvider,
    PatternRecognizer,
    RecognizerResult,
)
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig

from advisor.ops.tracing import traced
from advisor.rails.offline import keep_offline
from advisor.rails.pii.cue_names import CueNameRecognizer
from advisor.rails.pii.gazetteer import fold_name, load_names
from advisor.rails.pii.name_tagger import learned_recognizers
from advisor.rails.pii.places import PlaceFilter
from advisor.rails.pii.policy import PiiPolicy
from advisor.rails.pii.postcodes import PostcodeFollower, UnitTowns, take_house_numbers
from advisor.rails.pii.recognizers import banking_recognizers
from advisor.rails.pii.spans import choose, fold, join_names, outside_phone_numbers, trim, windows
from advisor.rails.pii.unknown_names import (
    Lexicon,
    UnknownNameRecognizer,
    addressee_names,
    grow_names,
    listed_names,
)
from advisor.rails.pii.vault import Vault
from advisor.settings import Settings

TITLE_CHARS = 12  # how far before a name its title may start
SHORT_ACRONYM = 5  # an all-caps PERSON this short is an acronym (ATM, EUR), not a name
PII_SHAPED = re.compile(r"[\w@.+\-']+")
# Digits in groups read as one value ("+1 555 0134 2290", "$1,250.00", "March 3, 2026").
DIGIT_RUN = re.compile(r"\+?\d(?:[\d.,/\-()]|[ ](?=[\d(]))*")
# Longer texts are analysed in pieces: Presidio's context scoring is quadratic in the length
# (a 94,000-character line took 23 s whole). A chat message is at most this long anyway.
WINDOW_CHARS = 2000
WINDOW_MARGIN = 300  # longer than any entity (an address block is at most about 250)


@dataclass(frozen=True)
class Entity:
    """One detected PII span in the original text."""

    type: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Redaction:
    """A text, its redacted form and what was found."""

    text: str
    redacted: str
    entities: list[Entity] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        """The `advisor redact --json` / POST /v1/redact shape."""
        found = [{**asdict(e), "score": round(e.score, 3)} for e in self.entities]
        return {"text": self.text, "redacted": self.redacted, "entities": found}


class PiiRedactor:
    """Finds PII under the policy and replaces it with per-session placeholders."""

    def __init__(self, policy: PiiPolicy, analyzer: AnalyzerEngine, policy_dir: Path) -> None:
        self.policy, self.analyzer = policy, analyzer
        self.anonymizer, self.allowed = AnonymizerEngine(), policy.allowed  # type: ignore[no-untyped-call]
        phrases = sorted((w for w in self.allowed if not w.isalnum()), key=len, reverse=True)
        self.phrases = re.compile(rf"(?<!\w)(?:{'|'.join(map(re.escape, phrases))})(?!\w)", re.I)
        self.postcodes = PostcodeFollower(policy.zip_code)
        streets = policy.street_address
        self.unit_towns = UnitTowns(streets.units, streets.not_street_words)
        self.titles = frozenset(t.lower() for t in policy.person_names.titles)
        self.particles = frozenset(p.lower() for p in policy.person_names.particles)
        titles = "|".join(map(re.escape, policy.person_names.titles)) or "(?!)"
        self.title = re.compile(rf"\b(?:{titles})\.?\s+$", re.IGNORECASE)
        tune_engine(analyzer, policy)
        pipeline = analyzer.nlp_engine.nlp["en"]  # type: ignore[attr-defined]
        gazetteer = load_names(policy_dir)
        self.lexicon = Lexicon(pipeline, self.allowed, gazetteer[0])
        names = UnknownNameRecognizer(policy.unknown_names, self.lexicon)
        cued = CueNameRecognizer(policy.name_cues, policy.person_names.titles, self.lexicon)
        # Asked for per call: customer text gets it, the model's own sentences do not (below).
        self.learned = learned_recognizers(policy.learned_names, self.lexicon, policy_dir)
        self.places = PlaceFilter.from_policy_dir(policy_dir, policy)  # "capital of Peru"
        for recognizer in [*banking_recognizers(policy, gazetteer), names, cued]:
            analyzer.registry.add_recognizer(recognizer)

    @classmethod
    def from_settings(cls, settings: Settings) -> PiiRedactor:
        """The redactor of the policy directory in the settings (offline)."""
        return cls.from_policy_dir(settings.rails.policy_dir)

    @classmethod
    def from_policy_dir(cls, policy_dir: Path) -> PiiRedactor:
        """Presidio configured by pii_analyzer.yaml, filtered by pii_policy.yaml."""
        keep_offline()
        policy = PiiPolicy.load(policy_dir)
        provider = AnalyzerEngineProvider(
            analyzer_engine_conf_file=policy_dir / "pii_analyzer.yaml"
        )
        return cls(policy, provider.create_engine(), policy_dir)

    def analyze(self, text: str, learned: bool = True) -> list[Entity]:
        """Non-overlapping PII spans in the text, best first on conflicts, in text order.

        `learned=False` leaves out the learned name tagger (MiniLM, ~10 ms a sentence).
        """
        folded, origin = fold(text)
        chosen: list[RecognizerResult] = []
        reach = 0  # where the spans kept so far end: a later piece starts no span before it
        for start, cut in windows(folded, WINDOW_CHARS):
            found = self._window(folded, start, min(len(folded), cut + WINDOW_MARGIN), learned)
            kept = [r for r in found if reach <= r.start < cut]
            chosen += kept
            reach = max([reach, *(r.end for r in kept)])
        spans = [
            Entity(r.entity_type, origin[r.start], origin[r.end - 1] + 1, r.score)
            for r in map(partial(trim, folded), chosen)
            if r.end > r.start
        ]
        return sorted(spans, key=lambda e: e.start)

    def _window(self, text: str, start: int, end: int, learned: bool) -> list[RecognizerResult]:
        """The chosen spans of text[start:end], in the coordinates of the whole text."""
        chosen = self._analyze_folded(text[start:end], learned)
        for r in chosen:
            r.start, r.end = r.start + start, r.end + start
        return chosen

    def _analyze_folded(self, folded: str, learned: bool) -> list[RecognizerResult]:
        """Presidio's findings under the policy, with names and address blocks completed."""
        found = self.analyzer.analyze(
            folded,
            language="en",
            entities=list(self.policy.entities),
            ad_hoc_recognizers=self.learned if learned else None,
        )
        phone = self.policy.entities["PHONE_NUMBER"].threshold
        found = outside_phone_numbers(folded, found, phone)
        inside = [m.span() for m in self.phrases.finditer(folded)]
        kept = [r for r in found if self._keep(r, folded, inside)]
        chosen = choose([*kept, *self.postcodes.candidates(folded, kept)], self._rank)
        grow_names(folded, chosen, self.lexicon, self.policy.unknown_names.max_extra_words)
        listed_names(folded, chosen, self.lexicon)
        addressee_names(folded, chosen, self.lexicon)
        chosen = join_names(folded, chosen, self.particles)
        self._take_titles(folded, chosen)
        chosen = [r for r in chosen if not self._only_a_place(folded, r)]
        take_house_numbers(folded, chosen)
        self.unit_towns.extend(folded, chosen)
        return self.postcodes.join_blocks(folded, chosen)

    def untrusted_spans(self, text: str, trusted: str = "") -> list[tuple[int, int]]:
        """Spans of personal data in the text that the trusted text does not contain.

        This checks the model's own sentences, which are cased prose the rules and the NER
        model read well, on every streamed sentence: the learned tagger is left out here.
        """
        if not self._could_hold_pii(text, trusted):
            return []
        found = self.analyze(text, learned=False)
        return [(e.start, e.end) for e in found if text[e.start : e.end] not in trusted]

    def _could_hold_pii(self, text: str, trusted: str) -> bool:
        """Whether the text has something PII could hide in that the trusted text lacks: a run of
        digits, an @, a capitalised word after the first, a first name, or a word that is no
        English word. Analysis (~6 ms a sentence) runs only then."""
        if any(run.group().rstrip(" .,-/(") not in trusted for run in DIGIT_RUN.finditer(text)):
            return True
        names = self.lexicon.names
        return any(
            "@" in word
            or fold_name(word.strip(".'-+")).removesuffix("'s") in names
            or (word not in trusted and ((i > 0 and word[:1].isupper()) or not self._english(word)))
            for i, word in enumerate(PII_SHAPED.findall(text))
        )

    def _english(self, word: str) -> bool:
        """A word of the lexicon, or a number (numbers are judged as digit runs)."""
        bare = word.strip(".'-+")
        return not bare or any(c.isdigit() for c in bare) or self.lexicon.knows(bare)

    @traced("chat.redaction")
    def redact(
        self, text: str, vault: Vault | None = None, merchants: frozenset[str] = frozenset()
    ) -> Redaction:
        """The text with each entity replaced by its placeholder in the (session's) vault.

        A "person" that is one of the customer's own merchants ("Ticketmaster") is kept.
        """
        keys = {merchant_key(m) for m in merchants}
        found, vault = self.analyze(text), vault if vault is not None else Vault()
        entities = [e for e in found if not _is_merchant(text, e, keys)]
        if not entities:
            return Redaction(text, text, [])
        results = [RecognizerResult(e.type, e.start, e.end, e.score) for e in entities]
        operators = {
            kind: OperatorConfig(
                "custom",
                {
                    "lambda": partial(
                        vault.placeholder, rule.placeholder, last4=rule.restore == "last4"
                    )
                },
            )
            for kind, rule in self.policy.entities.items()
        }
        redacted = self.anonymizer.anonymize(text, results, operators)  # type: ignore[arg-type]
        return Redaction(text, redacted.text, entities)

    def _take_titles(self, text: str, chosen: list[RecognizerResult]) -> None:
        """A person's span starts at its title ("Dr Joshua Gray"), if a free one precedes it."""
        for r in chosen:
            title = self.title.search(text, max(0, r.start - TITLE_CHARS), r.start)
            if r.entity_type != "PERSON" or title is None:
                continue
            if all(c is r or c.end <= title.start() or c.start >= r.start for c in chosen):
                r.start = title.start()

    def _only_a_place(self, text: str, result: RecognizerResult) -> bool:
        """A "person" that is only a place name, with no person announced around it."""
        return result.entity_type == "PERSON" and self.places.only_a_place(
            text, result.start, result.end
        )

    def _rank(self, result: RecognizerResult) -> tuple[int, float, int]:
        """Overlaps go to the higher priority, then the higher score, then the longer span."""
        priority = self.policy.entities[result.entity_type].priority
        return -priority, -result.score, result.start - result.end

    def _keep(self, result: RecognizerResult, text: str, inside: list[tuple[int, int]]) -> bool:
        """Above the entity's threshold, and not allow-listed words or phrases as a person."""
        rule = self.policy.entities.get(result.entity_type)
        if rule is None or result.score < rule.threshold:
            return False
        if result.entity_type != "PERSON":
            return True
        if any(a <= result.start and result.end <= b for a, b in inside):
            return False
        span = text[result.start : result.end].strip()
        words = span.lower().replace("'s", "").split()
        acronym = span.isupper() and len(span) <= SHORT_ACRONYM
        numeric = any(ch.isdigit() for ch in span)  # "+49(0)1165" is no name
        title = all(w.strip(".,") in self.titles for w in words)  # "Dr" joins its name later
        allowed = all(w.strip(".,") in self.allowed for w in words)
        return not acronym and not numeric and not title and not allowed


def tune_engine(analyzer: AnalyzerEngine, policy: PiiPolicy) -> None:
    """Give recognizers their own regex flags back and switch off unneeded spaCy pipes."""
    for recognizer in analyzer.registry.recognizers:
        flags = policy.own_regex_flags.get(str(getattr(recognizer, "name", "")))
        if flags is not None and isinstance(recognizer, PatternRecognizer):
            recognizer.global_regex_flags = flags
    nlp = getattr(analyzer.nlp_engine, "nlp", None) or {}
    for pipeline in nlp.values():
        pipeline.disable_pipes(*[p for p in policy.nlp_disable if p in pipeline.pipe_names])


def merchant_key(name: str) -> str:
    """A merchant's name as compared ("TRADER JOE'S" and "Trader Joes" alike)."""
    return re.sub(r"[\W_]+", "", name.casefold())


def _is_merchant(text: str, entity: Entity, keys: set[str]) -> bool:
    """A person span that names one of the given merchants."""
    return entity.type == "PERSON" and merchant_key(text[entity.start : entity.end]) in keys

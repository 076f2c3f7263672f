"""PII redaction: Presidio finds, the policy filters, the anonymizer swaps in pseudonyms."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
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

from advisor.rails.offline import keep_offline
from advisor.rails.policy import PiiPolicy
from advisor.rails.postcodes import PostcodeFollower
from advisor.rails.recognizers import banking_recognizers
from advisor.rails.vault import Vault
from advisor.settings import Settings

TITLE_CHARS = 12  # how far before a name its title may start
SHORT_ACRONYM = 5  # an all-caps PERSON this short is an acronym (ATM, EUR), not a name


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
        titles = "|".join(map(re.escape, policy.person_names.titles)) or "(?!)"
        self.title = re.compile(rf"\b(?:{titles})\.?\s+$", re.IGNORECASE)
        tune_engine(analyzer, policy)
        for recognizer in banking_recognizers(policy, policy_dir):
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

    def analyze(self, text: str) -> list[Entity]:
        """Non-overlapping PII spans in the text, best first on conflicts, in text order."""
        folded, origin = fold(text)
        found = self.analyzer.analyze(folded, language="en", entities=list(self.policy.entities))
        inside = [m.span() for m in self.phrases.finditer(folded)]
        kept = [r for r in found if self._keep(r, folded, inside)]
        chosen = choose([*kept, *self.postcodes.candidates(folded, kept)], self._rank)
        chosen = join_names(folded, chosen)
        self._take_titles(folded, chosen)
        chosen = self.postcodes.join_blocks(folded, chosen)
        spans = [
            Entity(r.entity_type, origin[r.start], origin[r.end - 1] + 1, r.score)
            for r in map(partial(trim, folded), chosen)
            if r.end > r.start
        ]
        return sorted(spans, key=lambda e: e.start)

    def redact(self, text: str, vault: Vault | None = None) -> Redaction:
        """The text with each entity replaced by its placeholder in the (session's) vault."""
        entities, vault = self.analyze(text), vault if vault is not None else Vault()
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
        return not acronym and not all(w.strip(".,") in self.allowed for w in words)


def trim(text: str, result: RecognizerResult) -> RecognizerResult:
    """The result without whitespace at its ends."""
    span = text[result.start : result.end]
    result.start += len(span) - len(span.lstrip())
    result.end -= len(span) - len(span.rstrip())
    return result


def tune_engine(analyzer: AnalyzerEngine, policy: PiiPolicy) -> None:
    """Give recognizers their own regex flags back and switch off unneeded spaCy pipes."""
    for recognizer in analyzer.registry.recognizers:
        flags = policy.own_regex_flags.get(str(getattr(recognizer, "name", "")))
        if flags is not None and isinstance(recognizer, PatternRecognizer):
            recognizer.global_regex_flags = flags
    nlp = getattr(analyzer.nlp_engine, "nlp", None) or {}
    for pipeline in nlp.values():
        pipeline.disable_pipes(*[p for p in policy.nlp_disable if p in pipeline.pipe_names])


def choose(
    found: list[RecognizerResult], rank: Callable[[RecognizerResult], tuple[int, float, int]]
) -> list[RecognizerResult]:
    """Non-overlapping spans, best first; an overlapping span of the same type widens one."""
    chosen: list[RecognizerResult] = []
    for r in sorted(found, key=rank):
        clash = [c for c in chosen if not (r.end <= c.start or r.start >= c.end)]
        if not clash:
            chosen.append(r)
        elif len(clash) == 1 and clash[0].entity_type == r.entity_type:
            start, end = min(r.start, clash[0].start), max(r.end, clash[0].end)
            if all(end <= c.start or start >= c.end for c in chosen if c is not clash[0]):
                clash[0].start, clash[0].end = start, end
    return chosen


def join_names(text: str, chosen: list[RecognizerResult]) -> list[RecognizerResult]:
    """Adjacent people with only a space between are one name ("tomasz" + "kowalczyk")."""
    joined: list[RecognizerResult] = []
    for r in sorted(chosen, key=lambda r: r.start):
        last = joined[-1] if joined else None
        same = last is not None and last.entity_type == r.entity_type == "PERSON"
        if same and last is not None and text[last.end : r.start] == " ":
            last.end = r.end
        else:
            joined.append(r)
    return joined


def fold(text: str) -> tuple[str, list[int]]:
    """Text without invisible characters and with compatibility forms folded, plus an index map.

    `origin[i]` is the position in `text` of character i of the folded text, so spans found
    in the folded text map back to the original (a zero-width space cannot split a card number).
    """
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        if unicodedata.category(ch) == "Cf":
            continue
        folded = unicodedata.normalize("NFKC", ch)
        chars.append(folded if len(folded) == 1 else ch)
        origin.append(i)
    origin.append(len(text))
    return "".join(chars), origin

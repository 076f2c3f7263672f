"""PII redaction quality and speed of any analyzer on labelled sentences and Banking77.

Data sets:

- `evals/pii/banking_sentences.yaml`: our labelled banking sentences; each entity's value
  occurs once, verbatim, in its text and the loader computes its span. Sentences without
  entities are PII-free: any redaction in them is a false one.
- `presidio_research_generated_small.json` (microsoft/presidio-research, under
  `settings.shared_data_dir / "pii"`). Its types map to ours: PERSON, CREDIT_CARD, US_SSN,
  PHONE_NUMBER, EMAIL_ADDRESS, IP_ADDRESS and US_DRIVER_LICENSE keep their names; ADDRESS
  becomes STREET_ADDRESS, or ZIP_CODE when the value is exactly five digits. LOCATION,
  ORGANIZATION, TITLE, DATE_TIME and DOMAIN_NAME are not scored, nor are values that are
  "nan" or bare 1-3 digit fragments (house numbers split off by the generator). A span
  whose offsets do not match its value is moved to the nearest verbatim occurrence.
  Its sentences without any span are PII-free.
- Banking77 training utterances (`intents/banking77_train.csv`, 10,003): assumed PII-free;
  we report the share in which anything at all is redacted.

Scoring: a gold entity counts as redacted when at least 80% of its characters are covered
by any predicted span, whatever its type (the privacy view); type-exact recall counts only
predicted spans of the gold type.
"""

from __future__ import annotations

import csv
import json
import re
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from advisor.settings import get_settings

Prediction = tuple[str, int, int]
Analyzer = Callable[[str], Sequence[Prediction]]

PII_DIR = Path(__file__).resolve().parent / "pii"
SENTENCES = PII_DIR / "banking_sentences.yaml"
COVERAGE = 0.8
RESEARCH_TYPES = {
    "PERSON": "PERSON",
    "CREDIT_CARD": "CREDIT_CARD",
    "US_SSN": "US_SSN",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "IP_ADDRESS": "IP_ADDRESS",
    "US_DRIVER_LICENSE": "US_DRIVER_LICENSE",
    "ADDRESS": "STREET_ADDRESS",
}


@dataclass(frozen=True)
class Gold:
    """One labelled entity and its character span."""

    type: str
    value: str
    start: int
    end: int


@dataclass(frozen=True)
class Sample:
    """A text, its labelled entities, and whether it holds no PII at all."""

    text: str
    entities: tuple[Gold, ...]
    pii_free: bool


@dataclass(frozen=True)
class Run:
    """An analyzer's predictions for each text and the milliseconds each call took."""

    predictions: list[list[Prediction]]
    latencies_ms: list[float]


def _locate(text: str, type_: str, value: str) -> Gold:
    """The span of a value that must occur exactly once in the text."""
    if not value or text.count(value) != 1:
        raise ValueError(f"{value!r} must occur exactly once in {text!r}")
    start = text.index(value)
    return Gold(type_, value, start, start + len(value))


def load_banking_sentences(path: Path = SENTENCES) -> list[Sample]:
    """Our labelled banking sentences with their spans computed."""
    samples = []
    for row in yaml.safe_load(path.read_text(encoding="utf-8")):
        text, entities = row["text"], row.get("entities") or []
        golds = tuple(_locate(text, e["type"], e["value"]) for e in entities)
        samples.append(Sample(text, golds, pii_free=not golds))
    return samples


def research_path() -> Path:
    """Where the presidio-research sample lives."""
    return get_settings().shared_data_dir / "pii" / "presidio_research_generated_small.json"


def _research_entity(text: str, span: Mapping[str, Any]) -> Gold | None:
    """Our entity for one presidio-research span, or None when it is not scored."""
    ours, value = RESEARCH_TYPES.get(span["entity_type"]), str(span["entity_value"])
    if ours is None or value.strip().lower() == "nan" or re.fullmatch(r"\d{1,3}", value):
        return None
    if ours == "STREET_ADDRESS" and re.fullmatch(r"\d{5}", value):
        ours = "ZIP_CODE"
    start = int(span["start_position"])
    if text[start : start + len(value)] != value:
        found = [m.start() for m in re.finditer(re.escape(value), text)]
        if not found:
            return None
        start = min(found, key=lambda s: abs(s - start))
    return Gold(ours, value, start, start + len(value))


def load_presidio_research(path: Path | None = None) -> list[Sample]:
    """The presidio-research sentences with spans mapped to our types."""
    rows = json.loads((path or research_path()).read_text(encoding="utf-8"))
    samples = []
    for row in rows:
        text = row["full_text"]
        golds = (_research_entity(text, span) for span in row["spans"])
        entities = tuple(sorted((g for g in golds if g), key=lambda g: g.start))
        samples.append(Sample(text, entities, pii_free=not row["spans"]))
    return samples


def load_banking77(path: Path | None = None) -> list[str]:
    """The Banking77 training utterances."""
    path = path or get_settings().shared_data_dir / "intents" / "banking77_train.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle)]


def run(analyze: Analyzer, texts: Iterable[str]) -> Run:
    """Analyze every text, timing each call."""
    predictions, latencies = [], []
    for text in texts:
        start = time.perf_counter()
        predictions.append(list(analyze(text)))
        latencies.append((time.perf_counter() - start) * 1000)
    return Run(predictions, latencies)


def coverage(gold: Gold, spans: Iterable[tuple[int, int]]) -> float:
    """The share of the gold span's characters inside any of the spans."""
    covered: set[int] = set()
    for start, end in spans:
        covered.update(range(max(start, gold.start), min(end, gold.end)))
    return len(covered) / max(1, gold.end - gold.start)


def _ratio(part: int, whole: int) -> float:
    """part / whole, rounded; 0.0 for an empty whole."""
    return round(part / whole, 4) if whole else 0.0


def recall(
    samples: Sequence[Sample], predictions: Sequence[Sequence[Prediction]]
) -> dict[str, Any]:
    """Recall per entity type, redacted (any type) and type-exact, with the misses."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    missed: dict[str, list[str]] = defaultdict(list)
    for sample, preds in zip(samples, predictions, strict=True):
        for gold in sample.entities:
            spans = [(s, e) for _, s, e in preds]
            typed = [(s, e) for t, s, e in preds if t == gold.type]
            hit, exact = coverage(gold, spans) >= COVERAGE, coverage(gold, typed) >= COVERAGE
            counts[gold.type].update(gold=1, redacted=int(hit), exact=int(exact))
            counts["ALL"].update(gold=1, redacted=int(hit), exact=int(exact))
            if not hit:
                missed[gold.type].append(gold.value)
    return {
        type_: {
            "gold": c["gold"],
            "recall": _ratio(c["redacted"], c["gold"]),
            "type_exact_recall": _ratio(c["exact"], c["gold"]),
            "missed": missed.get(type_, []),
        }
        for type_, c in sorted(counts.items(), key=lambda item: (item[0] == "ALL", item[0]))
    }


def false_redactions(
    samples: Sequence[Sample], predictions: Sequence[Sequence[Prediction]]
) -> dict[str, Any]:
    """How many PII-free sentences had anything redacted, with what."""
    clean = [(s, p) for s, p in zip(samples, predictions, strict=True) if s.pii_free]
    flagged = [
        {"text": s.text, "redacted": [f"{t}:{s.text[a:b]}" for t, a, b in p]} for s, p in clean if p
    ]
    return {
        "sentences": len(clean),
        "falsely_redacted": len(flagged),
        "share": _ratio(len(flagged), len(clean)),
        "examples": flagged,
    }


def latency(latencies_ms: Sequence[float]) -> dict[str, float]:
    """p50 and p95 of per-message milliseconds."""
    ordered = sorted(latencies_ms) or [0.0]
    return {
        "messages": len(latencies_ms),
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
    }


def labelled_report(analyze: Analyzer, samples: Sequence[Sample]) -> dict[str, Any]:
    """Recall, false redactions on PII-free sentences and latency on a labelled set."""
    result = run(analyze, (s.text for s in samples))
    return {
        "sentences": len(samples),
        "recall": recall(samples, result.predictions),
        "pii_free": false_redactions(samples, result.predictions),
        "latency": latency(result.latencies_ms),
        "latencies_ms": result.latencies_ms,
    }


def utterance_report(analyze: Analyzer, texts: Sequence[str], top: int = 20) -> dict[str, Any]:
    """Share of PII-free utterances with anything redacted, and the most redacted strings."""
    result = run(analyze, texts)
    strings: Counter[str] = Counter()
    types: Counter[str] = Counter()
    for text, preds in zip(texts, result.predictions, strict=True):
        strings.update(text[s:e] for _, s, e in preds)
        types.update(t for t, _, _ in preds)
    flagged = sum(1 for preds in result.predictions if preds)
    return {
        "utterances": len(texts),
        "redacted": flagged,
        "share": _ratio(flagged, len(texts)),
        "by_type": dict(types.most_common()),
        "top_strings": [{"text": s, "count": n} for s, n in strings.most_common(top)],
        "latency": latency(result.latencies_ms),
        "latencies_ms": result.latencies_ms,
    }


def evaluate(
    analyze: Analyzer, labelled: Mapping[str, Sequence[Sample]], utterances: Sequence[str]
) -> dict[str, Any]:
    """The whole report: each labelled set, the utterances and overall latency."""
    report: dict[str, Any] = {name: labelled_report(analyze, s) for name, s in labelled.items()}
    report["banking77"] = utterance_report(analyze, utterances)
    every = [ms for part in report.values() for ms in part.pop("latencies_ms")]
    report["latency"] = latency(every)
    return report

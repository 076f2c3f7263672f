"""The router's training data: Banking77, CLINC150 banking+credit and the project's examples,
read, checked against the taxonomy and split (seeded) into fit, tune and report parts."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from advisor.errors import AdvisorError
from advisor.routing.taxonomy import OUT_OF_SCOPE, Taxonomy

BANKING77 = "banking77_train.csv"
CLINC = "clinc150_banking_credit.json"
ROUTING_DIR = Path(__file__).resolve().parents[1] / "routing"
CLINC_MAP = ROUTING_DIR / "clinc_map.yaml"
EXAMPLES = ROUTING_DIR / "advisory_examples.yaml"
SEED = 20261207
B77_VALIDATION = 0.10  # share of Banking77 train held out to report on
B77_TUNE = 0.05  # ... and to tune the out-of-scope thresholds on
PROJECT_VALIDATION = 0.20  # share of the project's examples held out (half tune, half report)


class TrainingDataError(AdvisorError):
    """The training data is missing, empty or malformed."""


@dataclass(frozen=True)
class Example:
    """One labelled utterance and where it came from."""

    text: str
    intent: str
    source: str  # banking77, clinc, clinc_oos, project


@dataclass
class Splits:
    """fit: trained on; tune: the threshold and temperature are chosen on it; report: the
    figures are read from it (never tuned on)."""

    fit: list[Example] = field(default_factory=list)
    tune: list[Example] = field(default_factory=list)
    report: list[Example] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)


def load_splits(data_dir: Path, taxonomy: Taxonomy, examples: Path = EXAMPLES) -> Splits:
    """Every source read, checked and split (stratified, seeded): Banking77 train 85% fit, 5%
    tune, 10% report; CLINC val and oos_val halved (tune, report); the project's examples 80%
    fit, 10% tune, 10% report."""
    splits = Splits()
    b77 = read_banking77(data_dir / BANKING77, taxonomy)
    clinc = read_clinc(data_dir / CLINC, taxonomy)
    project = read_examples(examples, taxonomy)
    fit, held = stratified(b77, B77_TUNE + B77_VALIDATION)
    tune, report = stratified(held, B77_VALIDATION / (B77_TUNE + B77_VALIDATION))
    splits.fit += fit + clinc["train"]
    splits.tune += tune
    splits.report += report
    tune, report = stratified(clinc["val"], 0.5)
    splits.tune += tune
    splits.report += report
    fit, held = stratified(project, PROJECT_VALIDATION)
    tune, report = stratified(held, 0.5)
    splits.fit += fit
    splits.tune += tune
    splits.report += report
    for path in (data_dir / BANKING77, data_dir / CLINC, CLINC_MAP, examples):
        splits.digests[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return splits


def read_banking77(path: Path, taxonomy: Taxonomy) -> list[Example]:
    """Banking77 `text,category` rows; every category must be a Banking77 intent."""
    known = set(taxonomy.ids("banking77"))
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TrainingDataError(f"cannot read {path}: {exc}") from None
    out = []
    for number, row in enumerate(rows, start=2):
        text, category = (row.get("text") or "").strip(), (row.get("category") or "").strip()
        if not text or category not in known:
            raise TrainingDataError(
                f"{path}:{number}: expected `text,category` with a Banking77 category, "
                f"got {category!r}"
            )
        out.append(Example(text, category, "banking77"))
    return _non_empty(out, path)


def read_clinc(path: Path, taxonomy: Taxonomy) -> dict[str, list[Example]]:
    """CLINC150 train (train + oos_train) and val (val + oos_val), mapped onto the taxonomy."""
    mapping = clinc_map(taxonomy)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        parts = {k: raw[k] for k in ("train", "val", "oos_train", "oos_val")}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise TrainingDataError(
            f"cannot read {path} (expected train, val, oos_train, oos_val): {exc}"
        ) from None
    mapped = {k: _clinc_rows(v, mapping, f"{path} {k}") for k, v in parts.items()}
    return {
        "train": mapped["train"] + mapped["oos_train"],
        "val": mapped["val"] + mapped["oos_val"],
    }


def clinc_map(taxonomy: Taxonomy, path: Path = CLINC_MAP) -> dict[str, str]:
    """CLINC intent -> taxonomy intent (with `oos`), every target checked."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        mapping = {**raw["intents"], "oos": raw["oos"]}
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise TrainingDataError(f"cannot read the CLINC mapping {path}: {exc}") from None
    unknown = sorted({t for t in mapping.values() if t not in taxonomy.intents})
    if unknown:
        raise TrainingDataError(f"{path}: targets not in the taxonomy: {unknown}")
    return mapping


def _clinc_rows(rows: Any, mapping: dict[str, str], where: str) -> list[Example]:
    """`[text, intent]` rows mapped; an unmapped intent or a bad row is an error."""
    if not isinstance(rows, list) or not rows:
        raise TrainingDataError(f"{where}: no rows")
    out = []
    for number, row in enumerate(rows, start=1):
        if not (isinstance(row, list) and len(row) == 2 and all(isinstance(x, str) for x in row)):
            raise TrainingDataError(f"{where} row {number}: expected [text, intent]")
        if row[1] not in mapping:
            raise TrainingDataError(f"{where} row {number}: intent {row[1]!r} is not mapped")
        source = "clinc_oos" if mapping[row[1]] == OUT_OF_SCOPE else "clinc"
        out.append(Example(row[0].strip(), mapping[row[1]], source))
    return out


def read_examples(path: Path, taxonomy: Taxonomy) -> list[Example]:
    """The project's own utterances (advisory_examples.yaml), intents checked."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))["examples"]
        pairs = [(str(t).strip(), i) for i, texts in raw.items() for t in texts]
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise TrainingDataError(f"cannot read the examples {path}: {exc}") from None
    unknown = sorted({i for _, i in pairs if i not in taxonomy.intents})
    if unknown:
        raise TrainingDataError(f"{path}: intents not in the taxonomy: {unknown}")
    return _non_empty([Example(t, i, "project") for t, i in pairs if t], path)


def stratified(examples: list[Example], share: float) -> tuple[list[Example], list[Example]]:
    """A seeded stratified split: (the rest, `share` of each intent)."""
    from sklearn.model_selection import train_test_split

    counts = Counter(e.intent for e in examples)
    keep = [e for e in examples if counts[e.intent] < 2]  # too few to split: all to the rest
    pool = [e for e in examples if counts[e.intent] >= 2]
    rest, held = train_test_split(
        pool, test_size=share, random_state=SEED, stratify=[e.intent for e in pool]
    )
    return keep + list(rest), list(held)


def _non_empty(rows: list[Example], path: Path) -> list[Example]:
    """The rows, or an error when there are none."""
    if not rows:
        raise TrainingDataError(f"{path}: no training rows")
    return rows

"""The router's taxonomy (advisor/routing/taxonomy.yaml): intents with a family and a handler."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from advisor.errors import AdvisorError

TAXONOMY_PATH = Path(__file__).with_name("taxonomy.yaml")
OUT_OF_SCOPE = "out_of_scope"


class TaxonomyError(AdvisorError):
    """The taxonomy file is malformed."""


@dataclass(frozen=True)
class Intent:
    """One intent: its id, family, handler and the dataset that names it (if any)."""

    id: str
    family: str
    handler: str
    dataset: str | None = None


@dataclass(frozen=True)
class Taxonomy:
    """Every intent by id, in file order."""

    intents: dict[str, Intent]
    families: tuple[str, ...]
    handlers: tuple[str, ...]

    def __getitem__(self, intent_id: str) -> Intent:
        """The intent with this id (TaxonomyError when unknown)."""
        if intent_id not in self.intents:
            raise TaxonomyError(f"unknown intent {intent_id!r}")
        return self.intents[intent_id]

    def ids(self, dataset: str | None = None) -> list[str]:
        """Intent ids in file order; only those a dataset names when given."""
        return [i.id for i in self.intents.values() if dataset is None or i.dataset == dataset]


def load_taxonomy(path: Path = TAXONOMY_PATH) -> Taxonomy:
    """Read and validate a taxonomy file (TaxonomyError naming the problem)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TaxonomyError(f"cannot read the taxonomy {path}: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("intents"), list):
        raise TaxonomyError(f"{path}: expected `families`, `handlers` and a list of `intents`")
    families = tuple(raw.get("families") or ())
    handlers = tuple(raw.get("handlers") or ())
    intents: dict[str, Intent] = {}
    for number, entry in enumerate(raw["intents"], start=1):
        intent = _intent(entry, number, families, handlers, path)
        if intent.id in intents:
            raise TaxonomyError(f"{path}: intent {intent.id!r} is listed twice")
        intents[intent.id] = intent
    if OUT_OF_SCOPE not in intents:
        raise TaxonomyError(f"{path}: the {OUT_OF_SCOPE!r} intent is missing")
    return Taxonomy(intents, families, handlers)


def _intent(
    entry: Any, number: int, families: tuple[str, ...], handlers: tuple[str, ...], path: Path
) -> Intent:
    """One validated intent entry."""
    where = f"{path}: intent #{number}"
    if not isinstance(entry, dict) or not all(
        isinstance(entry.get(k), str) and entry[k] for k in ("id", "family", "handler")
    ):
        raise TaxonomyError(f"{where} needs a string id, family and handler")
    if entry["family"] not in families:
        raise TaxonomyError(f"{where} ({entry['id']}): unknown family {entry['family']!r}")
    if entry["handler"] not in handlers:
        raise TaxonomyError(f"{where} ({entry['id']}): unknown handler {entry['handler']!r}")
    unknown = set(entry) - {"id", "family", "handler", "dataset"}
    if unknown:
        raise TaxonomyError(f"{where} ({entry['id']}): unknown keys {sorted(unknown)}")
    return Intent(entry["id"], entry["family"], entry["handler"], entry.get("dataset"))


@lru_cache(maxsize=1)
def shipped_taxonomy() -> Taxonomy:
    """The taxonomy shipped with the advisor, read once."""
    return load_taxonomy()

"""Slot extraction: amounts, dates, months, accounts, categories, merchants and products."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from advisor.errors import AdvisorError

SLOTS_PATH = Path(__file__).with_name("slots.yaml")


class SlotRulesError(AdvisorError):
    """A slot rule file is malformed."""


@dataclass(frozen=True)
class Entity:
    """One slot: its type, the text as written, its character span and a normalised value."""

    type: str
    text: str
    start: int
    end: int
    value: str

    def to_json(self) -> dict[str, Any]:
        """`{"type", "text", "start", "end", "value"}`."""
        return {
            "type": self.type, "text": self.text, "start": self.start, "end": self.end,
            "value": self.value,
        }  # fmt: skip


Vocabulary = list[tuple[re.Pattern[str], str]]  # pattern -> value


@dataclass(frozen=True)
class SlotExtractor:
    """Finds entities by rules as data; the vocabularies are read from their owners' files."""

    amounts: list[re.Pattern[str]]
    dates: list[re.Pattern[str]]
    months: dict[str, str]  # month word -> "01".."12"
    ambiguous_months: frozenset[str]
    vocab: dict[str, Vocabulary]  # entity type -> patterns

    @classmethod
    def load(cls, path: Path = SLOTS_PATH) -> SlotExtractor:
        """The shipped rules plus topics.yaml, the product corpus and the merchant catalogue."""
        from advisor.routing.vocab import accounts_and_categories, merchants, products

        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            months = {w: num for num, words in raw["months"].items() for w in words}
            alternation = "|".join(sorted(months, key=len, reverse=True))
            dates = [_compile(p.replace("{months}", alternation)) for p in raw["date"].values()]
            amounts = [_compile(p) for p in raw["amount"]]
        except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError, re.error) as exc:
            raise SlotRulesError(f"cannot load the slot rules {path}: {exc}") from None
        vocab = accounts_and_categories()
        vocab["merchant"] = merchants(raw.get("merchants") or [])
        vocab["product"] = products()
        return cls(amounts, dates, months, frozenset(raw.get("ambiguous_months") or []), vocab)

    def extract(self, text: str) -> list[Entity]:
        """Every entity found, in text order; within one type, overlapping finds keep the
        longest."""
        found = [*self._amounts(text), *self._dates(text)]
        dated = [(e.start, e.end) for e in found if e.type == "date"]
        found += [e for e in self._months(text) if not _inside(e, dated)]
        for kind, patterns in self.vocab.items():
            found += _vocabulary(text, kind, patterns)
        return sorted(_longest_per_type(found), key=lambda e: (e.start, e.type))

    def _amounts(self, text: str) -> Iterator[Entity]:
        """Money amounts; value a decimal string with cents ("1250.50")."""
        for pattern in self.amounts:
            for m in pattern.finditer(text):
                number = Decimal(m["num"].replace(",", "") + "." + (m["cents"] or "0"))
                if m.groupdict().get("k"):
                    number *= 1000
                yield _entity("amount", m, f"{number.quantize(Decimal('0.01'))}")

    def _dates(self, text: str) -> Iterator[Entity]:
        """Dates: ISO when the year is written, --MM-DD without one, else the words."""
        for pattern in self.dates:
            for m in pattern.finditer(text):
                yield _entity("date", m, self._date_value(m))

    def _date_value(self, m: re.Match[str]) -> str:
        """The normalised value of one date match."""
        groups = m.groupdict()
        month = groups.get("m") or self.months.get((groups.get("month") or "").lower())
        if not month or not groups.get("d"):
            return " ".join(m.group(0).lower().split())
        year = groups.get("y") or ""
        year = f"20{year}" if len(year) == 2 else year
        return f"{year or '-'}-{int(month):02d}-{int(groups['d']):02d}"

    def _months(self, text: str) -> Iterator[Entity]:
        """Month names standing alone ("in october": "10"); abbreviations that are also
        words ("may", "apr") only when a year follows."""
        for word, number in self.months.items():
            for m in re.finditer(rf"\b{word}\b\.?(?P<y>\s+\d{{4}})?", text, re.IGNORECASE):
                if word in self.ambiguous_months and not m["y"]:
                    continue
                year = (m["y"] or "").strip()
                yield _entity("month", m, f"{year}-{number}" if year else number)


def _compile(pattern: str) -> re.Pattern[str]:
    """A case-insensitive pattern."""
    return re.compile(pattern, re.IGNORECASE)


def _entity(kind: str, m: re.Match[str], value: str) -> Entity:
    """An entity over the `span` group when the pattern has one, else the whole match."""
    group = "span" if "span" in m.re.groupindex else 0
    return Entity(kind, m.group(group), m.start(group), m.end(group), value)


def _vocabulary(text: str, kind: str, patterns: Vocabulary) -> Iterator[Entity]:
    """Finds of one vocabulary type."""
    for pattern, value in patterns:
        for m in pattern.finditer(text):
            yield _entity(kind, m, value)


def _inside(entity: Entity, spans: Iterable[tuple[int, int]]) -> bool:
    """Whether an entity overlaps any of the spans."""
    return any(entity.start < end and start < entity.end for start, end in spans)


def _longest_per_type(entities: list[Entity]) -> list[Entity]:
    """Drop an entity that overlaps a longer (or earlier equal) one of the same type."""
    kept: list[Entity] = []
    for e in sorted(entities, key=lambda e: (-(e.end - e.start), e.start)):
        if not _inside(e, [(k.start, k.end) for k in kept if k.type == e.type]):
            kept.append(e)
    return kept


def topics_yaml() -> dict[str, Any]:
    """advisor/grounding/topics.yaml, read (not copied) for its vocabularies."""
    text = (resources.files("advisor.grounding") / "topics.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data

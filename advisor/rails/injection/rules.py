"""The injection heuristics of `guardrails/injection.yaml`: regular expressions with ids."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

Source = Literal["user", "document", "memo"]
SOURCES: tuple[Source, ...] = ("user", "document", "memo")
POLICY_FILE = Path(__file__).resolve().parents[3] / "guardrails" / "injection.yaml"


class InjectionPolicyError(ValueError):
    """The injection policy file is missing or malformed."""


@dataclass(frozen=True)
class Pattern:
    """One heuristic: a compiled expression, the sources it applies to and its test cases."""

    id: str
    regex: re.Pattern[str]
    sources: frozenset[str]
    description: str = ""
    examples: tuple[str, ...] = field(default=())
    counterexamples: tuple[str, ...] = field(default=())

    @property
    def rule(self) -> str:
        """The rule id reported when this pattern blocks."""
        return f"injection.pattern.{self.id}"


def load_patterns(path: Path | None = None) -> list[Pattern]:
    """The patterns of the policy file; raises InjectionPolicyError naming the bad entry."""
    path = path or POLICY_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InjectionPolicyError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("patterns"), list):
        raise InjectionPolicyError(f"{path}: expected a mapping with a 'patterns' list")
    return [_pattern(entry, path) for entry in data["patterns"]]


def _pattern(entry: Any, path: Path) -> Pattern:
    """One policy entry as a Pattern."""
    if not isinstance(entry, dict) or not entry.get("id") or not entry.get("regex"):
        raise InjectionPolicyError(f"{path}: every pattern needs an id and a regex: {entry!r}")
    sources = frozenset(entry.get("sources") or SOURCES)
    if not sources <= set(SOURCES):
        raise InjectionPolicyError(f"{path}: {entry['id']}: unknown sources {sorted(sources)}")
    # Line breaks inside a folded YAML scalar are only layout.
    expression = re.sub(r"\s*\n\s*", "", str(entry["regex"]).strip())
    try:
        compiled = re.compile(expression, re.IGNORECASE)
    except re.error as exc:
        raise InjectionPolicyError(f"{path}: {entry['id']}: bad regex: {exc}") from exc
    return Pattern(
        id=str(entry["id"]),
        regex=compiled,
        sources=sources,
        description=str(entry.get("description", "")),
        examples=tuple(entry.get("examples") or ()),
        counterexamples=tuple(entry.get("counterexamples") or ()),
    )


def first_match(patterns: list[Pattern], variants: list[str], source: str) -> Pattern | None:
    """The first pattern for this source that matches any variant."""
    for pattern in patterns:
        if source in pattern.sources and any(pattern.regex.search(v) for v in variants):
            return pattern
    return None

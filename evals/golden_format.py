"""The golden-conversation format: conversations of turns, each with declarative expectations."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
FUTURE_KEYS = (
    "action_proposed",
    "executed",
    "adverse_action_reasons",
)


class Expect(BaseModel):
    """What one turn must do; every key is optional."""

    model_config = ConfigDict(extra="forbid")

    topic: str | None = None
    facts: list[str] = Field(default_factory=list)
    grounded: bool | None = None
    citations: list[str] = Field(default_factory=list)
    cites_any: bool | None = None
    handoff: bool | None = None
    text_includes: list[str] = Field(default_factory=list)
    text_excludes: list[str] = Field(default_factory=list)
    no_pii: bool | None = None
    max_latency_ms: int | None = None
    reference: str | None = None
    min_similarity: float = 0.5
    disclaimer: bool | None = None
    refusal: bool | None = None
    redacted: bool | None = None
    # Behaviours that later issues bring; reported as pending until they exist.
    action_proposed: str | None = None
    executed: bool | None = None
    adverse_action_reasons: bool | None = None
    pending: str | None = None


class Turn(BaseModel):
    """One user message and what the advisor's answer must satisfy."""

    model_config = ConfigDict(extra="allow")

    user: str
    expect: Expect = Field(default_factory=Expect)


class Conversation(BaseModel):
    """A multi-turn conversation of one seeded customer."""

    model_config = ConfigDict(extra="allow")

    id: str
    category: str
    customer: str
    tags: list[str] = Field(default_factory=list)
    turns: list[Turn] = Field(min_length=1)
    suite: str = ""


class FormatError(ValueError):
    """A golden file is not valid."""


def load_suite(name: str, directory: Path = GOLDEN_DIR) -> list[Conversation]:
    """Every conversation of one suite (a folder of YAML files)."""
    folder = directory / name
    if not folder.is_dir():
        known = ", ".join(sorted(p.name for p in directory.iterdir() if p.is_dir()))
        raise FormatError(f"no suite {name!r} (known: {known})")
    conversations = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            conversations += [
                Conversation.model_validate({**c, "suite": name}) for c in raw["conversations"]
            ]
        except (yaml.YAMLError, ValidationError, KeyError, TypeError) as exc:
            raise FormatError(f"{path}: {exc}") from exc
    ids = [c.id for c in conversations]
    if len(ids) != len(set(ids)):
        raise FormatError(f"suite {name!r} repeats conversation ids")
    return conversations


def suite_names(directory: Path = GOLDEN_DIR) -> list[str]:
    """Every suite folder."""
    return sorted(p.name for p in directory.iterdir() if p.is_dir() and any(p.glob("*.yaml")))

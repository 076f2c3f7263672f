"""Versioned prompt templates, loaded from YAML files beside this module."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml
from langchain_core.prompts import ChatPromptTemplate


@dataclass(frozen=True)
class PromptTemplate:
    """A named, versioned chat prompt: a static system part first, then the per-turn part."""

    name: str
    version: str
    system: str
    template: ChatPromptTemplate

    def render(self, **values: str) -> list[tuple[str, str]]:
        """(role, content) pairs with the values filled in (values a version does not use
        are ignored)."""
        roles = {"system": "system", "human": "user", "ai": "assistant"}
        wanted = {k: v for k, v in values.items() if k in self.template.input_variables}
        return [(roles[m.type], str(m.content)) for m in self.template.format_messages(**wanted)]


@lru_cache(maxsize=16)
def load_prompt(name: str, version: str = "v1") -> PromptTemplate:
    """Load `prompts/<name>/<version>.yaml`."""
    path = resources.files("prompts") / name / f"{version}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    template = ChatPromptTemplate.from_messages(
        [("system", data["system"]), ("human", data["user"])]
    )
    return PromptTemplate(name, version, data["system"], template)

"""Reasons of a recommendation, worded from reasons.yaml with the 360 view's own figures."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from advisor.decisions.nba import Ranked
from portfolio_context.view import Customer360

REASONS_FILE = Path(__file__).with_name("reasons.yaml")
FIGURE = re.compile(r"\{([a-z0-9_.]+)\}")


@dataclass(frozen=True)
class Reason:
    """One reason: a stable code, the customer-facing text and its contribution."""

    code: str
    text: str
    contribution: float

    def to_json(self) -> dict[str, Any]:
        """`{"code", "text", "contribution"}`."""
        return {"code": self.code, "text": self.text, "contribution": round(self.contribution, 6)}


@lru_cache(maxsize=1)
def templates() -> dict[str, Any]:
    """The reason templates, read once."""
    loaded: dict[str, Any] = yaml.safe_load(REASONS_FILE.read_text("utf-8"))
    return loaded


def fill(template: str, figures: Mapping[str, str]) -> str | None:
    """The template with its figures, or None when one is missing."""
    names = FIGURE.findall(template)
    if any(name not in figures for name in names):
        return None
    return FIGURE.sub(lambda m: figures[m.group(1)], template)


def cited(template: str) -> list[str]:
    """The figure names a template cites."""
    return FIGURE.findall(template)


def figures_of(item: Ranked, view: Customer360) -> dict[str, str]:
    """Every figure a reason of this action may cite: the view's facts and the model's."""
    figures = {f.id: f.display for f in view.facts}
    # The chance stated is the calibrated model's own (what its calibration plot vouches for);
    # the ranking may use it shrunk toward the base rate (policy `life_events`).
    stated = item.propensity.probability if item.propensity is not None else item.probability
    figures["probability"] = f"{stated:.0%}"
    if item.propensity is not None and item.propensity.model is not None:
        figures["model"] = item.propensity.model
        figures["version"] = str(item.propensity.version)
    return figures


def reasons_for(item: Ranked, view: Customer360) -> list[Reason]:
    """The action's reason, its boosts' reasons, then the model's leading features."""
    book, figures = templates(), figures_of(item, view)
    base = item.factor * item.base_value
    own = own_reason(item)
    found = [(own["code"], own["text"], base)]
    found += [(b.code, book["boosts"][b.code], base * b.boost) for b in item.boosts]
    made = [Reason(code, text, part) for code, raw, part in found if (text := fill(raw, figures))]
    return made + model_reasons(item, figures)


def own_reason(item: Ranked) -> dict[str, str]:
    """The action's own reason template; the typical-rate one when its model did not score."""
    book = templates()
    own: dict[str, str] = book["actions"][item.action.id]
    unscored = item.propensity is not None and item.propensity.is_default
    return book["unscored"] if unscored and "probability" in cited(own["text"]) else own


def model_reasons(item: Ranked, figures: Mapping[str, str]) -> list[Reason]:
    """The model's strongest positive features, with their log-odds contributions."""
    found = item.propensity
    if found is None or found.model is None:
        return []
    book = templates()
    shown = [(k, v) for k, v in found.contributions.items() if v > 0 and k not in book["hidden"]]
    leading = sorted(shown, key=lambda kv: -kv[1])[: book["model_reasons"]]
    return [
        Reason("MODEL_" + re.sub(r"[^A-Z0-9]+", "_", name.upper()), text, value)
        for name, value in leading
        if (label := feature_label(name))
        and (text := fill(book["model"], {**figures, "feature": label}))
    ]


def feature_label(name: str) -> str | None:
    """How a model feature is named to the customer, or None when it has no name for them."""
    book = templates()
    if name in book["feature_labels"]:
        return str(book["feature_labels"][name])
    for pattern, label in book["feature_patterns"]:
        if found := re.match(pattern, name):
            return found.expand(label).replace("_", " ").lower()
    return None


def reason_figures(item: Ranked, view: Customer360) -> dict[str, str]:
    """The view figures this action's reasons cite (kept in its trace)."""
    book, figures = templates(), {f.id: f.display for f in view.facts}
    raw = [own_reason(item)["text"], *(book["boosts"][b.code] for b in item.boosts)]
    return {name: figures[name] for text in raw for name in cited(text) if name in figures}

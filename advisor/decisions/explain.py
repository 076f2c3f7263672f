"""A customer-facing "why am I seeing this?" text, built from a stored trace only."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from advisor.decisions.reasons import fill
from portfolio_context.facts import say_date

EXPLAIN_FILE = Path(__file__).with_name("explain.yaml")


@lru_cache(maxsize=1)
def templates() -> dict[str, Any]:
    """The explanation templates, read once."""
    loaded: dict[str, Any] = yaml.safe_load(EXPLAIN_FILE.read_text("utf-8"))
    return loaded


def explain(trace: dict[str, Any]) -> str:
    """The explanation of a trace: recommendations in full, other kinds in general terms."""
    if trace.get("kind") == "recommendation" and "recommendation" in trace:
        return " ".join(recommendation_sentences(trace))
    return " ".join(generic_sentences(trace))


def rule_words(trace: dict[str, Any]) -> list[str]:
    """The distinct policy rules the trace fired, in the customer's words."""
    words = templates()["rules"]
    fired = [rule for entry in trace.get("rules_fired", []) for rule in entry.get("rules", [])]
    return [words.get(rule, rule.replace("_", " ")) for rule in dict.fromkeys(fired)]


def default_names(trace: dict[str, Any]) -> str:
    """The propensities the trace used at their defaults, in the customer's words."""
    names = templates()["propensities"]
    used = [d for d in trace.get("defaults_used", []) if ":" not in d]
    return ", ".join(names.get(d, d) for d in used)


def recommendation_figures(trace: dict[str, Any]) -> dict[str, str]:
    """The figures a recommendation's explanation may cite, all from the trace."""
    served = trace["recommendation"]
    return {
        "action": str(served["action"]),
        "as_of": say_date(dt.date.fromisoformat(trace["inputs"]["as_of"])),
        "probability": f"{model_probability(trace):.0%}",
        "ranked": f"{trace['scores']['probability']:.0%}",
        "model": str(served.get("model")),
        "model_version": str(served.get("model_version")),
        "names": default_names(trace),
        "rules": "; ".join(rule_words(trace)),
        "count": str(len(trace.get("rules_fired", []))),
    }


def model_probability(trace: dict[str, Any]) -> float:
    """The served action's model probability as the model gave it (the ranking's if none)."""
    scores, name = trace["scores"], trace["recommendation"].get("propensity")
    return float(scores.get("propensities", {}).get(name, scores["probability"]))


def recommendation_sentences(trace: dict[str, Any]) -> list[str]:
    """Opening, reasons, where the likelihood came from, defaults, withheld options, closing."""
    book, served = templates()["recommendation"], trace["recommendation"]
    figures = recommendation_figures(trace)
    likelihood = "model" if served.get("model") else "prior"
    if served.get("propensity") and not served.get("model"):
        likelihood = "defaults"
    sentences = [fill(book["opening"], figures), *(r["text"] for r in served["reasons"])]
    sentences.append(fill(book[likelihood], figures))
    if likelihood == "model" and figures["ranked"] != figures["probability"]:
        sentences.append(fill(book["shrunk"], figures))
    if figures["names"] and likelihood != "defaults":
        sentences.append(fill(book["defaults"], figures))
    if trace.get("rules_fired"):
        sentences.append(fill(book["withheld"], figures))
    return [s for s in sentences if s] + [book["closing"]]


def generic_sentences(trace: dict[str, Any]) -> list[str]:
    """The kind and date of any other decision, its defaults and rules."""
    book = templates()["generic"]
    created = str(trace.get("created_at", ""))[:10]
    figures = {
        "kind": str(trace.get("kind", "decision")).replace("_", " "),
        "created_at": say_date(dt.date.fromisoformat(created)) if created else "an unknown date",
        "names": default_names(trace),
        "rules": "; ".join(rule_words(trace)),
    }
    keys = ["opening"] + (["defaults"] if figures["names"] else [])
    keys += ["withheld"] if figures["rules"] else []
    return [s for k in keys if (s := fill(book[k], figures))]

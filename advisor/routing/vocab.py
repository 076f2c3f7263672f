"""The slot vocabularies, each read from the file that owns it (never copied here)."""

from __future__ import annotations

import re

from advisor.routing.slots import Vocabulary, topics_yaml

FLAGS = re.IGNORECASE


def accounts_and_categories() -> dict[str, Vocabulary]:
    """Accounts, categories and month windows in the customer's words (topics.yaml)."""
    data = topics_yaml()
    table = {"account": "accounts", "category": "categories", "month": "months_words"}
    return {
        kind: [
            (re.compile(_bounded(word), FLAGS), value)
            for value, words in data[key].items()
            for word in words
        ]
        for kind, key in table.items()
    }


def merchants(extra: list[str]) -> Vocabulary:
    """The synthetic bank's merchants (its catalogue) and the extra names of slots.yaml."""
    from portfolio_context.catalog import DISCRETIONARY, TRAVEL_MERCHANTS

    names = [m for shops, *_ in DISCRETIONARY.values() for m in shops] + TRAVEL_MERCHANTS
    names += [e.upper() for e in extra]
    return [(re.compile(_literal(name), FLAGS), name) for name in dict.fromkeys(names)]


def products() -> Vocabulary:
    """Product names from the product corpus, with or without the bank's name; value the id."""
    from retrieval.products import load_products

    found: Vocabulary = []
    for product in load_products():
        if product.type == "services":
            continue
        short = product.name.removeprefix("Northbank ").strip()
        found.append((re.compile(rf"(?:northbank\s+)?{_literal(short)}", FLAGS), product.id))
    return found


def _literal(name: str) -> str:
    """A name as a pattern: word-bounded, flexible spaces, apostrophe optional."""
    parts = [re.escape(w).replace("'", "'?") for w in name.split()]
    return r"\b" + r"\s+".join(parts) + r"(?!\w)"


def _bounded(word: str) -> str:
    """A topics.yaml word (a regex fragment) starting at a word boundary."""
    return word if word.startswith(r"\b") else r"\b" + word

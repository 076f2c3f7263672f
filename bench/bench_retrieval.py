"""Retrieval quality and speed in one run: full and incremental ingestion, recall@5, MRR, p50.

Builds a fresh index of the whole corpus in a temporary directory, re-ingests it unchanged,
then with one product paragraph edited, evaluates the labelled questions at section level and
times every query (embedding included). Writes `evals/retrieval/report.json` and a section of
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from advisor.settings import Settings
from bench.report import replace_section
from evals.retrieval_metrics import QUESTIONS_DIR, evaluate, load_questions
from retrieval.products import PRODUCTS_DIR
from retrieval.service import RetrievalService

BEGIN, END = "<!-- bench_retrieval:begin -->", "<!-- bench_retrieval:end -->"


def ingestion(work: Path, regulations: Path) -> tuple[RetrievalService, dict[str, Any]]:
    """Full build, unchanged re-run and one edited paragraph; seconds and counts of each."""
    products = work / "products"
    shutil.copytree(PRODUCTS_DIR, products)
    service = RetrievalService(work / "var", None, regulations, products)
    full = service.ingest()
    unchanged = service.ingest()
    target = products / "hysave.yaml"
    target.write_text(target.read_text().replace("Overview", "Overview of the account", 1))
    edited = service.ingest()
    return service, {
        "full": full.__dict__,
        "unchanged": unchanged.__dict__,
        "one_edit": edited.__dict__,
        "chunks": service.index().count(),
    }


def latency(service: RetrievalService, questions: list[str]) -> dict[str, float]:
    """Per-query search time (query embedding included), warm."""
    service.search("warm up the model", 5)
    times = []
    for question in questions:
        start = time.perf_counter()
        service.search(question, 5)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"p50_ms": statistics.median(times), "p95_ms": times[int(0.95 * (len(times) - 1))]}


def render(result: dict[str, Any], argv: list[str]) -> str:
    """The Markdown section."""
    quality, ing, lat = result["quality"], result["ingestion"], result["latency"]
    rows = [
        f"| {source} | {s['questions']} | {s['recall']:.3f} | {s['mrr']:.3f} |"
        for source, s in quality["by_source"].items()
    ]
    return "\n".join(
        [
            BEGIN,
            "## Retrieval (regulations + product corpus, hybrid dense + BM25 by section)",
            "",
            "Each section scores its best passage's cosine + its centroid's cosine + 0.4 x its "
            "best BM25 (scaled to the query's best), all passages scored exactly in memory; the "
            "query gains the legal terms of its plain words (`retrieval/glossary.yaml`).",
            "",
            f"Command: `{' '.join(['python', *argv])}` ({dt.date.today()}). Section-level recall@5 "
            f"and MRR@5 on {quality['questions']} labelled customer questions "
            f"(`evals/retrieval/questions_*.yaml`); details in `evals/retrieval/report.json`.",
            "",
            "| source | questions | recall@5 | MRR |",
            "|---|---|---|---|",
            *rows,
            f"| **all** | {quality['questions']} | **{quality['recall']:.3f}** | "
            f"**{quality['mrr']:.3f}** |",
            "",
            f"Target recall@5 ≥ 0.90. Search latency (query embedding included, {ing['chunks']} "
            f"chunks): p50 **{lat['p50_ms']:.1f} ms**, p95 {lat['p95_ms']:.1f} ms "
            "(target p50 ≤ 30 ms).",
            f"Ingestion: full build {ing['full']['seconds']:.1f} s ({ing['full']['added']} chunks "
            f"embedded); unchanged re-run {ing['unchanged']['seconds']:.1f} s "
            f"({ing['unchanged']['added'] + ing['unchanged']['updated']} embedded); one edited "
            f"paragraph {ing['one_edit']['seconds']:.1f} s "
            f"({ing['one_edit']['updated']} re-embedded).",
            END,
        ]
    )


def main() -> None:
    """Run, write the JSON report and the BENCHMARKS.md section."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="BENCHMARKS.md")
    args = parser.parse_args()
    regulations = Settings().shared_data_dir / "regulations"
    with tempfile.TemporaryDirectory(prefix="advisor-retrieval-") as tmp:
        service, ingest_report = ingestion(Path(tmp), regulations)
        items = load_questions()
        quality = evaluate(service.searcher(), items, k=5)
        result = {
            "ingestion": ingest_report,
            "quality": quality,
            "latency": latency(service, [i.question for i in items]),
        }
    (QUESTIONS_DIR / "report.json").write_text(json.dumps(result, indent=2) + "\n")
    section = render(result, sys.argv)
    replace_section(Path(args.out), BEGIN, END, section)
    print(section)


if __name__ == "__main__":
    main()

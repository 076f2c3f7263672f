"""Model or draft, measured: everyday questions over the seeded customers on the embedded model.

Reports, per topic and overall, the share of answers that kept the model's wording, that were
completed from the draft, that fell back, and that retracted shown text, plus the time to first
visible text; with `--before REV` the same questions run on the code at REV (a git worktree)
in alternating rounds, and the first-visible-text ratio compares the two in one run.

    python bench/bench_answers.py --customers 20 --before d049099 --out BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- bench_answers:begin -->", "<!-- bench_answers:end -->"
QUESTIONS = [
    "What's my checking balance?",
    "What is my credit card balance?",
    "How much did I spend eating out last month?",
    "How much do I spend on groceries a month?",
    "What bills do I have coming up?",
    "What's my debt to income ratio?",
    "I just got paid. What should I do with the extra money?",
    "I just got paid. Should I move some money to savings?",
    "How long would my emergency fund last?",
    "How is my portfolio allocated?",
]


async def one_turn(chat: Any, customer: str, question: str) -> dict[str, Any]:
    """How one turn ended and when its first text was visible."""
    start, first, retracted, done, reasons = time.perf_counter(), None, False, {}, []
    late = False  # the model's text was on screen when the answer fell back
    turn = chat.prepare(customer, question, None)
    async for event in chat.stream(turn):
        if event.event == "token" and first is None:
            first = time.perf_counter() - start
        elif event.event == "grounding":
            retracted = retracted or bool(event.data.get("retract"))
            reasons.append(event.data.get("reason"))
            late = late or (event.data.get("outcome") == "fallback" and first is not None)
        elif event.event == "done":
            done = event.data
    return {
        "customer": customer,
        "question": question,
        "topic": done.get("topic"),
        "grounding": done.get("grounding"),
        "retracted": retracted,
        "first_visible_ms": None if first is None else first * 1000,
        "text": done.get("text", ""),
        "reasons": reasons,
        "fell_back_after_text": late,
    }


def build_chat() -> Any:
    """The chat service of whatever code is on sys.path, on the embedded model."""
    from advisor.chat.service import ChatService
    from advisor.context_service import ContextService
    from advisor.llm import create_backend
    from advisor.rails.service import load_rails
    from advisor.settings import get_settings
    from retrieval.service import RetrievalService

    settings = get_settings()
    context = ContextService(settings.resolved_database_url, settings.emergency_buffer_usd)
    backend = create_backend(settings.llm)
    retrieval = RetrievalService(
        settings.var_dir, settings.chroma_url, settings.shared_data_dir / "regulations"
    )
    make = getattr(ChatService, "from_settings", ChatService)
    chat = make(settings, context, backend, retrieval, load_rails(settings))
    backend.warm(chat.messages_for_warmup())
    return chat


def run_here(customers: int, out: Path) -> None:
    """Every question for the first `customers` customers, in this process."""
    from sqlalchemy import select

    from advisor.settings import get_settings
    from portfolio_context.db import session_scope
    from portfolio_context.models import Customer

    with session_scope(get_settings().resolved_database_url) as db:
        ids = list(db.scalars(select(Customer.id).order_by(Customer.id)))[:customers]
    chat = build_chat()
    turns = [asyncio.run(one_turn(chat, c, q)) for c in ids for q in QUESTIONS]
    out.write_text(json.dumps(turns))


def run_child(code: Path, customers: int) -> list[dict[str, Any]]:
    """One run of this script's measuring half on the code in `code`, in a fresh process."""
    with tempfile.NamedTemporaryFile(suffix=".json") as handle:
        env = {**os.environ, "PYTHONPATH": str(code), "ADVISOR_VAR_DIR": str(ROOT / "var")}
        command = [sys.executable, __file__, "--here", handle.name, "--customers", str(customers)]
        subprocess.run(command, cwd=code, env=env, check=True)
        result: list[dict[str, Any]] = json.loads(Path(handle.name).read_text())
        return result


def worktree(rev: str) -> Path:
    """A checkout of `rev` beside the repository (made once)."""
    path = Path(tempfile.gettempdir()) / f"advisor-before-{rev}"
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), rev], cwd=ROOT, check=True)
    return path


def shares(turns: list[dict[str, Any]]) -> dict[str, float]:
    """Share of answers by how they ended."""
    counts = Counter(t["grounding"] for t in turns)
    total = len(turns) or 1
    return {
        "model": counts["model"] / total,
        "draft": counts["deterministic"] / total,
        "completed": counts["completed"] / total,
        "fallback": counts["fallback"] / total,
        "retracted": sum(t["retracted"] for t in turns) / total,
        "late": sum(t.get("fell_back_after_text", False) for t in turns) / total,
        "left": sum(t.get("fell_back_after_text", False) and not t["retracted"] for t in turns)
        / total,
    }


def p50(turns: list[dict[str, Any]]) -> float:
    """Median time to first visible text (ms)."""
    return statistics.median(t["first_visible_ms"] for t in turns if t["first_visible_ms"])


def render(after: list[dict[str, Any]], before: list[dict[str, Any]], argv: list[str]) -> str:
    """The BENCHMARKS.md section."""
    now = shares(after)
    lines = [
        BEGIN,
        "## Model or draft: everyday questions (bench/bench_answers.py)",
        "",
        f"Run {dt.date.today()}: `python bench/bench_answers.py {' '.join(argv)}`: "
        f"{len(QUESTIONS)} everyday questions for each of {len(after) // len(QUESTIONS)} "
        "seeded customers, on the embedded model, rails on.",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| answers in the model's own words | {now['model']:.1%} |",
        f"| model's words completed or corrected by the draft | {now['completed']:.1%} |",
        f"| answers that fell back to the draft | {now['fallback']:.1%} |",
        f"| answers that fell back after the model's text was shown | {now['late']:.1%} |",
        f"| answers that retracted text already shown (target 0) | {now['retracted']:.1%} |",
        f"| answers that left the model's text on screen before the draft | {now['left']:.1%} |",
        f"| first visible text, p50 | {p50(after):.0f} ms |",
    ]
    if before:
        old = shares(before)
        lines += [
            f"| before the change ({len(before)} turns): fell back; after text was shown; "
            f"left that text on screen | {old['fallback']:.1%}; {old['late']:.1%}; "
            f"{old['left']:.1%} |",
            f"| first visible text p50, now / before (target at most 1.5) | "
            f"{p50(after) / p50(before):.2f} ({p50(after):.0f} / {p50(before):.0f} ms) |",
        ]
    lines += [
        "",
        "| topic | answers | model's words | completed | fell back | the draft, by the rules |",
        "|---|---|---|---|---|---|",
    ]
    by_topic: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for turn in after:
        by_topic[str(turn["topic"])].append(turn)
    for topic, turns in sorted(by_topic.items()):
        s = shares(turns)
        cells = [f"{s[k]:.0%}" for k in ("model", "completed", "fallback", "draft")]
        lines.append(f"| {topic} | {len(turns)} | {' | '.join(cells)} |")
    return "\n".join([*lines, "", END])


def main() -> None:
    """Measure, compare, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds per version")
    parser.add_argument("--before", help="a git revision to compare against")
    parser.add_argument("--here", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help="BENCHMARKS.md to update")
    parser.add_argument("--json", type=Path, help="write every turn here")
    parser.add_argument("--from-json", type=Path, help="render a run saved with --json")
    args = parser.parse_args()
    if args.here:
        run_here(args.customers, args.here)
        return
    after: list[dict[str, Any]] = []
    before: list[dict[str, Any]] = []
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        after, before = saved["after"], saved["before"]
    old = worktree(args.before) if args.before and not args.from_json else None
    for _ in range(0 if args.from_json else args.rounds):
        if old is not None:
            before += run_child(old, args.customers)
        after += run_child(ROOT, args.customers)
    if args.json:
        args.json.write_text(json.dumps({"after": after, "before": before}, indent=1))
    section = render(after, before, sys.argv[1:])
    print(section)
    if args.out:
        sys.path.insert(0, str(ROOT))
        from bench.report import replace_section

        replace_section(args.out, BEGIN, END, section)


if __name__ == "__main__":
    main()

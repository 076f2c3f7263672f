"""llama.cpp decode threads: 1 against all cores, on an idle machine and beside a competing load.

Each setting generates the same answer-sized completions; the competing load is one busy
process per core (what another service on the host, or the embedder of the next turn, does).

    python bench/bench_threads.py --runs 5 --out BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import statistics
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from advisor.llm import create_backend  # noqa: E402
from advisor.llm.base import ChatMessage, GenerationRequest  # noqa: E402
from advisor.settings import LLMSettings  # noqa: E402

BEGIN, END = "<!-- bench_threads:begin -->", "<!-- bench_threads:end -->"
PROMPT = [
    ChatMessage("system", "You are Northbank's assistant. Reword the draft for the customer."),
    ChatMessage(
        "user",
        "Question: What's my debt to income ratio?\nDraft: Your debt-to-income ratio is 20.0%: "
        "monthly debt payments of $900.00 against monthly income of $4,500.00.",
    ),
]


def spin(until: float) -> None:
    """Keep one core busy until the given wall time."""
    while time.time() < until:
        pass


@contextmanager
def competing_load(on: bool, seconds: float = 600.0) -> Any:
    """One busy process per core while the block runs (nothing when `on` is false)."""
    workers = [
        multiprocessing.Process(target=spin, args=(time.time() + seconds,), daemon=True)
        for _ in range((os.cpu_count() or 2) if on else 0)
    ]
    for worker in workers:
        worker.start()
    try:
        yield
    finally:
        for worker in workers:
            worker.terminate()


def generate(backend: Any, tokens: int) -> tuple[float, float, int]:
    """Seconds to the first token, to the last, and how many deltas came."""
    request = GenerationRequest(PROMPT, tokens, 0.0, ["\n\n"])
    start, first, count = time.perf_counter(), None, 0
    for _ in backend.execute(request, threading.Event()):
        first = first or time.perf_counter() - start
        count += 1
    return first or 0.0, time.perf_counter() - start, count


def measure(runs: int, tokens: int) -> list[dict[str, Any]]:
    """Every (threads, load) setting, interleaved run by run."""
    cores = os.cpu_count() or 2
    backends = {
        n: create_backend(LLMSettings(engine="in-process", n_threads=n, n_threads_batch=n))
        for n in (1, cores)
    }
    results: dict[tuple[int, bool], list[tuple[float, float, int]]] = {
        (n, load): [] for n in backends for load in (False, True)
    }
    for backend in backends.values():
        generate(backend, 8)  # warm
    for _ in range(runs):
        for load in (False, True):
            with competing_load(load):
                time.sleep(0.2)
                for n, backend in backends.items():
                    results[(n, load)].append(generate(backend, tokens))
    return [
        {
            "threads": n,
            "load": load,
            "first_s": statistics.median(r[0] for r in rows),
            "total_s": statistics.median(r[1] for r in rows),
            "tokens_per_s": statistics.median(r[2] / r[1] for r in rows),
        }
        for (n, load), rows in results.items()
    ]


def render(rows: list[dict[str, Any]], argv: list[str]) -> str:
    """The BENCHMARKS.md section."""
    lines = [
        BEGIN,
        "## llama.cpp threads under a competing load (bench/bench_threads.py)",
        "",
        f"Run {dt.date.today()}: `python bench/bench_threads.py {' '.join(argv)}`, the embedded "
        "model, medians; the load is one busy process per core.",
        "",
        "| threads | competing load | first token | whole answer | tokens/s |",
        "|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: (r["load"], r["threads"])):
        lines.append(
            f"| {r['threads']} | {'yes' if r['load'] else 'no'} | {r['first_s'] * 1000:.0f} ms | "
            f"{r['total_s'] * 1000:.0f} ms | {r['tokens_per_s']:.1f} |"
        )
    return "\n".join([*lines, "", END])


def main() -> None:
    """Measure and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    section = render(measure(args.runs, args.tokens), sys.argv[1:])
    print(section)
    if args.out:
        from bench.report import replace_section

        replace_section(args.out, BEGIN, END, section)


if __name__ == "__main__":
    main()

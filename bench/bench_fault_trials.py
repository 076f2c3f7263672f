"""Randomised fault trials of the orchestration (tests/fault_trials.py), counted.

    .venv/bin/python -m bench.bench_fault_trials --trials 1000 --out BENCHMARKS.md

Each trial: the payroll sweep or the credit-limit offer on a fresh copy of a small SQLite
bank, a kill (every later commit fails, DBOS destroyed and launched again) or one transient
error at a random writing commit, the client's retries, then the invariants (money moved
exactly once or not at all, the ledger balanced, one nudge or offer notification, the audit
chain verifying with one entry per state change).
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import replace_section  # noqa: E402
from tests.fault_trials import Trial, run_trials  # noqa: E402

BEGIN, END = "<!-- bench_fault_trials:begin -->", "<!-- bench_fault_trials:end -->"


def share(count: int, seed: int) -> list[Trial]:
    """One worker's trials, in its own temporary directory."""
    with tempfile.TemporaryDirectory() as tmp:
        return run_trials(count, seed, Path(tmp))


def in_parallel(count: int, seed: int, workers: int) -> list[Trial]:
    """`count` trials over `workers` processes (worker i draws from seed + i)."""
    sizes = [count // workers + (1 if i < count % workers else 0) for i in range(workers)]
    # A Pool terminates its workers on exit: DBOS leaves threads that would keep them alive.
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        parts = pool.starmap(share, zip(sizes, [seed + i for i in range(workers)], strict=True))
    return [trial for part in parts for trial in part]


def table(trials: list[Trial], seconds: float, seed: int, workers: int) -> str:
    """The BENCHMARKS.md section."""
    rows = Counter((t.workflow, t.mode) for t in trials)
    fired = Counter((t.workflow, t.mode) for t in trials if t.fired)
    broken = Counter((t.workflow, t.mode) for t in trials if t.violations)
    restarts = Counter((t.workflow, t.mode) for t in trials if t.restarted)
    lines = [
        BEGIN, "## Randomised fault trials (bench/bench_fault_trials.py)", "",
        f"Command: `.venv/bin/python -m bench.bench_fault_trials --trials {len(trials)} "
        f"--seed {seed} --workers {workers}` ({dt.date.today()}, {platform.machine()}, Python "
        f"{platform.python_version()}, 2 shared cores). {len(trials)} trials in "
        f"{seconds:.0f} s. A fault lands on a random writing commit of the workflow (the "
        "bank's, the audit log's or DBOS's own): a kill fails it and every later one, then "
        "DBOS is launched again and the client retries; a raise fails one bank commit.", "",
        "| workflow | fault | trials | fault fired | restarts | trials with a violation |",
        "|---|---|---|---|---|---|",
    ]  # fmt: skip
    for key in sorted(rows):
        lines.append(f"| {key[0]} | {key[1]} | {rows[key]} | {fired[key]} | {restarts[key]} "
                     f"| **{broken[key]}** |")  # fmt: skip
    lines += ["", *_violations(trials), END]
    return "\n".join(lines)


def _violations(trials: list[Trial]) -> list[str]:
    """Every violation seen, counted (or that there were none)."""
    seen = Counter(v.split(" for ")[0] for t in trials for v in t.violations)
    if not seen:
        return ["No invariant was broken: no duplicate posting, no lost event, no duplicate "
                "notification, the audit chain verified after every trial."]  # fmt: skip
    return [f"- {what}: {n}" for what, n in seen.most_common()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=2, help="processes (each its own DBOS)")
    args = parser.parse_args()
    started = time.monotonic()
    trials = in_parallel(args.trials, args.seed, args.workers)
    text = table(trials, time.monotonic() - started, args.seed, args.workers)
    print(text)
    if args.out:
        replace_section(args.out, BEGIN, END, text)


if __name__ == "__main__":
    main()

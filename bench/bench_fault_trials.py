"""Randomised fault trials of the orchestration (tests/fault_trials.py), counted and timed.

    nice -n 19 .venv/bin/python -m bench.bench_fault_trials --trials 1000 --out BENCHMARKS.md

Each trial: the payroll sweep or the credit-limit offer on a fresh copy of a small SQLite
bank, a kill (every later commit fails, DBOS destroyed and launched again) or one transient
error at a random writing commit, the client's retries, a wait (bounded) for the workflow's
terminal state, timed from the last launch of DBOS, then the invariants (money moved exactly
once or not at all, the ledger balanced, one nudge or offer notification, the audit chain
verifying with one entry per state change). --json keeps every trial for a closer look.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fault_trials_report import BEGIN, END, table  # noqa: E402
from bench.report import replace_section  # noqa: E402
from tests.fault_trials import Trial, run_trials  # noqa: E402


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


def load() -> str:
    """The load averages now."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f})"


def machine() -> str:
    """Date, architecture, cores, Python."""
    return (f"{dt.date.today()}, {platform.machine()}, {os.cpu_count()} shared cores, Python "
            f"{platform.python_version()}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="every trial, as JSON lines")
    parser.add_argument("--workers", type=int, default=2, help="processes (each its own DBOS)")
    args = parser.parse_args()
    before, started = load(), time.monotonic()
    trials = in_parallel(args.trials, args.seed, args.workers)
    command = (f".venv/bin/python -m bench.bench_fault_trials --trials {args.trials} "
               f"--seed {args.seed} --workers {args.workers}")  # fmt: skip
    text = table(trials, time.monotonic() - started, command,
                 f"{machine()}; {before} at the start, {load()} at the end")  # fmt: skip
    print(text)
    if args.json:
        args.json.write_text("".join(json.dumps(dataclasses.asdict(t)) + "\n" for t in trials))
    if args.out:
        replace_section(args.out, BEGIN, END, text)


if __name__ == "__main__":
    main()

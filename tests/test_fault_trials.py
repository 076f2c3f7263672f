"""Randomised fault trials (tests/fault_trials.py): a kill or a transient error at a random
writing commit of the payroll sweep or the credit-limit offer, recovery, the workflow's
terminal state within the bound, then the invariants.
The short version runs here; `make bench` runs 1,000 (bench/bench_fault_trials.py)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.fault_trials import run_trials

TRIALS = 30


def test_randomised_faults_break_no_invariant(tmp_path: Path) -> None:
    trials = run_trials(TRIALS, seed=2026, root=tmp_path)
    # Every workflow reached its terminal state within the bound, else where it stood.
    unfinished = {t.number: t.stuck for t in trials if t.finish_s is None}
    assert unfinished == {}
    broken = {t.number: t.violations for t in trials if t.violations}
    assert broken == {}
    drawn = Counter((t.workflow, t.mode) for t in trials)
    assert set(drawn) == {(w, m) for w in ("payroll", "credit") for m in ("kill", "raise")}
    assert sum(t.fired for t in trials) >= TRIALS * 0.8  # the faults did happen
    assert any(t.restarted for t in trials)

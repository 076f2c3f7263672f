"""The BENCHMARKS.md section of the randomised fault trials (bench/bench_fault_trials.py)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable

from tests.fault_trials import BOUND_S, Trial

BEGIN, END = "<!-- bench_fault_trials:begin -->", "<!-- bench_fault_trials:end -->"
# A violation naming a count above the one expected: something happened twice.
TWICE = [
    (re.compile(r"^(\d+) actions proposed"), 1), (re.compile(r"^(\d+) nudges for"), 1),
    (re.compile(r"^(\d+) limit changes"), 1), (re.compile(r"^(\d+) notifications for offer"), 1),
    (re.compile(r"^(\d+) postings for an action"), 2),
]  # fmt: skip
MONEY = ("has no matching transaction", "is not its postings' sum", "balances ")
LOST = ("the event or its one posting is missing",)


def duplicated(trial: Trial) -> bool:
    """Money or a notification twice: a count above the expected one, or balances off."""
    for message in trial.violations:
        if any(m in message for m in MONEY):
            return True
        for pattern, most in TWICE:
            found = pattern.match(message)
            if found and int(found.group(1)) > most:
                return True
    return False


def lost(trial: Trial) -> bool:
    """The accepted event (or its posting) is gone."""
    return any(m in v for v in trial.violations for m in LOST)


def quantiles(values: Iterable[float]) -> str:
    """'p50 / p99 / max' of seconds, or 'none'."""
    ordered = sorted(values)
    if not ordered:
        return "none"
    at = [ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] for q in (0.5, 0.99)]
    return f"{at[0]:.2f} s / {at[1]:.2f} s / {ordered[-1]:.2f} s (n={len(ordered)})"


def table(trials: list[Trial], seconds: float, command: str, load: str) -> str:
    """The section: per workflow and fault, then times to recovery, then what broke."""
    keys = sorted({(t.workflow, t.mode) for t in trials})
    tests: dict[str, Callable[[Trial], bool]] = {
        "all": lambda t: True, "fired": lambda t: t.fired, "restarted": lambda t: t.restarted,
        "stuck": lambda t: t.stuck is not None, "broken": lambda t: bool(t.violations),
    }  # fmt: skip
    count = {name: Counter((t.workflow, t.mode) for t in trials if test(t))
             for name, test in tests.items()}  # fmt: skip
    lines = [
        BEGIN, "## Randomised fault trials (bench/bench_fault_trials.py)", "",
        f"Command: `{command}`; {len(trials)} trials in {seconds:.0f} s; {load}. A fault lands "
        "on a random writing commit of the workflow (the bank's, the audit log's or DBOS's "
        "own): a kill fails it and every later one, then DBOS is launched again and the client "
        "retries; a raise fails one bank commit. Each trial then waits for the workflow's "
        f"terminal state (DBOS status and the event's outcome), at most {BOUND_S:.0f} s from "
        "the last launch of DBOS.", "",
        "| workflow | fault | trials | fault fired | restarts | unfinished after the bound "
        "| trials with a violation |", "|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for key in keys:
        lines.append(f"| {key[0]} | {key[1]} | {count['all'][key]} | {count['fired'][key]} | "
                     f"{count['restarted'][key]} | {count['stuck'][key]} | "
                     f"**{count['broken'][key]}** |")  # fmt: skip
    return "\n".join([*lines, "", *_times(trials), "", *_outcomes(trials), END])


def _times(trials: list[Trial]) -> list[str]:
    """Time to recovery (restart -> terminal state) and, without a restart, to the end."""
    lines = ["| from the last launch of DBOS to the workflow's terminal state | p50 / p99 / max |",
             "|---|---|"]  # fmt: skip
    for workflow in sorted({t.workflow for t in trials}):
        for restarted, what in ((True, "after a kill and restart"), (False, "no restart")):
            chosen = [t.finish_s for t in trials if t.workflow == workflow
                      and t.restarted == restarted and t.finish_s is not None]  # fmt: skip
            lines.append(f"| {workflow}, {what} | {quantiles(chosen)} |")
    late = sum(1 for t in trials if t.finish_s is not None and t.finish_s > 8)
    return [*lines, "", f"Trials whose workflow ended later than 8 s after the launch: {late}."]


def _outcomes(trials: list[Trial]) -> list[str]:
    """Duplicates, lost events, the unfinished ones described, every violation counted."""
    stuck = [t for t in trials if t.stuck is not None]
    lines = [f"Duplicate postings or notifications: **{sum(map(duplicated, trials))}** trials; "
             f"lost events: **{sum(map(lost, trials))}**; unfinished after {BOUND_S:.0f} s: "
             f"**{len(stuck)}**."]  # fmt: skip
    lines += [f"- unfinished: trial {t.number} ({t.workflow} {t.mode} at commit {t.at}): "
              f"{t.stuck}" for t in stuck[:20]]  # fmt: skip
    seen = Counter(v.split(" for ")[0] for t in trials for v in t.violations)
    lines += [f"- violation: {what}: {n}" for what, n in seen.most_common()]
    if not seen:
        lines.append("No invariant was broken: no duplicate posting, no lost event, no duplicate "
                     "notification, the audit chain verified after every trial.")  # fmt: skip
    return lines

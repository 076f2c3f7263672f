"""Evaluation reports: JSON for machines, HTML (with plots) for a risk committee, and compare."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from evals.html_report import render_html
from evals.runner import STATUSES, ConversationResult, TurnResult


def summarise(results: list[ConversationResult], target: str, seconds: float) -> dict[str, Any]:
    """The report: conversations passed, failed and pending; per suite and category; latency.

    A conversation with any pending check (a behaviour a later feature brings) is pending,
    never passed; one with a failed check or an error is failed.
    """
    turns = [t for r in results for t in r.turns]
    latencies = [t.latency_ms for t in turns if not t.error]
    return {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "target": target,
        "seconds": round(seconds, 1),
        "conversations": len(results),
        "turns": len(turns),
        **_status_counts(results),
        "checks": _check_counts(results),
        "answers": _answer_counts(turns),
        "suites": _groups(results, lambda r: r.conversation.suite),
        "categories": _groups(results, lambda r: r.conversation.category),
        "latency_ms": {
            "p50": _pct(latencies, 0.5),
            "p95": _pct(latencies, 0.95),
            "all": [round(v, 1) for v in latencies],
        },
        "results": [r.to_json() for r in results],
    }


def _pct(values: list[float], q: float) -> float:
    """Percentile, 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[int(q * (len(ordered) - 1))], 1)


def _check_counts(results: list[ConversationResult]) -> dict[str, int]:
    """How many checks passed, failed, or are pending a later feature."""
    counts: dict[str, int] = defaultdict(int)
    for result in results:
        for turn in result.turns:
            for check in turn.checks:
                counts[check.status] += 1
    return dict(counts)


def _answer_counts(turns: list[TurnResult]) -> dict[str, int]:
    """How the answers ended (the model's words kept, completed from the draft, fell back,
    deterministic, quoted) and how many took back text already shown."""
    counts: dict[str, int] = defaultdict(int)
    for turn in turns:
        if not turn.error:
            counts[turn.grounding or "unknown"] += 1
    counts["retracted"] = sum(t.retracted for t in turns)
    return dict(counts)


def _status_counts(results: list[ConversationResult]) -> dict[str, int]:
    """Conversations passed, failed and pending (every status present, zero included)."""
    return {status: sum(r.status == status for r in results) for status in STATUSES}


def _groups(results: list[ConversationResult], key: Any) -> dict[str, dict[str, Any]]:
    """Conversations, turns, passed, failed and pending per group; pass rate over all."""
    groups: dict[str, list[ConversationResult]] = defaultdict(list)
    for result in results:
        groups[key(result)].append(result)
    return {
        name: {
            "conversations": len(rs),
            "turns": sum(len(r.turns) for r in rs),
            **_status_counts(rs),
            "pass_rate": round(statistics.mean(r.passed for r in rs), 3),
        }
        for name, rs in sorted(groups.items())
    }


def headline(report: dict[str, Any]) -> str:
    """The one-line summary: conversations passed, failed and pending, turns, and answers."""
    line = (
        f"{report['passed']} passed, {report['failed']} failed, {report.get('pending', 0)} "
        f"pending of {report['conversations']} conversations ({report['turns']} turns)"
    )
    answers = report.get("answers") or {}
    kinds = ("model", "completed", "fallback", "retracted")
    if not any(answers.get(k) for k in kinds[:3]):
        return line
    return line + "; answers " + ", ".join(f"{k} {answers.get(k, 0)}" for k in kinds)


def write_report(report: dict[str, Any], directory: Path) -> tuple[Path, Path]:
    """DIR/report.json and DIR/report.html."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, html_path = directory / "report.json", directory / "report.html"
    json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    return json_path, html_path


def compare(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[str]]:
    """Conversations that regressed (now failed, not before), got fixed (failed before, not
    now), appeared or disappeared; passed <-> pending is neither."""
    old = {r["id"]: conversation_status(r) for r in before["results"]}
    new = {r["id"]: conversation_status(r) for r in after["results"]}
    common = old.keys() & new.keys()
    return {
        "regressed": sorted(i for i in common if new[i] == "failed" != old[i]),
        "fixed": sorted(i for i in common if old[i] == "failed" != new[i]),
        "added": sorted(new.keys() - old.keys()),
        "removed": sorted(old.keys() - new.keys()),
    }


def conversation_status(result: dict[str, Any]) -> str:
    """A reported conversation's status; reports older than statuses only say `passed`."""
    status = result.get("status")
    if status in STATUSES:
        return str(status)
    if status is not None:
        raise ValueError(f"conversation {result.get('id')!r}: unknown status {status!r}")
    return "passed" if result["passed"] else "failed"


def load_report(path: Path) -> dict[str, Any]:
    """A report.json (or the directory holding it)."""
    file = path / "report.json" if path.is_dir() else path
    data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    return data

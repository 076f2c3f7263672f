"""A load level's turns summarised, and the Markdown section of BENCHMARKS.md."""

from __future__ import annotations

import datetime as dt
import platform
from collections import Counter
from typing import Any

import numpy as np

BEGIN, END = "<!-- bench_load:begin -->", "<!-- bench_load:end -->"
THINK = {
    "none": "with no think time (closed loop: every session always has a turn in flight, a "
    "saturation test)",
    "human": "with human think time before each message (reading the last answer at 238 words "
    "a minute, typing the message at 36 words a minute: `bench/load/locustfile.py`)",
}


def markers(think: str) -> tuple[str, str]:
    """The section's markers: one section per think-time mode."""
    if think == "none":
        return BEGIN, END
    return f"<!-- bench_load_{think}:begin -->", f"<!-- bench_load_{think}:end -->"
MODEL = ("model", "completed", "fallback")  # groundings of a turn the model phrased


def pct(values: list[float], q: float) -> float | None:
    """The q-th percentile (linear), None without values."""
    return float(np.percentile(values, q)) if values else None


def summarise(samples: list[dict[str, Any]], duration_s: float) -> dict[str, Any]:
    """Throughput, time to first visible text, errors and rejections of one level."""
    ok = [s for s in samples if s["outcome"] == "ok"]
    ttft = [s["ttft_s"] for s in ok if s.get("ttft_s") is not None]
    model = [s for s in ok if s.get("grounding") in MODEL]
    model_ttft = [s["ttft_s"] for s in model if s.get("ttft_s") is not None]
    window = _window(samples) or duration_s
    errors = Counter(s.get("error", "?") for s in samples if s["outcome"] == "error")
    return {
        "turns": len(ok),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "rejected_503": sum(s.get("rejected", 0) for s in samples),
        "gave_up": sum(1 for s in samples if s["outcome"] == "rejected"),  # 503 after retries
        "window_s": window,
        "turns_per_s": len(ok) / window if window else 0.0,
        "model_turns": len(model),
        "fallbacks": sum(1 for s in model if s.get("grounding") == "fallback"),
        "shed": sum(1 for s in ok if s.get("shed")),
        "tokens_per_s": sum(s.get("completion_tokens", 0) for s in model) / window,
        **{f"ttft_p{q}_s": pct(ttft, q) for q in (50, 95, 99)},
        **{f"model_ttft_p{q}_s": pct(model_ttft, q) for q in (50, 95, 99)},
        "turn_p50_s": pct([s["turn_s"] for s in ok], 50),
    }


def _window(samples: list[dict[str, Any]]) -> float:
    """From the first turn's start to the last turn's end (one Locust process's clock)."""
    if not samples:
        return 0.0
    return float(max(s["ended"] for s in samples) - min(s["started"] for s in samples))


def _s(value: float | None) -> str:
    """Seconds for the table."""
    return "n/a" if value is None else f"{value:.2f}"


def row(engine: str, level: dict[str, Any]) -> str:
    """One table row: an engine at one concurrency."""
    s, m = level["summary"], level["machine"]
    ttft = " / ".join(_s(s[f"ttft_p{q}_s"]) for q in (50, 95, 99))
    model = " / ".join(_s(s[f"model_ttft_p{q}_s"]) for q in (50, 95, 99))
    return (
        f"| {engine} | {level['sessions']} | {s['turns']} | {s['turns_per_s']:.2f} | {ttft} | "
        f"{model} ({s['model_turns']}) | {s['tokens_per_s']:.1f} | **{s['errors']}** | "
        f"{s['rejected_503']} ({s['gave_up']}) | {s['fallbacks']} | {s.get('shed', 0)} | "
        f"{m['cpu_percent']:.0f}% | "
        f"{m['peak_mib']:.0f} | {m['load_before']:.1f} → {m['load_after']:.1f} |"
    )


def render(runs: list[dict[str, Any]], argv: list[str], notes: dict[str, Any]) -> str:
    """The section: one row per engine and concurrency, the idle memory, how it was run."""
    idle = "; ".join(
        f"{r['engine']}: {r['idle']['total_mib']:.0f} MiB idle "
        f"(server {r['idle']['server_mib']:.0f} MiB), back-end `{r['backend']}`"
        for r in runs
    )
    begin, end = markers(notes.get("think", "none"))
    return "\n".join(
        [
            begin,
            "## Load: concurrent multi-turn sessions on `/v1/chat` (Locust), think time: "
            f"{notes.get('think', 'none')}",
            "",
            f"Command: `{' '.join(['python', *argv])}` ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} "
            f"UTC, {platform.machine()}, {notes['cpus']} cores, Python "
            f"{platform.python_version()}). {notes['customers']} seeded customers in "
            f"{notes.get('database', 'SQLite')}; each Locust "
            f"user holds one session at a time (2-3 turns from `bench/load/locustfile.py`: "
            f"balances, spending with follow-ups, a name given in passing, ratios, a rules "
            f"question), {THINK[notes.get('think', 'none')]}, for {notes['duration_s']:.0f} s per "
            "level on loopback. Time to first visible text (TTFT) is measured at the client to "
            "the first `token` event with text, from the first attempt (a 503 is retried after "
            "its Retry-After); *model* counts only the turns the model phrased; *shed* counts the "
            "turns the grounded draft answered at once because every engine slot was taken "
            "(`shed_when_busy`). CPU is the "
            "server and its children (the engine), 100% = one core; memory is their summed "
            "resident set at its peak. **The machine was shared with other work**: the load "
            "average (1 min, before → after each level) says how much.",
            "",
            f"Idle: {idle}. Intent router {'on' if notes.get('router') else 'off (not trained)'}"
            f", corpus index {'present' if notes.get('index') else 'absent'} in the var dir.",
            "",
            "| engine | sessions | turns | turns/s | TTFT p50 / p95 / p99 s | model TTFT p50 / "
            "p95 / p99 s (turns) | model tokens/s | errors | 503s (turns given up) | "
            "draft fallbacks | shed | CPU | peak MiB | load avg |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            *(row(r["engine"], level) for r in runs for level in r["levels"]),
            *database_table(runs),
            end,
        ]
    )


def database_table(runs: list[dict[str, Any]]) -> list[str]:
    """What a turn cost PostgreSQL (pg_stat_database deltas per completed turn), when measured."""
    rows = [
        f"| {r['engine']} | {level['sessions']} | {d['active_time']:.1f} | "
        f"{d['xact_commit'] + d['xact_rollback']:.1f} | {d['tup_returned'] + d['tup_fetched']:.0f} "
        f"| {d['tup_inserted'] + d['tup_updated'] + d['tup_deleted']:.1f} | "
        f"{d['blks_read']:.1f} |"
        for r in runs
        for level in r["levels"]
        if (d := level["summary"].get("db_per_turn"))
    ]
    if not rows:
        return []
    return [
        "",
        "PostgreSQL per completed turn (`pg_stat_database` of the bank's database, before and "
        "after each level):",
        "",
        "| engine | sessions | statement time ms | transactions | rows read | rows written | "
        "blocks read from disk |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        *(stored_line(r) for r in runs if r.get("stored")),
    ]


def stored_line(run: dict[str, Any]) -> str:
    """Bytes a stored turn, session and sealed vault take, after the run."""
    parts = [
        f"{table} {v['rows']:.0f} rows of {v['row_bytes']:.0f} bytes"
        for table, v in run["stored"].items()
    ]
    return f"Stored after the {run['engine']} run (mean row, without indexes): {'; '.join(parts)}."

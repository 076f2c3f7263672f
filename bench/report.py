"""Summarise a benchmark run and write it into BENCHMARKS.md (between markers)."""

from __future__ import annotations

import datetime as dt
import platform
import statistics
from pathlib import Path
from typing import Any

BEGIN, END = "<!-- bench_chat:begin -->", "<!-- bench_chat:end -->"


def summarise(raw: list[dict[str, float]], served: list[dict[str, Any]]) -> dict[str, float]:
    """Medians and ratios of the sequential runs."""
    model_tps = [r["tps"] for r in served if r.get("tps")]
    raw_ttft = statistics.median(r["ttft"] for r in raw)
    svc_ttft = statistics.median(r["ttft"] for r in served)
    svc_model = statistics.median(r["server_first_model_ms"] for r in served) / 1000
    return {
        "raw_tps": statistics.median(r["tps"] for r in raw),
        "service_tps": statistics.median(model_tps) if model_tps else float("nan"),
        "raw_ttft": raw_ttft,
        "service_ttft": svc_ttft,
        "added_visible_ms": (svc_ttft - raw_ttft) * 1000,
        "added_before_model_ms": (svc_model - raw_ttft) * 1000,
        "fallbacks": sum(1 for r in served if r["grounding"] != "model"),
        "turns": len(served),
    }


def rows(result: dict[str, Any], default: int | None) -> list[str]:
    """Table rows for one thread configuration."""
    s, crowd = summarise(result["raw"], result["served"]), result["crowd"]
    mib = 1024 * 1024
    tag = f"{result['n_threads']} decode thread(s)" + (
        " (default)" if result["n_threads"] == default else ""
    )
    return [
        f"| {tag} | decode tokens/s (median) | {s['raw_tps']:.1f} | {s['service_tps']:.1f} | "
        f"ratio **{s['service_tps'] / s['raw_tps']:.3f}** (≥ 0.95) |",
        f"| {tag} | time to first token (p50, warm) | {s['raw_ttft'] * 1000:.0f} ms | "
        f"{s['service_ttft'] * 1000:.0f} ms | added **{s['added_visible_ms']:.0f} ms** visible, "
        f"{s['added_before_model_ms']:.0f} ms before the model's first token (≤ 50 ms) |",
        f"| {tag} | {crowd['sessions']} concurrent sessions | | | errors **{crowd['errors']}**, "
        f"TTFT p50 {crowd['ttft_p50_s']:.2f} s, p95 {crowd['ttft_p95_s']:.2f} s |",
        f"| {tag} | server resident memory | | | {result['rss'] / mib:.0f} MiB loaded, "
        f"{result['rss_after'] / mib:.0f} MiB after the concurrent run |",
        f"| {tag} | turns that fell back to the draft | | | "
        f"{s['fallbacks']:.0f} of {s['turns']:.0f} |",
    ]


def render(results: list[dict[str, Any]], default: int | None, argv: list[str]) -> str:
    """The Markdown section."""
    table = [row for result in results for row in rows(result, default)]
    return "\n".join(
        [
            BEGIN,
            "## Chat API vs raw llama-cpp-python (SmolLM2-135M-Instruct Q4_1, 2 cores)",
            "",
            f"Command: `{' '.join(['python', *argv])}` ({dt.date.today()}, {platform.machine()}, "
            f"Python {platform.python_version()}). Raw and served turns alternate on the same six "
            "prompts (built by the service for five customers), same model, greedy decoding, same "
            "token budget and stop strings, same thread settings.",
            "",
            "| configuration | measure | raw llama.cpp | `/v1/chat` | result (target) |",
            "|---|---|---|---|---|",
            *table,
            "",
            "*Added visible* is measured at the client: first `token` event minus raw first token "
            "(HTTP, auth, context, prompt, and the grounding gate holding the first word until a "
            "copied label is ruled out). *Before the model's first token* is the server's own time "
            "from request preparation to the first model delta, minus raw time to first token. "
            "Decode speed counts the turns that kept the model's text. Concurrent sessions queue "
            "on one llama.cpp context, so their time to first token grows with the queue.",
            END,
        ]
    )


def write_report(
    out: Path, results: list[dict[str, Any]], default: int | None, argv: list[str]
) -> None:
    """Replace the bench_chat section of `out` (or append it) and print it."""
    section = render(results, default, argv)
    replace_section(out, BEGIN, END, section)
    print(section)


def replace_section(out: Path, begin: str, end: str, section: str) -> None:
    """Put `section` between its markers in `out`, or append it."""
    text = out.read_text() if out.exists() else "# Benchmarks\n\n"
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    out.write_text(text)

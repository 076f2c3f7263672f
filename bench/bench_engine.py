"""The llama-server engine against the in-process back-end on the service's own prompts.

One run, same machine: single-session time to first token and decode tokens/s of each
(interleaved, so drift hits both), then N concurrent sessions on each (TTFT p50/p95,
aggregate tokens/s) and the memory of the engine process and of this one. A short check;
the Locust load test drives the whole service.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from advisor.llm import GenerationRequest, LLMBackend, create_backend
from advisor.llm.engine_backend import LlamaServerBackend
from advisor.settings import LLMSettings, Settings
from bench.bench_chat import pct, prompts_for
from portfolio_context.seed import seed_bank

BEGIN, END = "<!-- bench_engine:begin -->", "<!-- bench_engine:end -->"


def timed(
    backend: LLMBackend, request: GenerationRequest, start: float | None = None
) -> dict[str, Any]:
    """TTFT (from `start`, default now), decode tokens/s and tokens of one generation."""
    start = time.perf_counter() if start is None else start
    stamps = [time.perf_counter() for _ in backend.execute(request, threading.Event())]
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    return {
        "ttft": stamps[0] - start if stamps else float("nan"),
        "tps": (len(stamps) - 1) / span if span > 0 else 0.0,
        "tokens": len(stamps),
        "end": stamps[-1] if stamps else time.perf_counter(),
    }


def crowd(backend: LLMBackend, requests: list[GenerationRequest], n: int) -> dict[str, float]:
    """n generations started at once: TTFT percentiles and aggregate tokens/s."""
    start = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        runs = list(
            pool.map(lambda i: timed(backend, requests[i % len(requests)], start), range(n))
        )
    wall = max(r["end"] for r in runs) - start
    ttfts = [r["ttft"] for r in runs]
    return {
        "p50": pct(ttfts, 0.5),
        "p95": pct(ttfts, 0.95),
        "agg_tps": sum(r["tokens"] for r in runs) / wall,
        "wall": wall,
    }


def measure(settings: LLMSettings, requests: list[GenerationRequest], args: Any) -> dict[str, Any]:
    """Sequential single sessions on both back-ends, interleaved; then each one's crowd."""
    engine = create_backend(settings)
    inproc = create_backend(
        LLMSettings(**{**settings.model_dump(), "engine": "in-process", "backend": ""})
    )
    assert isinstance(engine, LlamaServerBackend)
    proc = psutil.Process(engine.engine.pid or 0)
    for backend in (engine, inproc):
        for request in requests:
            timed(backend, request)  # warm every prompt's prefix once
    rss_idle = proc.memory_info().rss
    single: dict[str, list[dict[str, Any]]] = {"engine": [], "in-process": []}
    for _ in range(args.rounds):
        for request in requests:
            single["engine"].append(timed(engine, request))
            single["in-process"].append(timed(inproc, request))
    crowds = {"engine": crowd(engine, requests, args.concurrency)}
    rss_load = proc.memory_info().rss
    crowds["in-process"] = crowd(inproc, requests, args.concurrency)
    engine.close()
    return {
        "single": single,
        "crowds": crowds,
        "rss_idle": rss_idle,
        "rss_load": rss_load,
        "rss_self": psutil.Process().memory_info().rss,
        "load": os.getloadavg(),
    }


def report(result: dict[str, Any], settings: LLMSettings, args: Any) -> str:
    """The BENCHMARKS.md section."""
    mib, lines = 1024 * 1024, []
    med = {k: statistics.median for k in ("ttft", "tps")}
    single = {
        name: {k: med[k](r[k] for r in runs) for k in med}
        for name, runs in result["single"].items()
    }
    lines += [
        BEGIN,
        "## The llama-server engine vs the in-process back-end (`bench/bench_engine.py`)",
        "",
        f"{dt.date.today()}, {platform.machine()} {os.cpu_count()} cores, "
        f"load average {result['load'][0]:.1f} at the end (a shared machine); "
        f"engine: {settings.engine_slots} slots x {settings.engine_ctx_per_slot} context, "
        f"{settings.engine_threads or 'default'} thread(s); the service's own prompts, "
        f"{args.rounds} rounds; `{' '.join(sys.argv)}`.",
        "",
        "| measure | engine (llama-server) | in-process (llama-cpp-python) |",
        "|---|---|---|",
        f"| single session TTFT, median | {single['engine']['ttft'] * 1000:.0f} ms | "
        f"{single['in-process']['ttft'] * 1000:.0f} ms |",
        f"| single session decode tokens/s, median | {single['engine']['tps']:.1f} | "
        f"{single['in-process']['tps']:.1f} |",
    ]
    c = result["crowds"]
    n = args.concurrency
    lines += [
        f"| {n} concurrent: TTFT p50 / p95 | {c['engine']['p50']:.2f} / {c['engine']['p95']:.2f} s"
        f" | {c['in-process']['p50']:.2f} / {c['in-process']['p95']:.2f} s |",
        f"| {n} concurrent: p95 TTFT / single p50 | "
        f"{c['engine']['p95'] / single['engine']['ttft']:.1f} x | "
        f"{c['in-process']['p95'] / single['in-process']['ttft']:.1f} x |",
        f"| {n} concurrent: aggregate tokens/s (x single decode) | "
        f"{c['engine']['agg_tps']:.0f} ({c['engine']['agg_tps'] / single['engine']['tps']:.1f} x)"
        f" | {c['in-process']['agg_tps']:.0f} "
        f"({c['in-process']['agg_tps'] / single['in-process']['tps']:.1f} x) |",
        f"| engine process RSS idle / after the crowd | {result['rss_idle'] / mib:.0f} / "
        f"{result['rss_load'] / mib:.0f} MiB | (in this process) |",
        f"| this process RSS (in-process model loaded) | | {result['rss_self'] / mib:.0f} MiB |",
        END,
    ]
    return "\n".join(lines)


def write(path: Path, section: str) -> None:
    """Replace (or append) the section between the markers."""
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    path.write_text(text)


def main() -> None:
    """Seed a small bank, build the service's prompts, measure, write the section."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--slots", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=None, help="BENCHMARKS.md to update (default: print)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="advisor-bench-engine-"))
    url = f"sqlite:///{work / 'bank.db'}"
    seed_bank(url, 12, 42, dt.date(2026, 11, 28))
    base = Settings(var_dir=work, database_url=url, jwt_secret="bench-" + "s" * 40)
    update: dict[str, Any] = {"engine": "llama-server"}
    if args.slots:
        update["engine_slots"] = args.slots
    if args.threads:
        update["engine_threads"] = args.threads
    llm = LLMSettings(**{**base.llm.model_dump(), **update, "backend": ""})
    requests, _ = prompts_for(base, url)
    section = report(measure(llm, requests, args), llm, args)
    print(section)
    if args.out:
        write(Path(args.out), section)


if __name__ == "__main__":
    main()

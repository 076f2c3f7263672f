"""The llama-server engine against the in-process back-end on the service's own prompts.

One run, same machine: single-session time to first token, decode tokens/s (first token to
last) and end-to-end tokens/s (request to last token) of each (interleaved, so drift hits
both), then N concurrent sessions on each (TTFT p50/p95, generated tokens over the wall time,
prefills and queueing included) and the memory of the engine process and of this one; then
the engine alone, 1..slots fixed-length generations at once, with decode and prefill measured
apart (bench/engine_curve.py). A short check; the Locust load test drives the whole service.
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
from bench.engine_curve import curve
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
        "e2e": len(stamps) / (stamps[-1] - start) if stamps else 0.0,
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
    ns = sorted(
        {1, settings.engine_slots, *(n for n in (2, 4, 8, 16) if n < settings.engine_slots)}
    )
    rates = curve(engine.engine.url, requests, ns, args.curve_tokens, args.curve_repeats)
    engine.close()
    return {
        "single": single,
        "crowds": crowds,
        "curve": rates,
        "rss_idle": rss_idle,
        "rss_load": rss_load,
        "rss_self": psutil.Process().memory_info().rss,
        "load": os.getloadavg(),
    }


def shape(settings: LLMSettings) -> str:
    """The engine's batching settings in a few words."""
    kv = "unified" if settings.engine_kv_unified else "per slot"
    return (
        f"{settings.engine_slots} slots x {settings.engine_ctx_per_slot} context, "
        f"{settings.engine_threads or 'every core as'} thread(s), flash attention "
        f"{settings.engine_flash_attn}, KV cache {kv}, "
        f"batch {settings.engine_batch_size} / ubatch {settings.engine_ubatch_size}"
    )


def report(result: dict[str, Any], settings: LLMSettings, args: Any) -> str:
    """The BENCHMARKS.md section."""
    single = {
        name: {k: statistics.median(r[k] for r in runs) for k in ("ttft", "tps", "e2e")}
        for name, runs in result["single"].items()
    }
    lines = [
        BEGIN,
        "## The llama-server engine vs the in-process back-end (`bench/bench_engine.py`)",
        "",
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()} {os.cpu_count()} "
        f"cores, load average {result['load'][0]:.1f} at the end (a shared machine); engine: "
        f"{shape(settings)}; the service's own prompts, {args.rounds} rounds; "
        f"`{' '.join(sys.argv)}`.",
        "",
        *service_rows(result, single, args.concurrency),
        "",
        *curve_rows(result["curve"], args.curve_tokens),
        END,
    ]
    return "\n".join(lines)


def service_rows(result: dict[str, Any], single: dict[str, Any], n: int) -> list[str]:
    """Both back-ends through the service's back-end interface: one session, then n at once."""
    mib, c, e, i = 1024 * 1024, result["crowds"], single["engine"], single["in-process"]

    def both(fmt: Any) -> str:
        return f"{fmt(c['engine'], e)} | {fmt(c['in-process'], i)} |"

    return [
        "| measure | engine (llama-server) | in-process (llama-cpp-python) |",
        "|---|---|---|",
        f"| one session: TTFT, median (prompt cached) | {e['ttft'] * 1000:.0f} ms | "
        f"{i['ttft'] * 1000:.0f} ms |",
        f"| one session: decode tokens/s, median (first token to last) | {e['tps']:.1f} | "
        f"{i['tps']:.1f} |",
        f"| one session: end-to-end tokens/s, median (request to last token) | {e['e2e']:.1f} | "
        f"{i['e2e']:.1f} |",
        f"| {n} at once: TTFT p50 / p95 | "
        + both(lambda cr, s: f"{cr['p50']:.2f} / {cr['p95']:.2f} s"),
        f"| {n} at once: generated tokens / wall (prefills, queueing included); x one "
        "session's end-to-end, x its decode | "
        + both(lambda cr, s: f"{cr['agg_tps']:.0f} ({cr['agg_tps'] / s['e2e']:.1f} x, "
               f"{cr['agg_tps'] / s['tps']:.1f} x)"),
        f"| engine process RSS idle / after the crowd | {result['rss_idle'] / mib:.0f} / "
        f"{result['rss_load'] / mib:.0f} MiB | (in this process) |",
        f"| this process RSS (in-process model loaded) | | {result['rss_self'] / mib:.0f} MiB |",
    ]  # fmt: skip


def curve_rows(rates: dict[int, dict[str, float]], n_tokens: int) -> list[str]:
    """The engine alone: n fixed-length generations at once, decode and prefill apart."""
    one = rates[min(rates)]["decode_tps"]
    rows = [
        f"The engine alone (`bench/engine_curve.py`): n generations of exactly {n_tokens} tokens "
        "started at once on the service's prompts, sent uncached (median of the repeats):",
        "",
        "| at once | decode tokens/s, all n decoding (x one) | prefill tokens/s "
        "(prompt tokens each) | end to end tokens/s |",
        "|---|---|---|---|",
    ]
    for n, r in sorted(rates.items()):
        rows.append(
            f"| {n} | {r['decode_tps']:.0f} ({r['decode_tps'] / one:.2f} x) | "
            f"{r['prefill_tps']:.0f} ({r['prompt_tokens']:.0f}) | {r['e2e_tps']:.0f} |"
        )
    return rows


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
    parser.add_argument("--flash-attn", choices=["on", "off", "auto"], default=None)
    parser.add_argument("--kv-unified", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--ubatch", type=int, default=None)
    parser.add_argument("--curve-tokens", type=int, default=64)
    parser.add_argument("--curve-repeats", type=int, default=3)
    parser.add_argument("--out", default=None, help="BENCHMARKS.md to update (default: print)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="advisor-bench-engine-"))
    url = f"sqlite:///{work / 'bank.db'}"
    seed_bank(url, 12, 42, dt.date(2026, 11, 28))
    base = Settings(var_dir=work, database_url=url, jwt_secret="bench-" + "s" * 40)
    update: dict[str, Any] = {"engine": "llama-server"}
    if args.slots:
        update["engine_slots"] = args.slots
    for name, value in [
        ("engine_threads", args.threads),
        ("engine_flash_attn", args.flash_attn),
        ("engine_kv_unified", args.kv_unified),
        ("engine_ubatch_size", args.ubatch),
    ]:
        if value is not None:
            update[name] = value
    llm = LLMSettings(**{**base.llm.model_dump(), **update, "backend": ""})
    requests, _ = prompts_for(base, url)
    section = report(measure(llm, requests, args), llm, args)
    print(section)
    if args.out:
        write(Path(args.out), section)


if __name__ == "__main__":
    main()

"""Benchmark `/v1/chat` against raw llama-cpp-python on the same prompts, in one run.

Reports decode tokens/s ratio, time to first token added by the service, 16 concurrent
sessions (errors, TTFT p50/p95) and the server's resident memory with everything loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
from httpx_sse import aconnect_sse

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from advisor.auth import issue_token
from advisor.chat.service import STOP, ChatService
from advisor.context_service import ContextService
from advisor.llm import GenerationRequest, LLMBackend
from advisor.llm.llama_cpp_backend import chat_stream, llama_kwargs
from advisor.settings import Settings
from bench.report import write_report
from portfolio_context.seed import seed_bank

QUESTIONS = [
    ("C0002", "What's my checking balance?"),
    ("C0003", "What's my debt to income ratio?"),
    ("C0004", "What's my credit utilization?"),
    ("C0005", "How much is my monthly income?"),
    ("C0006", "How much did I spend on dining last month?"),
    ("C0002", "What's my credit score?"),
]


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0..1) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def raw_run(llm: Any, request: GenerationRequest, seed: int) -> dict[str, float]:
    """TTFT and decode tokens/s of raw llama-cpp-python on one prompt, in this thread."""
    start, stamps = time.perf_counter(), []
    for chunk in chat_stream(llm, request, seed):
        if chunk["choices"][0]["delta"].get("content"):
            stamps.append(time.perf_counter())
    decode = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 2 else 0.0
    return {"ttft": stamps[0] - start, "tps": decode, "tokens": len(stamps)}


async def service_run(http: httpx.AsyncClient, token: str, question: str) -> dict[str, Any]:
    """TTFT, decode tokens/s and outcome of one `/v1/chat` turn, measured at the client."""
    start, stamps, done = time.perf_counter(), [], {}
    headers = {"Authorization": f"Bearer {token}"}
    async with aconnect_sse(
        http, "POST", "/v1/chat", json={"message": question}, headers=headers
    ) as source:
        if source.response.status_code != 200:
            return {"error": source.response.status_code}
        async for event in source.aiter_sse():
            if event.event == "token":
                stamps.append(time.perf_counter())
            elif event.event == "done":
                done = json.loads(event.data)
    tokens = done["usage"]["completion_tokens"]
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    return {
        "ttft": stamps[0] - start if stamps else float("nan"),
        "tps": (tokens - 1) / span if span > 0 and done["grounding"] == "model" else None,
        "grounding": done["grounding"],
        "tokens": tokens,
        "server_first_model_ms": done["timings"]["first_model_token_ms"],
    }


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """`advisor serve` in its own process; returns once /healthz answers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "advisor.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


async def concurrent_sessions(base: str, tokens: dict[str, str], n: int) -> dict[str, Any]:
    """n sessions at once, each asking one question; errors and TTFT percentiles."""
    async with httpx.AsyncClient(base_url=base, timeout=600) as http:
        jobs = [
            service_run(
                http, tokens[QUESTIONS[i % len(QUESTIONS)][0]], QUESTIONS[i % len(QUESTIONS)][1]
            )
            for i in range(n)
        ]
        results = await asyncio.gather(*jobs, return_exceptions=True)
    ok = [r for r in results if isinstance(r, dict) and "error" not in r]
    ttfts = [r["ttft"] for r in ok]
    return {
        "sessions": n,
        "errors": n - len(ok),
        "ttft_p50_s": pct(ttfts, 0.5),
        "ttft_p95_s": pct(ttfts, 0.95),
    }


async def interleaved(
    base: str,
    tokens: dict[str, str],
    raw: Any,
    seed: int,
    requests: list[GenerationRequest],
    rounds: int,
) -> tuple[list[dict[str, float]], list[dict[str, Any]]]:
    """Raw and served turns alternated, so drift in the machine's speed hits both alike."""
    raw_runs, served = [], []
    async with httpx.AsyncClient(base_url=base, timeout=600) as http:
        await service_run(http, tokens["C0002"], QUESTIONS[0][1])  # warm the server
        for _ in range(rounds):
            for (customer, question), request in zip(QUESTIONS, requests, strict=True):
                raw_runs.append(raw_run(raw, request, seed))
                served.append(await service_run(http, tokens[customer], question))
    return raw_runs, served


class PromptOnly(LLMBackend):
    """Lets the service build its prompts here without a second model loaded."""

    name = "prompt-only"

    def execute(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[str]:
        """Never called: the benchmark drives the raw model itself."""
        raise NotImplementedError


def prompts_for(settings: Settings, url: str) -> tuple[list[GenerationRequest], list[Any]]:
    """The exact requests the service sends to the model, and its warm-up prefix."""
    chat = ChatService(settings, ContextService(url, 500.0), PromptOnly())
    requests = []
    for customer, question in QUESTIONS:
        turn = chat.prepare(customer, question, None)
        assert turn.selection is not None
        requests.append(
            GenerationRequest(
                chat.messages_for(turn),
                chat.token_budget(turn.selection.draft),
                settings.llm.temperature,
                STOP,
            )
        )
    return requests, chat.messages_for_warmup()


def measure(
    settings: Settings, work: Path, url: str, rounds: int, crowd_size: int
) -> dict[str, Any]:
    """One configuration: raw vs served (interleaved), then the concurrent run and memory."""
    from llama_cpp import Llama

    requests, prefix = prompts_for(settings, url)
    raw = Llama(**llama_kwargs(settings.llm))
    raw_run(raw, GenerationRequest(prefix, 1), settings.llm.seed)
    env = {
        **os.environ,
        "ADVISOR_PROFILE": "default",
        "ADVISOR_DATABASE_URL": url,
        "ADVISOR_VAR_DIR": str(work),
        "ADVISOR_JWT_SECRET": str(settings.jwt_secret),
    }
    if settings.llm.n_threads:
        env["ADVISOR_LLM__N_THREADS"] = str(settings.llm.n_threads)
    port = 18000 + os.getpid() % 1000
    proc = start_server(env, port)
    try:
        base = f"http://127.0.0.1:{port}"
        tokens = {c: issue_token(settings, c) for c, _ in QUESTIONS}
        raw_runs, served = asyncio.run(
            interleaved(base, tokens, raw, settings.llm.seed, requests, rounds)
        )
        rss_loaded = psutil.Process(proc.pid).memory_info().rss
        crowd = asyncio.run(concurrent_sessions(base, tokens, crowd_size))
        rss_after = psutil.Process(proc.pid).memory_info().rss
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    threads = settings.llm.n_threads or os.cpu_count()
    return {
        "n_threads": threads,
        "raw": raw_runs,
        "served": served,
        "crowd": crowd,
        "rss": rss_loaded,
        "rss_after": rss_after,
    }


def main() -> None:
    """Run every configuration and write the report."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[0],
        help="decode threads to compare (0: the configured default)",
    )
    parser.add_argument("--out", default="BENCHMARKS.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="advisor-bench-"))
    url = f"sqlite:///{work / 'bank.db'}"
    seed_bank(url, 12, 42, dt.date(2026, 11, 28))
    base = Settings(var_dir=work, database_url=url, jwt_secret="bench-" + "s" * 40)
    assert base.llm.backend in ("llama_server", "llama_cpp"), "run it on the default profile"
    results = []
    for threads in args.threads:
        settings = base.model_copy(
            update={"llm": base.llm.model_copy(update={"n_threads": threads or base.llm.n_threads})}
        )
        results.append(measure(settings, work, url, args.rounds, args.concurrency))
    write_report(Path(args.out), results, base.llm.n_threads or os.cpu_count(), sys.argv)


if __name__ == "__main__":
    main()

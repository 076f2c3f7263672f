"""Decode and prefill throughput of a running llama-server, measured apart.

N generations start at once, each of exactly `n_tokens` (ignore_eos, no stop strings) on the
service's own prompts, sent uncached (`cache_prompt: false`) so every prompt is prefilled:
- decode tokens/s: tokens streamed while all N are decoding (from the last first token to the
  first last token), divided by that window; no prefill falls inside it;
- prefill tokens/s: the prompt tokens the engine processed (its `timings`) over the time from
  the requests to the last first token (a lower bound: HTTP and any decode steps of the
  sequences that started first fall inside it);
- end to end: every generated token over the wall time from the requests to the last token.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from advisor.llm import GenerationRequest


def stream_one(url: str, request: GenerationRequest, n_tokens: int) -> dict[str, Any]:
    """One fixed-length streamed generation: a time stamp per token and the engine's timings."""
    body = {
        "messages": [m.as_dict() for m in request.messages],
        "max_tokens": n_tokens,
        "ignore_eos": True,
        "temperature": 0.0,
        "stream": True,
        "cache_prompt": False,
    }
    stamps: list[float] = []
    timings: dict[str, Any] = {}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=600) as reply:
        for line in reply.raise_for_status().iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            timings = chunk.get("timings") or timings
            choices = chunk.get("choices") or [{}]
            if (choices[0].get("delta") or {}).get("content"):
                stamps.append(time.perf_counter())
    return {"stamps": stamps, "timings": timings}


def at_once(url: str, requests: list[GenerationRequest], n: int, n_tokens: int) -> dict[str, float]:
    """n fixed-length generations started together: decode, prefill and end-to-end rates."""
    gate = threading.Barrier(n + 1)

    def run(i: int) -> dict[str, Any]:
        gate.wait()
        return stream_one(url, requests[i % len(requests)], n_tokens)

    with ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(run, i) for i in range(n)]
        gate.wait()
        start = time.perf_counter()
        runs = [f.result() for f in futures]
    return rates(runs, start)


def rates(runs: list[dict[str, Any]], start: float) -> dict[str, float]:
    """The three rates of one crowd of fixed-length generations."""
    first = max(r["stamps"][0] for r in runs)
    last = min(r["stamps"][-1] for r in runs)
    inside = sum(1 for r in runs for t in r["stamps"] if first < t <= last)
    prompt_n = sum(r["timings"].get("prompt_n", 0) for r in runs)
    end = max(r["stamps"][-1] for r in runs)
    return {
        "decode_tps": inside / (last - first) if last > first else float("nan"),
        "prefill_tps": prompt_n / (first - start),
        "prompt_tokens": prompt_n / len(runs),
        "e2e_tps": sum(len(r["stamps"]) for r in runs) / (end - start),
        "tokens": float(sum(len(r["stamps"]) for r in runs)),
    }


def curve(
    url: str, requests: list[GenerationRequest], ns: list[int], n_tokens: int, repeats: int
) -> dict[int, dict[str, float]]:
    """The rates for each n (the median of `repeats` runs of each)."""
    out: dict[int, dict[str, float]] = {}
    for n in ns:
        runs = [at_once(url, requests, n, n_tokens) for _ in range(repeats)]
        out[n] = {k: sorted(r[k] for r in runs)[len(runs) // 2] for k in runs[0]}
    return out

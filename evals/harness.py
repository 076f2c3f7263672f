"""Wire the runner to a target: the in-process app on a freshly seeded bank, or a server URL."""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from advisor.auth import issue_token
from advisor.settings import Settings
from evals.golden_format import Conversation, load_suite, suite_names
from evals.report import summarise
from evals.runner import Runner, run_all

EVAL_SEED, EVAL_CUSTOMERS = 42, 50
EVAL_AS_OF = dt.date(2026, 11, 28)  # fixed: golden turns name months ("last month" = 2026-10)
# Fixed for in-process runs: the canary in the system prompt derives from the signing secret, and
# a fresh clone's random secret changed the small model's wording (and verdicts) run to run.
EVAL_SECRET = "golden-evaluation-only-" + "0" * 24


def select(suites: list[str] | None, tag: str | None) -> list[Conversation]:
    """The conversations of the named suites (all by default), optionally with one tag."""
    chosen = [c for name in (suites or suite_names()) for c in load_suite(name)]
    return [c for c in chosen if tag is None or tag in c.tags]


def similarity() -> Callable[[str, str], float]:
    """Cosine similarity with the shipped embedding model."""
    from retrieval.embeddings import shared_embedder

    def score(a: str, b: str) -> float:
        va, vb = shared_embedder().embed([a, b])
        return float(sum(x * y for x, y in zip(va, vb, strict=True)))

    return score


@contextmanager
def in_process(settings: Settings, var_dir: Path | None = None) -> Iterator[httpx.Client]:
    """The app on a temporary bank seeded like `make run` (seed 42, 50 customers), as of the
    fixed evaluation date so that month-specific expectations stay true."""
    from fastapi.testclient import TestClient

    from advisor.api.app import create_app
    from portfolio_context.seed import seed_bank

    with tempfile.TemporaryDirectory(prefix="advisor-eval-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bank.db'}"
        seed_bank(url, EVAL_CUSTOMERS, EVAL_SEED, EVAL_AS_OF)
        local = settings.model_copy(
            update={"database_url": url, "var_dir": var_dir or settings.var_dir}
        )
        with TestClient(create_app(local)) as client:
            yield client  # type: ignore[misc]  # TestClient is an httpx.Client


def evaluate(
    settings: Settings,
    conversations: list[Conversation],
    url: str | None,
    workers: int,
    progress: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run and summarise; `url` targets a running server, else the in-process app."""
    if not url:
        settings = settings.model_copy(update={"jwt_secret": EVAL_SECRET})

    def tokens(customer: str) -> str:
        return issue_token(settings, customer)

    started = time.perf_counter()
    if url:
        with httpx.Client(base_url=url, timeout=300) as client:
            results = run_all(
                Runner(client, tokens, similarity()), conversations, workers, progress
            )
    else:
        with in_process(settings) as client:
            results = run_all(Runner(client, tokens, similarity()), conversations, 1, progress)
    return summarise(results, url or "in-process app", time.perf_counter() - started)

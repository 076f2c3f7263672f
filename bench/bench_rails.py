"""What the rails cost on a real chat turn: the same turns with and without them, interleaved.

Reports the time spent inside the rails, the intent router and the sentence support check per
turn (input screening, routing, sentence checks, closing) as a share of the whole turn, the
turn-time ratio rails/no-rails, and what holding each
sentence until it is checked adds before the customer sees text.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from advisor.chat.service import ChatService
from advisor.context_service import ContextService
from advisor.grounding.support import SupportChecker
from advisor.llm import create_backend
from advisor.rails.service import load_rails
from advisor.routing.router import load_router
from advisor.settings import Settings
from bench.bench_chat import QUESTIONS as CHAT_QUESTIONS
from bench.report import replace_section
from portfolio_context.seed import seed_bank

BEGIN, END = "<!-- bench_rails:begin -->", "<!-- bench_rails:end -->"
# bench_chat's questions, plus an investment answer (disclaimer) and a message with PII.
QUESTIONS = [
    *CHAT_QUESTIONS,
    ("C0007", "How is my portfolio allocated?"),
    ("C0003", "my card is 4111 1111 1111 1111 - what bills are coming up?"),
]


class Stopwatch:
    """Accumulates the time spent in wrapped calls."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, owner: Any, name: str) -> None:
        """Time every call of owner.name from now on."""
        original: Callable[..., Any] = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        setattr(owner, name, timed)


async def one_turn(chat: ChatService, customer: str, question: str) -> dict[str, Any]:
    """Wall time of a whole turn, of its first visible text, and how the answer ended."""
    start, first, outcome = time.perf_counter(), None, "?"
    turn = chat.prepare(customer, question, None)
    async for event in chat.stream(turn):
        if event.event == "token" and first is None:
            first = time.perf_counter() - start
        elif event.event == "done":
            outcome = str(event.data["grounding"])
    elapsed = time.perf_counter() - start
    return {"turn": elapsed, "first_visible": first or float("nan"), "outcome": outcome}


async def measure(settings: Settings, url: str, rounds: int) -> dict[str, Any]:
    """Interleaved turns with and without rails on one model; rails time by stopwatch."""
    backend = create_backend(settings.llm)
    context = ContextService(url, settings.emergency_buffer_usd)
    rails, watch = load_rails(settings), Stopwatch()
    router = load_router(settings)  # None when `advisor train router` has not run
    guarded = ChatService.from_settings(settings, context, backend, None, rails, router)
    timed = [(rails, "screen"), (rails.outputs, "check"), (rails.outputs, "closing")]
    timed += [(SupportChecker, "judge"), *([(router, "route")] if router else [])]
    for owner, name in timed:
        watch.wrap(owner, name)
    bare = ChatService(settings, context, backend, None, None)
    backend.warm(guarded.messages_for_warmup())
    on: list[dict[str, Any]] = []
    off: list[dict[str, Any]] = []
    rails_s: list[float] = []
    for _ in range(rounds):
        for customer, question in QUESTIONS:
            off.append(await one_turn(bare, customer, question))
            before = watch.seconds
            on.append(await one_turn(guarded, customer, question))
            rails_s.append(watch.seconds - before)
    return {"on": on, "off": off, "rails_s": rails_s}


def render(result: dict[str, Any], argv: list[str]) -> str:
    """The BENCHMARKS.md section."""
    on, off, rails_s = result["on"], result["off"], result["rails_s"]
    med = statistics.median
    shares = [r / t["turn"] for r, t in zip(rails_s, on, strict=True)]
    overall = sum(rails_s) / sum(t["turn"] for t in on)
    ratio = med(t["turn"] for t in on) / med(t["turn"] for t in off)
    seen_off = med(t["first_visible"] for t in off) * 1000
    seen_on = med(t["first_visible"] for t in on) * 1000
    return "\n".join([
        BEGIN,
        "## Guardrails on a chat turn (bench/bench_rails.py)",
        "",
        f"Run {dt.date.today()}: `python bench/bench_rails.py {' '.join(argv)}`, {len(on)} turns",
        "with rails and the same turns without them, interleaved, on the embedded model.",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| time inside the rails, router and support check per turn (median) | "
        f"{med(rails_s) * 1000:.1f} ms |",
        f"| rails time / turn time (median turn; all turns) | {med(shares):.1%}; {overall:.1%} |",
        f"| turn time with / without rails (median) | {ratio:.3f} |",
        f"| first visible text without rails (median) | {seen_off:.0f} ms |",
        f"| first visible text with rails, sentence held until checked | {seen_on:.0f} ms |",
        f"| model-worded answers, without / with rails | {kept(off)} / {kept(on)} |",
        "",
        "Their own cost is the first two rows (target: at most 5% of the turn). Holding each",
        "sentence until it is checked moves the first visible text to the end of the first",
        "sentence; that is the price of never showing a violation, not computation.",
        END,
    ])  # fmt: skip


def kept(turns: list[dict[str, Any]]) -> str:
    """How many answers ended as the model's text (not the draft)."""
    return f"{sum(t['outcome'] in ('model', 'completed') for t in turns)} of {len(turns)}"


def main() -> None:
    """Seed a bank, run the interleaved turns, print and optionally write the section."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="advisor-bench-rails-"))
    url = f"sqlite:///{work / 'bank.db'}"
    seed_bank(url, 12, 42, dt.date(2026, 11, 28))
    settings = Settings(var_dir=work, database_url=url, jwt_secret="bench-" + "s" * 40)
    trained = Path("var/rails/injection.joblib")  # the classifier `advisor ingest` trained
    if trained.is_file():
        settings.rails.injection_model = trained.resolve()
    router = Path("var/models/router")  # the router `make router` trained
    if router.is_dir():
        settings.router_model_dir = router.resolve()
    assert settings.llm.backend in ("llama_server", "llama_cpp"), "run it on the default profile"
    result = asyncio.run(measure(settings, url, args.rounds))
    section = render(result, sys.argv[1:])
    print(section)
    if args.out:
        replace_section(args.out, BEGIN, END, section)


if __name__ == "__main__":
    main()

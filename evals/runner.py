"""Run golden conversations against the in-process app or a running server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from httpx_sse import connect_sse

from evals.checks import CheckResult, Observed, run_checks
from evals.golden_format import Conversation
from evals.store_probe import LogTap, stored_texts

Tokens = Callable[[str], str]
Status = Literal["passed", "pending", "failed"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "pending")


def worst(statuses: Iterable[str]) -> Status:
    """The combined status: any failure fails, else any pending is pending, else passed."""
    seen = set(statuses)
    if "failed" in seen:
        return "failed"
    return "pending" if "pending" in seen else "passed"


@dataclass
class TurnResult:
    """One turn: what was asked, answered, and how each check went."""

    user: str
    answer: str
    latency_ms: float
    checks: list[CheckResult]
    error: str = ""
    grounding: str = ""  # how the answer ended: model, completed, fallback, deterministic, ...
    retracted: bool = False  # shown text was taken back before the final answer

    @property
    def status(self) -> Status:
        """Failed on an error or a failed check, else pending while any check is pending."""
        if self.error:
            return "failed"
        return worst(c.status for c in self.checks)

    @property
    def passed(self) -> bool:
        """Every check passed: none failed and none is pending."""
        return self.status == "passed"

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "user": self.user,
            "answer": self.answer,
            "latency_ms": round(self.latency_ms, 1),
            "status": self.status,
            "passed": self.passed,
            "error": self.error,
            "grounding": self.grounding,
            "retracted": self.retracted,
            "checks": [c.to_json() for c in self.checks],
        }


@dataclass
class ConversationResult:
    """One conversation's outcome."""

    conversation: Conversation
    turns: list[TurnResult] = field(default_factory=list)

    @property
    def status(self) -> Status:
        """Failed if any turn failed, else pending if any check is pending, else passed."""
        return worst(t.status for t in self.turns)

    @property
    def passed(self) -> bool:
        """Every turn passed, with no check pending."""
        return self.status == "passed"

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        c = self.conversation
        return {
            "id": c.id,
            "suite": c.suite,
            "category": c.category,
            "customer": c.customer,
            "status": self.status,
            "passed": self.passed,
            "turns": [t.to_json() for t in self.turns],
        }


class Runner:
    """Drives `/v1/chat` turn by turn, keeping each conversation's session."""

    def __init__(
        self,
        client: httpx.Client,
        tokens: Tokens,
        similarity: Callable[[str, str], float] | None = None,
    ) -> None:
        self.client, self.tokens, self.similarity = client, tokens, similarity

    def run(self, conversation: Conversation) -> ConversationResult:
        """All turns of one conversation, stopping at a transport error."""
        headers = {"Authorization": f"Bearer {self.tokens(conversation.customer)}"}
        context = self.client.get("/v1/customers/me/context", headers=headers)
        facts = {f["id"]: f for f in context.json().get("facts", [])} if context.is_success else {}
        result, session = ConversationResult(conversation), None
        for turn in conversation.turns:
            try:
                seen, session = self._turn(turn.user, headers, session)
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                result.turns.append(
                    TurnResult(turn.user, "", 0.0, [], f"{type(exc).__name__}: {exc}")
                )
                break
            seen.context_facts = facts
            checks = run_checks(turn.expect, seen, self.similarity)
            ending = (str(seen.done.get("grounding", "")), seen.retracted)
            result.turns.append(
                TurnResult(turn.user, seen.text, seen.latency_ms, checks, "", *ending)
            )
        return result

    def _turn(
        self, message: str, headers: dict[str, str], session: str | None
    ) -> tuple[Observed, str | None]:
        """One streamed answer."""
        started, events = time.perf_counter(), []
        body = {"message": message, "session_id": session}
        with (
            LogTap() as tap,
            connect_sse(self.client, "POST", "/v1/chat", json=body, headers=headers) as source,
        ):
            if source.response.status_code != 200:
                source.response.read()
                raise ValueError(f"HTTP {source.response.status_code}: {source.response.text}")
            events = [(e.event, json.loads(e.data)) for e in source.iter_sse() if e.data]
        done = next((data for name, data in events if name == "done"), None)
        if done is None:
            raise ValueError("the stream ended without a done event")
        observed = Observed(
            user=message,
            text=done["text"],
            done=done,
            facts=[d for n, d in events if n == "fact"],
            citations=[d for n, d in events if n == "citation"],
            latency_ms=(time.perf_counter() - started) * 1000,
            guards=[d for n, d in events if n == "guard"],
            retracted=any(n == "grounding" and d.get("retract") for n, d in events),
            stored=stored_texts(self.client, done.get("trace_id")),
            logs=tap.lines,
        )
        return observed, done.get("session_id", session)


def run_all(
    runner: Runner,
    conversations: list[Conversation],
    workers: int = 1,
    progress: Callable[[], None] | None = None,
) -> list[ConversationResult]:
    """Run conversations, in parallel threads when `workers` > 1; order is kept."""

    def one(conversation: Conversation) -> ConversationResult:
        result = runner.run(conversation)
        if progress:
            progress()
        return result

    if workers <= 1:
        return [one(c) for c in conversations]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, conversations))

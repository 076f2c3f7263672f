"""Locust users that hold multi-turn chat sessions with `/v1/chat`, one seeded customer each.

Read by `locust -f` (bench/load/run.py starts it): the tokens come from the JSON file named by
ADVISOR_LOAD_TOKENS, and every turn is appended as one JSON line to ADVISOR_LOAD_SAMPLES.
A turn refused with 503 is retried after its Retry-After, as the app's client does; its time
to first visible text counts from the first attempt (what the customer waits).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
import time
from pathlib import Path
from typing import Any

from locust import HttpUser, task

# Conversations as customers hold them: own-money questions with follow-ups (the slots carry
# the topic), a name given in passing (the PII vault), rules questions, a thank-you.
CONVERSATIONS: list[list[str]] = [
    ["What's my checking balance?", "and my savings?"],
    ["How much do I spend on groceries a month?", "and last month?", "what about dining?"],
    ["Hi, this is Maria Gonzalez. How much did I spend on dining last month?", "and fuel?"],
    ["What's my credit utilization?", "What's my debt to income ratio?"],
    ["How much is my monthly income?", "Which bills are due in the next 30 days?"],
    ["Can I afford a $400 purchase this week?", "thanks!"],
    ["What's my net worth?", "How would rising interest rates affect my portfolio?"],
    ["How is APY calculated?", "What's my savings balance?"],
    ["How many months of expenses does my emergency fund cover?", "and my checking balance?"],
]
MAX_RETRIES = 5
# Think time (ADVISOR_LOAD_THINK=human): before each message the customer reads the last answer
# at 238 words a minute (Brysbaert 2019, silent reading of non-fiction) and types the message at
# 36 words a minute (Palin et al. 2019, mobile typing); "none" (the default): a closed loop.
READ_WPM, TYPE_WPM = 238.0, 36.0
THINK = os.environ.get("ADVISOR_LOAD_THINK", "none")
_lock = threading.Lock()
_customers = itertools.count()


def _tokens() -> list[str]:
    """Bearer tokens of the seeded customers, one per customer."""
    return list(json.loads(Path(os.environ["ADVISOR_LOAD_TOKENS"]).read_text()).values())


TOKENS = _tokens() if "ADVISOR_LOAD_TOKENS" in os.environ else []


def record(sample: dict[str, Any]) -> None:
    """Append one turn's measurements to the samples file."""
    line = json.dumps(sample) + "\n"
    with _lock, open(os.environ["ADVISOR_LOAD_SAMPLES"], "a") as out:
        out.write(line)


class ChatCustomer(HttpUser):
    """One customer at a time holding a session; each task is one turn of it."""

    def on_start(self) -> None:
        """Take the next customer (round robin over every seeded customer)."""
        self.random = random.Random(next(_customers))
        self.conversation: list[str] = []
        self.session_id: str | None = None
        self.token = TOKENS[self.random.randrange(len(TOKENS))]
        self.answer_words = 0

    def wait_time(self) -> float:
        """Seconds before the next message: reading the last answer, typing the next one."""
        if THINK != "human":
            return 0.0
        self.next_conversation()
        typed = len(self.conversation[0].split())
        return 60.0 * (self.answer_words / READ_WPM + typed / TYPE_WPM)

    def next_conversation(self) -> None:
        """A new conversation, customer and session when the last one is done."""
        if not self.conversation:
            self.conversation = list(self.random.choice(CONVERSATIONS))
            self.session_id, self.token = None, TOKENS[self.random.randrange(len(TOKENS))]

    @task
    def turn(self) -> None:
        """The next message of the conversation (a new conversation and customer when done)."""
        self.next_conversation()
        message = self.conversation.pop(0)
        sample = self.ask(message)
        record(sample)
        self.answer_words = int(sample.get("answer_words") or 0)
        if sample["outcome"] != "ok":
            self.conversation = []  # a failed turn ends the conversation

    def ask(self, message: str) -> dict[str, Any]:
        """One turn, retried on 503 after Retry-After; what it measured."""
        started, rejected = time.perf_counter(), 0
        sample: dict[str, Any] = {"follow_up": self.session_id is not None, "rejected": 0}
        for _ in range(MAX_RETRIES + 1):
            result = self.stream(message, started)
            if result.get("status") != 503:
                break
            rejected += 1
            time.sleep(float(result.get("retry_after") or 1))
        return sample | result | {"rejected": rejected, "started": started}

    def stream(self, message: str, started: float) -> dict[str, Any]:
        """POST the message and read the SSE stream to its end."""
        body = {"message": message, "session_id": self.session_id}
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        with self.client.post(
            "/v1/chat", json=body, headers=headers, stream=True, catch_response=True,
            name="/v1/chat", timeout=120,
        ) as response:  # fmt: skip
            if response.status_code != 200:
                outcome = "rejected" if response.status_code == 503 else "error"
                response.success() if outcome == "rejected" else response.failure("status")
                return {
                    "status": response.status_code,
                    "outcome": outcome,
                    "error": f"HTTP {response.status_code}",
                    "retry_after": response.headers.get("Retry-After"),
                    "ended": time.perf_counter(),
                }
            result = read_events(response.iter_lines(decode_unicode=True), started)
            if result["outcome"] != "ok":
                response.failure(result["error"])
        if result["outcome"] == "ok":
            self.session_id = result.pop("session_id")
        return result


def read_events(lines: Any, started: float) -> dict[str, Any]:
    """Time to the first `token` event with text, and the `done` event's outcome."""
    event, first, done, error = "", None, None, None
    for line in lines:
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data = json.loads(line[5:].strip() or "null")
            if event == "token" and first is None and (data or {}).get("text"):
                first = time.perf_counter() - started
            elif event == "done":
                done = data
            elif event == "error":
                error = (data or {}).get("type", "error")
    ended = time.perf_counter()
    if error or done is None:
        return {"status": 200, "outcome": "error", "error": error or "no done", "ended": ended}
    return {
        "status": 200,
        "outcome": "ok",
        "ttft_s": first,
        "turn_s": ended - started,
        "ended": ended,
        "session_id": done["session_id"],
        "answer_words": len(str(done.get("text") or "").split()),
        "shed": bool(done.get("shed")),
        "grounding": done.get("grounding"),
        "plan": done.get("plan"),
        "finish_reason": done.get("finish_reason"),
        "completion_tokens": (done.get("usage") or {}).get("completion_tokens") or 0,
    }

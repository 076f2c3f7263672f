"""A deterministic back-end for unit tests, registered through the real registry."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator

from advisor.llm import GenerationRequest, LLMBackend, register_backend
from advisor.settings import LLMSettings

DRAFT = re.compile(r"^Draft: (.*)$", re.MULTILINE)
Script = Callable[[GenerationRequest], str]


def echo_draft(request: GenerationRequest) -> str:
    """Phrase the answer exactly as the draft in the prompt says it."""
    found = DRAFT.search(request.messages[-1].content)
    return f"Sure! {found.group(1)}" if found else "Hello."


class FakeBackend(LLMBackend):
    """Yields a scripted reply word by word; records requests and whether one was cut short."""

    name = "fake"

    def __init__(self, settings: LLMSettings | None = None) -> None:
        self.script: Script = echo_draft
        self.requests: list[GenerationRequest] = []
        self.delay_s = 0.0
        self.cancelled = threading.Event()
        self.busy_now = False  # what `busy()` says: every slot taken

    def busy(self) -> bool:
        """Whether a generation started now would wait (set by the test)."""
        return self.busy_now

    def execute(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[str]:
        """Yield the scripted reply, word by word, honouring cancellation."""
        self.requests.append(request)
        words = self.script(request).split(" ")
        finished = False
        try:
            for i, word in enumerate(words):
                if cancel.is_set():
                    return
                if self.delay_s:
                    cancel.wait(self.delay_s)
                yield word if i == 0 else f" {word}"
            finished = True
        finally:
            if not finished:
                self.cancelled.set()


def register() -> None:
    """Register the fake under the name the test profile selects."""
    register_backend("fake", FakeBackend)

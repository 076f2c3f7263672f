"""The one interface every language-model back-end implements."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ChatMessage:
    """One message of a chat prompt."""

    role: str
    content: str

    def as_dict(self) -> dict[str, str]:
        """The OpenAI-style dict form."""
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class GenerationRequest:
    """What to generate: the prompt and the sampling settings."""

    messages: list[ChatMessage]
    max_tokens: int = 96
    temperature: float = 0.0
    stop: list[str] = field(default_factory=list)


class LLMBackend(ABC):
    """A back-end: one `execute` generator yielding text deltas as the model produces them."""

    name: str = "abstract"

    @abstractmethod
    def execute(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[str]:
        """Yield text deltas; stop early when `cancel` is set."""

    def warm(self, messages: list[ChatMessage]) -> None:  # noqa: B027 (optional hook)
        """Prepare for prompts that start with `messages` (default: nothing to do)."""

    def busy(self) -> bool:
        """Whether a generation started now would wait for another to finish (default: no)."""
        return False

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release what the back-end started (the engine's process); default: nothing."""

    def describe(self) -> dict[str, str]:
        """What this back-end is, for /healthz."""
        return {"backend": self.name}

    def count_tokens(self, text: str) -> int | None:
        """Tokens of `text` under this back-end's tokenizer; None when it has none at hand."""
        return None

    def count_prompt_tokens(self, messages: list[ChatMessage]) -> int | None:
        """Tokens of the prompt these messages make (chat template included); None if unknown."""
        counts = [self.count_tokens(m.content) for m in messages]
        return None if any(c is None for c in counts) else sum(c or 0 for c in counts)

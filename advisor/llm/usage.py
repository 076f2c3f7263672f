"""Token usage of an answer, counted with the back-end's own tokenizer where it has one."""

from __future__ import annotations

import re

from advisor.llm.base import ChatMessage, LLMBackend

# Without a tokenizer (the HTTP back-end, test fakes) a count is estimated: one token per
# word and per punctuation mark, which undercounts sub-word tokens.
_PIECE = re.compile(r"\w+|[^\w\s]")


def estimate_tokens(text: str) -> int:
    """Words and punctuation marks in `text`: the estimate used when no tokenizer is at hand."""
    return len(_PIECE.findall(text))


def text_tokens(backend: LLMBackend, text: str) -> int:
    """Tokens of `text`: the back-end's count, else the estimate."""
    counted = backend.count_tokens(text)
    return estimate_tokens(text) if counted is None else counted


def prompt_tokens(backend: LLMBackend, messages: list[ChatMessage]) -> int:
    """Tokens of a prompt with its chat template: the back-end's count, else the estimate."""
    counted = backend.count_prompt_tokens(messages)
    if counted is None:
        return sum(estimate_tokens(m.content) for m in messages)
    return counted


def usage(prompt: int, completion: int) -> dict[str, int]:
    """The OpenAI `usage` object."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }

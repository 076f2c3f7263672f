"""OpenAI-compatible `/v1/chat/completions` over the same grounded pipeline."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse

from advisor.api.deps import PrincipalDep, ServicesDep
from advisor.chat.events import ChatEvent
from advisor.errors import InvalidInput

router = APIRouter()


class Message(BaseModel):
    """One OpenAI chat message."""

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | None = None


class CompletionRequest(BaseModel):
    """The subset of the OpenAI request the advisor honours (extra fields are ignored)."""

    model: str = "advisor"
    messages: list[Message] = Field(min_length=1, max_length=64)
    stream: bool = False


def _chunk(cid: str, model: str, delta: dict[str, str], finish: str | None) -> str:
    """One `chat.completion.chunk` as JSON."""
    return json.dumps(
        {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
    )


async def _stream(cid: str, model: str, items: AsyncIterator[ChatEvent]) -> AsyncIterator[str]:
    """Token events as OpenAI chunks, then the finish chunk and [DONE]."""
    yield _chunk(cid, model, {"role": "assistant", "content": ""}, None)
    async for item in items:
        if item.event == "token":
            yield _chunk(cid, model, {"content": item.data["text"]}, None)
    yield _chunk(cid, model, {}, "stop")
    yield "[DONE]"


@router.post("/v1/chat/completions", summary="OpenAI-compatible chat completions")
async def completions(
    body: CompletionRequest, principal: PrincipalDep, services: ServicesDep
) -> Any:
    """Answers the last user message; earlier user messages give follow-up context."""
    asked = [m.content or "" for m in body.messages if m.role == "user"]
    if not asked:
        raise InvalidInput("messages must contain a user message")
    turn = await run_in_threadpool(services.chat.prepare_stateless, principal.customer_id, asked)
    cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    events = services.chat.stream(turn, hold="sentence")
    if body.stream:
        return EventSourceResponse(_stream(cid, body.model, events), ping=15)
    done: dict[str, Any] = {}
    async for item in events:
        if item.event == "done":
            done = item.data
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": done.get("text", "")},
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }

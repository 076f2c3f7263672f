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

from advisor.api.deps import PrincipalDep, Services, ServicesDep
from advisor.api.problems import EVENT_STREAM, error_responses
from advisor.chat.plan import GROUNDING
from advisor.chat.turn import Turn
from advisor.errors import BackendUnavailable, InvalidInput
from advisor.llm.usage import prompt_tokens, text_tokens, usage

router = APIRouter()
MODEL_ID, OWNER = "advisor", "trusted-advisor"
STARTED = int(time.time())
# The `done` groundings of answers no prompt ran for; any other (model, completed, fallback)
# means the model was prompted.
NO_PROMPT = frozenset(GROUNDING.values())


class Message(BaseModel):
    """One OpenAI chat message."""

    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | None = None


class StreamOptions(BaseModel):
    """OpenAI's stream options: `include_usage` adds a last chunk carrying the usage."""

    include_usage: bool = False


class CompletionRequest(BaseModel):
    """The subset of the OpenAI request the advisor honours (extra fields are ignored)."""

    model: str = "advisor"
    messages: list[Message] = Field(min_length=1, max_length=64)
    stream: bool = False
    stream_options: StreamOptions | None = None


def finish_reason(done: dict[str, Any]) -> str:
    """OpenAI's finish reason for a turn: `content_filter` when refused, else `stop`.

    Never `length`: an answer the model cut off at its token budget is replaced by the
    grounded draft (or by the verified sentences before the cut), so no reply ends cut.
    """
    return "content_filter" if done.get("finish_reason") == "refused" else "stop"


def prompted(done: dict[str, Any]) -> bool:
    """Whether the model was prompted for this turn's answer (its `done` event says)."""
    return done.get("grounding") not in NO_PROMPT


def turn_usage(services: Services, turn: Turn, done: dict[str, Any], text: str) -> dict[str, int]:
    """Tokens of the prompt the model ran on (0 when the answer was deterministic: a refusal,
    a quote, a draft) and of the text returned, with the back-end's tokenizer."""
    backend = services.backend
    prompt = prompt_tokens(backend, services.chat.messages_for(turn)) if prompted(done) else 0
    return usage(prompt, text_tokens(backend, text))


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


async def _stream(
    cid: str, body: CompletionRequest, services: Services, turn: Turn
) -> AsyncIterator[str]:
    """Token events as OpenAI chunks, the finish chunk, the usage chunk if asked, [DONE]."""
    yield _chunk(cid, body.model, {"role": "assistant", "content": ""}, None)
    shown: list[str] = []
    async for item in services.chat.stream(turn):
        if item.event == "token":
            shown.append(item.data["text"])
            yield _chunk(cid, body.model, {"content": item.data["text"]}, None)
        elif item.event == "error":
            yield json.dumps({"error": {"type": "server_error", **item.data}})
            break
        elif item.event == "done":
            yield _chunk(cid, body.model, {}, finish_reason(item.data))
            if body.stream_options and body.stream_options.include_usage:
                counts = turn_usage(services, turn, item.data, "".join(shown))
                yield json.dumps({**json.loads(_chunk(cid, body.model, {}, None)),
                                  "choices": [], "usage": counts})  # fmt: skip
    yield "[DONE]"


@router.post(
    "/v1/chat/completions",
    summary="OpenAI-compatible chat completions",
    responses={**EVENT_STREAM, **error_responses(400, 401, 413, 503)},
)
async def completions(
    body: CompletionRequest, principal: PrincipalDep, services: ServicesDep
) -> Any:
    """Answers the last user message; earlier user messages give follow-up context."""
    asked = [m.content or "" for m in body.messages if m.role == "user"]
    if not asked:
        raise InvalidInput("messages must contain a user message")
    turn = await run_in_threadpool(services.chat.prepare_stateless, principal.customer_id, asked)
    cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    if body.stream:
        return EventSourceResponse(_stream(cid, body, services, turn), ping=15)
    done: dict[str, Any] | None = None
    async for item in services.chat.stream(turn):
        if item.event == "done":
            done = item.data
    if done is None:
        raise BackendUnavailable("the answer could not be completed")
    text = done.get("text", "")
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.model,
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason(done),
                "message": {"role": "assistant", "content": text},
            }
        ],
        "usage": turn_usage(services, turn, done, text),
    }


@router.get(
    "/v1/models",
    summary="The models this server answers as (OpenAI shape)",
    responses=error_responses(401),
)
def models(principal: PrincipalDep) -> dict[str, Any]:
    """One model, `advisor`: the grounded pipeline (any `model` name a request sends is
    answered by it). `created` is when this server process started."""
    return {
        "object": "list",
        "data": [
            {"id": MODEL_ID, "object": "model", "created": STARTED, "owned_by": OWNER},
        ],
    }

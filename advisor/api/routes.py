"""Chat, context and health routes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse

from advisor import __version__
from advisor.api.deps import ChatDep, ContextDep, PrincipalDep, ServicesDep
from advisor.api.problems import EVENT_STREAM, error_responses
from advisor.chat.events import ChatEvent
from advisor.chat.turn import Turn

router = APIRouter()


class ChatRequest(BaseModel):
    """A customer's chat message; omit `session_id` to start a new session."""

    message: str = Field(description="What the customer asked")
    session_id: str | None = Field(default=None, max_length=64)


async def sse_events(service_events: AsyncIterator[ChatEvent]) -> AsyncIterator[dict[str, str]]:
    """ChatEvents as sse-starlette dicts."""
    async for item in service_events:
        yield {"event": item.event, "data": json.dumps(item.data)}


@router.post(
    "/v1/chat",
    summary="Stream a grounded answer as server-sent events",
    responses={**EVENT_STREAM, **error_responses(400, 401, 404, 413, 503)},
)
async def chat(body: ChatRequest, principal: PrincipalDep, chat: ChatDep) -> EventSourceResponse:
    """Events: meta, fact, token, grounding, done (and error)."""
    turn: Turn = await run_in_threadpool(
        chat.prepare, principal.customer_id, body.message, body.session_id
    )
    return EventSourceResponse(sse_events(chat.stream(turn)), ping=15)


@router.get(
    "/v1/customers/me/context",
    summary="The caller's customer 360 view",
    responses=error_responses(401, 503),
)
async def my_context(principal: PrincipalDep, context: ContextDep) -> dict[str, Any]:
    """Accounts, spending, bills, holdings and every citable fact."""
    view = await run_in_threadpool(context.view, principal.customer_id)
    return view.to_json()


@router.get("/healthz", summary="Liveness and what back-end serves")
async def healthz(services: ServicesDep) -> dict[str, Any]:
    """Status, version and the model back-end."""
    return {"status": "ok", "version": __version__, "llm": services.backend.describe()}

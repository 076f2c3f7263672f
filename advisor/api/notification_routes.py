"""The customer's notifications: a list (unread first) and a resumable SSE stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from sse_starlette import EventSourceResponse

from advisor.api.orchestration_deps import CustomerDep, NotificationBody, NotificationsDep
from advisor.api.problems import error_responses
from advisor.orchestration.notifications import NotificationService

router = APIRouter()
POLL_S = 0.25


@router.get(
    "/v1/notifications", summary="The caller's notifications", responses=error_responses(401, 403)
)
async def list_notifications(
    principal: CustomerDep, notifications: NotificationsDep
) -> list[NotificationBody]:
    """Unread first, newest first within each; each with its facts and its action (or null)."""
    rows = await run_in_threadpool(notifications.for_customer, principal.customer_id)
    return [NotificationBody(**row) for row in rows]


async def notification_events(
    request: Request, notifications: NotificationService, customer_id: str, last: int,
    follow: bool,
) -> AsyncIterator[dict[str, str]]:  # fmt: skip
    """Notifications after `last` in id order, as SSE events whose id resumes the stream."""
    while not await request.is_disconnected():
        rows = await run_in_threadpool(notifications.after, customer_id, last)
        for row in rows:
            last = row["id"]
            yield {"event": "notification", "id": str(last), "data": json.dumps(row)}
        if not follow:
            return
        await asyncio.sleep(POLL_S)


# Not in the OpenAPI spec: a following stream never ends, which a spec fuzzer cannot call.
@router.get("/v1/notifications/stream", include_in_schema=False)
async def stream_notifications(
    request: Request,
    principal: CustomerDep,
    notifications: NotificationsDep,
    last_event_id: Annotated[int, Header(alias="Last-Event-ID", ge=0, le=2**63 - 1)] = 0,
    follow: Annotated[bool, Query(description="false: send what is there, then end")] = True,
) -> EventSourceResponse:
    """Server-sent `notification` events; reconnect with Last-Event-ID to get what came after."""
    events = notification_events(
        request, notifications, principal.customer_id, last_event_id, follow
    )
    return EventSourceResponse(events, ping=15)

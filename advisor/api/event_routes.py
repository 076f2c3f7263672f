"""POST /v1/events: core-banking events in, for service tokens only."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from advisor.api.orchestration_deps import EventsDep, ReceiptBody, ServiceDep
from advisor.api.problems import error_responses
from advisor.orchestration.events import BankEvent

router = APIRouter()


@router.post(
    "/v1/events",
    status_code=202,
    summary="Accept a core-banking event (idempotent on its id)",
    responses={
        200: {"model": ReceiptBody, "description": "A replay: the first receipt, nothing started"},
        **error_responses(401, 403, 422),
    },
)
async def post_event(
    event: BankEvent, _: ServiceDep, events: EventsDep, response: Response
) -> ReceiptBody:
    """202 with the receipt; the same id again answers 200 with the first receipt.

    422: a bad type, amount (decimal money, two places, sign by type), currency or time, or a
    customer this bank does not have.
    """
    receipt = await run_in_threadpool(events.accept, event)
    if receipt.replay:
        response.status_code = 200
    return ReceiptBody(**receipt.to_json())

"""The customer's proposed actions: list, confirm, decline (each under an Idempotency-Key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path
from fastapi.concurrency import run_in_threadpool

from advisor.api.orchestration_deps import ActionBody, ActionsDep, CustomerDep
from advisor.api.problems import error_responses
from advisor.orchestration.actions import ActionService, action_json

router = APIRouter()
ActionId = Annotated[str, Path(min_length=1, max_length=40)]
IdempotencyKey = Annotated[
    str,
    Header(alias="Idempotency-Key", min_length=1, max_length=128,
           description="Unique per decision; a retry with the same key answers the same"),
]  # fmt: skip


@router.get("/v1/actions", summary="The caller's actions", responses=error_responses(401, 403))
async def list_actions(principal: CustomerDep, actions: ActionsDep) -> list[ActionBody]:
    """Newest first; pending ones past their expiry are shown expired."""
    rows = await run_in_threadpool(actions.for_customer, principal.customer_id)
    return [ActionBody(**action_json(row)) for row in rows]


async def _decide(
    actions: ActionService, customer_id: str, action_id: str, decision: str, key: str
) -> ActionBody:
    """Run one decision off the event loop."""
    row = await run_in_threadpool(actions.decide, customer_id, action_id, decision, key)
    return ActionBody(**action_json(row))


@router.post(
    "/v1/actions/{action_id}/confirm",
    summary="Confirm an action: executed once, or rejected/expired with a reason",
    responses=error_responses(401, 403, 404, 422),
)
async def confirm_action(
    action_id: ActionId, key: IdempotencyKey, principal: CustomerDep, actions: ActionsDep
) -> ActionBody:
    """The action with its new status; balances are re-checked at execution."""
    return await _decide(actions, principal.customer_id, action_id, "confirm", key)


@router.post(
    "/v1/actions/{action_id}/decline",
    summary="Decline an action",
    responses=error_responses(401, 403, 404, 422),
)
async def decline_action(
    action_id: ActionId, key: IdempotencyKey, principal: CustomerDep, actions: ActionsDep
) -> ActionBody:
    """The action, declined (or the state it had already reached)."""
    return await _decide(actions, principal.customer_id, action_id, "decline", key)

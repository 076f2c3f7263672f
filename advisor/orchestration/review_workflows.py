"""The proactive credit-limit workflows on DBOS: a card transaction checks the spending rule,
and a claimed review decides and offers once (advisor/orchestration/credit_review.py).

`card_spend_check` (events.yaml names it for `card_transaction`) runs per event, `event:<id>`;
`credit_review` runs once per review id `credit_review:<customer>:<day>`, however many events
or scans start it (DBOS returns the existing run for a known id). Imported by runtime.py, so
both are registered before DBOS launches and recovers them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from dbos import DBOS, SetWorkflowID

from advisor.orchestration.credit_review import Claim
from advisor.orchestration.workflows import (
    RETRIED,
    record_outcome,
    services,
    start_credit_offer,
    workflow,
)

log = logging.getLogger(__name__)


@DBOS.step(**RETRIED)
async def claim_review(event_id: str) -> dict[str, Any]:
    """Step: evaluate the rule and the blocks for the event's customer and day; claim once."""
    return await asyncio.to_thread(services().reviews.claim_for_event, event_id)


@DBOS.step(**RETRIED)
async def decide_review(review_id: str) -> dict[str, Any]:
    """Step: decide the review and offer a raise (idempotent by the review's stored trace)."""
    return await asyncio.to_thread(services().reviews.review, review_id)


@workflow("card_spend_check")
async def card_spend_check(event_id: str) -> str:
    """Card transaction -> spending rule -> (once per customer and day) the credit review."""
    claim = await claim_review(event_id)
    if claim["review_id"]:
        await start_review(claim["review_id"])
    return await record_outcome(event_id, str(claim["outcome"])[:32])


@workflow("credit_review")
async def credit_review(review_id: str) -> str:
    """Review -> risk re-scored -> decision -> contract, action, notification -> the offer's
    durable wait (its own workflow, as for a requested offer)."""
    made = await decide_review(review_id)
    if made["action_id"]:
        await start_credit_offer(made["workflow_id"], made["action_id"], made["wait_s"])
    return str(made["decision"])


async def start_review(review_id: str) -> None:
    """Start the review once (a second start with its id returns the first run)."""
    with SetWorkflowID(review_id):
        await DBOS.start_workflow_async(credit_review, review_id)


async def start_claimed(claims: list[Claim]) -> list[str]:
    """Start the review of every claim that names one (a re-run starts nothing new); ids."""
    started = [c.review_id for c in claims if c.review_id]
    for review_id in started:
        await start_review(review_id)
    return started

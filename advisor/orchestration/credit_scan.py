"""The nightly credit scan: the spending rule for every card holder, a review for each who
qualifies (`advisor credit scan`, or the server every `credit_scan_interval_s`, off by default).

A re-run on the same day claims nothing new: each review id is one per customer and day.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

from dbos import DBOS, WorkflowHandleAsync

from advisor.errors import InvalidInput
from advisor.orchestration.review_workflows import start_claimed
from portfolio_context.db import session_scope
from portfolio_context.view import CustomerNotFound, bank_as_of

if TYPE_CHECKING:
    from advisor.orchestration.credit_review import Claim
    from advisor.orchestration.runtime import Orchestration

log = logging.getLogger(__name__)


def scan_day(url: str, as_of: str | None, today: dt.date | None = None) -> dt.date:
    """The day to evaluate: `as_of` (YYYY-MM-DD, not after today) or the bank's as-of date.
    InvalidInput for a bad date or an unseeded bank."""
    today = today or dt.datetime.now(dt.UTC).date()
    if as_of is None:
        try:
            with session_scope(url) as db:
                return bank_as_of(db)
        except CustomerNotFound as exc:
            raise InvalidInput("the bank has not been seeded: run `advisor seed`") from exc
    try:
        day = dt.date.fromisoformat(as_of)
    except ValueError:
        raise InvalidInput(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)") from None
    if day > today:
        raise InvalidInput(f"--as-of {day} is in the future (today is {today}, UTC)")
    return day


async def scan(services: Orchestration, day: dt.date) -> list[Claim]:
    """Claim the day's reviews and start each (a re-run starts nothing new)."""
    claims = await asyncio.to_thread(services.reviews.scan, day)
    await start_claimed(claims)
    return claims


async def decisions(claims: list[Claim], timeout_s: float = 120.0) -> dict[str, str]:
    """Each started review's decision (raise, keep, decline, ...), waiting for it to finish."""
    found: dict[str, str] = {}
    for claim in claims:
        if claim.review_id:
            handle: WorkflowHandleAsync[str] = await DBOS.retrieve_workflow_async(claim.review_id)
            result = handle.get_result(polling_interval_sec=0.1)
            found[claim.review_id] = str(await asyncio.wait_for(result, timeout_s))
    return found


def report(day: dt.date, claims: list[Claim], decided: dict[str, str]) -> dict[str, Any]:
    """The scan's JSON report: counts per outcome and the reviews with their decisions."""
    reviews = [claim.to_json() | {"decision": decided.get(claim.review_id or "")}
               for claim in claims if claim.review_id]  # fmt: skip
    return {
        "as_of": day.isoformat(), "customers": len(claims),
        "outcomes": dict(sorted(Counter(c.outcome for c in claims).items())),
        "reviews": reviews,
    }  # fmt: skip


async def every(services: Orchestration, interval_s: float) -> None:
    """Scan the bank's as-of day now and every `interval_s`; a failed run is logged, not fatal."""
    url = services.settings.resolved_database_url
    while True:
        try:
            claims = await scan(services, scan_day(url, None))
            log.info("credit scan: %d reviews", sum(1 for c in claims if c.outcome == "started"))
        except Exception:
            log.exception("credit scan failed; the next one runs on schedule")
        await asyncio.sleep(interval_s)


def schedule(services: Orchestration) -> asyncio.Task[None] | None:
    """The scheduled scan when `credit_scan_interval_s` is set (None: off, the default)."""
    interval = services.settings.credit_scan_interval_s
    return asyncio.create_task(every(services, interval)) if interval else None


async def unschedule(task: asyncio.Task[None] | None) -> None:
    """Stop the scheduled scan."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

"""`advisor credit scan`: the spending rule for every card holder, a credit review for each who
qualifies (advisor/orchestration/credit_scan.py); idempotent when re-run on the same day."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from advisor.cli_fail import fail
from advisor.errors import AdvisorError
from advisor.settings import get_settings

if TYPE_CHECKING:
    from advisor.settings import Settings

credit_app = typer.Typer(help="Proactive credit-limit reviews.", no_args_is_help=True)
SCAN_EXECUTOR = "{}-scan"  # the CLI's own DBOS executor id: it never adopts the server's work


@credit_app.command("scan")
def scan(
    as_of: Annotated[
        str | None,
        typer.Option(help="Day to evaluate, YYYY-MM-DD (default: the bank's as-of date)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Start a credit-limit review for every customer whose card spending changed (the rule of
    spending_change.yaml, the blocks of credit_review.yaml): exit 0, 2 on bad input."""
    from advisor.orchestration.credit_scan import scan_day
    from advisor.predict.credit_risk import MODEL_NAME
    from advisor.predict.registry import Registry

    settings = get_settings()
    try:
        day = scan_day(settings.resolved_database_url, as_of)
    except AdvisorError as exc:
        raise fail(str(exc)) from None
    if Registry.from_settings(settings).promoted(MODEL_NAME) is None:
        raise fail("no credit-risk model is trained: run `advisor train credit-risk`")
    found = asyncio.run(_scan(_scan_settings(settings), day.isoformat()))
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    _print(found)


def _scan_settings(settings: Settings) -> Settings:
    """The settings with the CLI's own executor id: launching DBOS recovers only its own
    executor's pending workflows, so a scan never re-runs a live server's."""
    executor = SCAN_EXECUTOR.format(settings.workflow_executor_id)
    return settings.model_copy(update={"workflow_executor_id": executor})


async def _scan(settings: Settings, day: str) -> dict[str, Any]:
    """Launch DBOS, claim and start the day's reviews, wait for their decisions, stop."""
    import datetime as dt

    from advisor.orchestration import runtime
    from advisor.orchestration.credit_scan import decisions, report, scan

    with runtime.running(settings) as services:
        claims = await scan(services, dt.date.fromisoformat(day))
        found = report(dt.date.fromisoformat(day), claims, await decisions(claims))
        await _leave_waiting()
    return found


async def _leave_waiting() -> None:
    """Stop the offers' waits this process started while DBOS still runs: they stay pending
    and this executor's next launch resumes them (an action expires at its time regardless)."""
    waiting = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)


def _print(found: dict[str, Any]) -> None:
    """The report in lines."""
    counts = ", ".join(f"{k} {v}" for k, v in found["outcomes"].items()) or "none"
    typer.echo(f"credit scan as of {found['as_of']}: {found['customers']} card holders ({counts})")
    for review in found["reviews"]:
        typer.echo(f"  {review['customer_id']}: {review['outcome']} {review['review_id']} "
                   f"rules {','.join(review['fired']) or '-'} -> {review['decision']}")  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add `advisor credit` to the CLI."""
    app.add_typer(credit_app, name="credit")

"""`advisor outcomes`: export suggestions with their outcomes, record an outcome, count them."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from advisor.cli_fail import fail
from advisor.errors import AdvisorError
from advisor.settings import get_settings

if TYPE_CHECKING:
    from advisor.learning.suggestions import SuggestionLog

outcomes_app = typer.Typer(help="Served suggestions and their outcomes (the bandit's data).")
console = Console()


def _log() -> SuggestionLog:
    """The suggestion log on the configured bank."""
    from advisor.learning.suggestions import SuggestionLog

    return SuggestionLog(get_settings().resolved_database_url)


@outcomes_app.command("export")
def export(
    since: Annotated[str, typer.Option(help="First day served, YYYY-MM-DD (or an ISO time)")],
    out: Annotated[Path, typer.Option(help="File to write (replaced whole)")],
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv")] = "parquet",
) -> None:
    """Write every suggestion served since DATE with its outcomes and reward."""
    from advisor.decisions.policy import shipped_policy
    from advisor.learning.config import shipped_config
    from advisor.learning.export import FORMATS, parse_since, write
    from advisor.learning.join import joined

    if fmt not in FORMATS:
        raise fail(f"--format must be parquet or csv, got {fmt!r}")
    try:
        start = parse_since(since)
    except ValueError:
        raise fail(f"--since must be a date YYYY-MM-DD (or an ISO time), got {since!r}") from None
    if not out.parent.is_dir() or out.is_dir():
        raise fail(f"--out {out} must be a file in an existing folder")
    items = joined(_log(), start, shipped_config(), shipped_policy())
    try:
        rows = write(items, out, fmt)
    except OSError as exc:
        raise fail(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    console.print(f"wrote {rows} suggestions served since {start:%Y-%m-%d %H:%M} UTC to {out}")


@outcomes_app.command("record")
def record(
    suggestion_id: Annotated[str, typer.Argument(help="The suggestion (sug_...)")],
    outcome: Annotated[
        str,
        typer.Argument(
            help="confirmed, declined, expired, thumbs_up, thumbs_down or product_opened"
        ),
    ],
) -> None:
    """Record an outcome of a suggestion; an unknown id is refused (exit 2) and counted."""
    try:
        new = _log().record(suggestion_id, outcome, source="cli")
    except AdvisorError as exc:
        raise fail(str(exc)) from None
    console.print("recorded" if new else "already recorded")


@outcomes_app.command("stats")
def stats(as_json: Annotated[bool, typer.Option("--json", help="JSON object")] = False) -> None:
    """Suggestions by channel and status, outcomes by name, refused outcomes by reason."""
    from advisor.decisions.policy import shipped_policy
    from advisor.learning.config import shipped_config
    from advisor.learning.join import joined

    log = _log()
    items = joined(log, dt.datetime(1970, 1, 1, tzinfo=dt.UTC), shipped_config(), shipped_policy())
    found = {
        "suggestions": dict(Counter(f"{j.row.channel}:{j.status}" for j in items)),
        "outcomes": dict(Counter(o.outcome for j in items for o in j.outcomes)),
        "rejected": log.rejected(),
    }
    typer.echo(json.dumps(found, sort_keys=True) if as_json else _lines(found))


def _lines(found: dict[str, dict[str, int]]) -> str:
    """The counts as indented lines."""
    return "\n".join(
        f"{part}:" + "".join(f"\n  {k}: {v}" for k, v in sorted(counts.items()))
        for part, counts in found.items()
    )


def register(app: typer.Typer) -> None:
    """Add `advisor outcomes ...` to the CLI."""
    app.add_typer(outcomes_app, name="outcomes")

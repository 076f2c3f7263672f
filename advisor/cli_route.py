"""`advisor route`: the intent router on lines of stdin (JSON lines with --json)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from advisor.cli_lines import each_line
from advisor.errors import AdvisorError
from advisor.settings import get_settings


def route(
    as_json: Annotated[
        bool, typer.Option("--json", help='Lines are {"text": ...}; print JSON results')
    ] = False,
) -> None:
    """Route each line of stdin: one result line per input line (an error line names its
    number and the rest continue; exit 1 when any line failed)."""
    from advisor.routing.router import Router, RouterModelError

    settings = get_settings()
    try:
        router = Router.from_settings(settings)
    except (RouterModelError, AdvisorError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    def answer(text: str) -> tuple[str, str]:
        routed = router.route(text)
        return json.dumps(routed.to_json()), f"{routed.intent}\t{routed.family}"

    each_line(as_json, settings.max_message_chars, answer)


def register(app: typer.Typer) -> None:
    """Add `advisor route` to the CLI."""
    app.command()(route)

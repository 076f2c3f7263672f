"""`advisor route`: the intent router on lines of stdin (JSON lines with --json)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from advisor.chat.validation import clean_message
from advisor.errors import AdvisorError
from advisor.settings import get_settings

MAX_LINE_BYTES = 1_000_000  # a longer line is rejected before it is parsed


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
    failures = 0
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            if len(line) > MAX_LINE_BYTES:
                raise AdvisorError(f"line is longer than {MAX_LINE_BYTES} characters")
            text = clean_message(_text_of(line, as_json), settings.max_message_chars)
            routed = router.route(text)
        except AdvisorError as exc:
            failures += 1
            typer.echo(json.dumps({"line": number, "error": str(exc)}) if as_json else "")
            typer.echo(f"error: line {number}: {exc}", err=True)
            continue
        payload = routed.to_json()
        typer.echo(json.dumps(payload) if as_json else f"{routed.intent}\t{routed.family}")
    if failures:
        raise typer.Exit(1)


def _text_of(line: str, as_json: bool) -> str:
    """The message of one input line (AdvisorError when it is not a JSON object with text)."""
    if not as_json:
        return line.rstrip("\n")
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise AdvisorError(f"not JSON ({exc.msg})") from None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise AdvisorError('expected an object with a string "text"')
    return str(record["text"])


def register(app: typer.Typer) -> None:
    """Add `advisor route` to the CLI."""
    app.command()(route)

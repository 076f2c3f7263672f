"""`advisor redact`: the PII rails on JSON lines, for testers and the compliance team."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from advisor.chat.validation import clean_message
from advisor.errors import AdvisorError
from advisor.settings import get_settings

MAX_LINE_CHARS = 100_000


def redact(
    as_json: Annotated[
        bool, typer.Option("--json", help='Lines are {"text": ...}; print JSON results')
    ] = False,
) -> None:
    """Redact PII from stdin, one line per message (one result line per input line)."""
    from advisor.rails.pii.redactor import PiiRedactor

    redactor, failures = PiiRedactor.from_settings(get_settings()), 0
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            text = clean_message(_text_of(line, as_json), MAX_LINE_CHARS)
            result = redactor.redact(text)
        except AdvisorError as exc:
            failures += 1
            typer.echo(json.dumps({"line": number, "error": str(exc)}) if as_json else "")
            typer.echo(f"error: line {number}: {exc}", err=True)
            continue
        typer.echo(json.dumps(result.to_json()) if as_json else result.redacted)
    if failures:
        raise typer.Exit(1)


def _text_of(line: str, as_json: bool) -> str:
    """The message of one input line."""
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
    """Add the rails commands to the CLI."""
    app.command()(redact)

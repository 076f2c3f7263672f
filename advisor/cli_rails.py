"""`advisor redact`: the PII rails on JSON lines, for testers and the compliance team."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from advisor.cli_lines import each_line
from advisor.settings import get_settings

MAX_LINE_CHARS = 100_000


def redact(
    as_json: Annotated[
        bool, typer.Option("--json", help='Lines are {"text": ...}; print JSON results')
    ] = False,
) -> None:
    """Redact PII from stdin, one line per message (one result line per input line)."""
    from advisor.rails.pii.redactor import PiiRedactor

    redactor = PiiRedactor.from_settings(get_settings())

    def answer(text: str) -> tuple[str, str]:
        result = redactor.redact(text)
        return json.dumps(result.to_json()), result.redacted

    each_line(as_json, MAX_LINE_CHARS, answer)


def register(app: typer.Typer) -> None:
    """Add the rails commands to the CLI."""
    app.command()(redact)

"""Lines of stdin through one function, as the CLI's line commands (`route`, `redact`) read them."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import typer

from advisor.chat.validation import clean_message
from advisor.errors import AdvisorError

MAX_LINE_CHARS = 1_000_000  # a longer line is rejected before it is parsed


def each_line(as_json: bool, max_chars: int, answer: Callable[[str], tuple[str, str]]) -> None:
    """One result line per input line: `answer(text)` gives the JSON and the plain form.

    A bad line gets an error line naming its number and the rest continue; exit 1 when any
    line failed. Blank lines are skipped.
    """
    failures = 0
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            if len(line) > MAX_LINE_CHARS:  # rejected before it is parsed
                raise AdvisorError(f"line is longer than {MAX_LINE_CHARS} characters")
            as_object, plain = answer(clean_message(_text_of(line, as_json), max_chars))
        except AdvisorError as exc:
            failures += 1
            typer.echo(json.dumps({"line": number, "error": str(exc)}) if as_json else "")
            typer.echo(f"error: line {number}: {exc}", err=True)
            continue
        typer.echo(as_object if as_json else plain)
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

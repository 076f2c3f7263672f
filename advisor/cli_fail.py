"""The CLI's one way to stop with a message a tester can act on (exit 2 unless told)."""

from __future__ import annotations

import typer
from rich.console import Console

err = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print an error the tester can act on and return the exit to raise."""
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)

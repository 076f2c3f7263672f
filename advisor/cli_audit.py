"""`advisor audit verify` and `advisor audit show`: the hash-chained audit log from the shell."""

from __future__ import annotations

from typing import Annotated

import typer

from advisor.settings import get_settings

audit_app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)


@audit_app.command("verify")
def verify() -> None:
    """Check the whole chain: exit 0 when it holds, 1 naming the first bad entry."""
    from advisor.orchestration.audit import AuditLog

    count, finding = AuditLog.from_settings(get_settings()).check()
    if finding is None:
        typer.echo(f"{count} entries verified")
        return
    typer.echo(
        f"audit log broken at seq {finding.seq} ({finding.kind} {finding.subject}): "
        f"{finding.reason}; {count} entries before it verified",
        err=True,
    )
    raise typer.Exit(1)


@audit_app.command("anchor")
def anchor() -> None:
    """Anchor a log written before anchors existed at its current end (once, by an operator)."""
    from advisor.orchestration.audit import AuditLog

    seq = AuditLog.from_settings(get_settings()).anchor_existing()
    typer.echo(f"anchored at seq {seq}" if seq else "already anchored (or empty): nothing done")


@audit_app.command("show")
def show(
    after: Annotated[int, typer.Option(min=0, help="Only entries after this seq")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many entries")] = 50,
) -> None:
    """Print entries as tab-separated lines: seq, at, kind, subject, payload."""
    from advisor.orchestration.audit import AuditLog

    for entry in AuditLog.from_settings(get_settings()).entries(after, limit):
        fields = (entry.seq, f"{entry.at.isoformat()}Z", entry.kind, entry.subject, entry.payload)
        typer.echo("\t".join(str(field) for field in fields))


def register(app: typer.Typer) -> None:
    """Add `advisor audit` to the CLI."""
    app.add_typer(audit_app, name="audit")

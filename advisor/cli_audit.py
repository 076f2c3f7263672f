"""`advisor audit verify` and `advisor audit show`: the hash-chained audit log from the shell."""

from __future__ import annotations

from typing import Annotated

import typer

from advisor.cli_fail import fail
from advisor.settings import get_settings

audit_app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)


@audit_app.command("verify")
def verify(
    require_anchor_file: Annotated[
        bool,
        typer.Option(help="Exit 1 when no anchor file is set instead of skipping that check"),
    ] = False,
) -> None:
    """Check the whole chain, its anchor and the heads published to the anchor file: exit 0
    when it holds, 1 naming the first bad entry."""
    from advisor.orchestration.audit import AuditLog

    try:
        report = AuditLog.from_settings(get_settings()).report()
    except OSError as exc:  # the anchor file cannot be read: no verdict either way
        raise fail(f"could not read the anchor file: {exc}") from exc
    finding = report.finding
    if finding is not None:
        typer.echo(f"audit log broken at seq {finding.seq} ({finding.kind} {finding.subject}): "
                   f"{finding.reason}; {report.entries} entries before it verified",
                   err=True)  # fmt: skip
        raise typer.Exit(1)
    if report.heads is None:
        typer.echo(f"{report.entries} entries verified against the database anchor; external "
                   "anchor check skipped: ADVISOR_AUDIT_ANCHOR_FILE is not set, so a cut log "
                   "with an older anchor row put back would pass")  # fmt: skip
        if require_anchor_file:
            raise typer.Exit(1)
        return
    typer.echo(f"{report.entries} entries verified; {report.heads} heads published to the "
               f"anchor file checked (newest seq {report.newest_head})")  # fmt: skip


@audit_app.command("anchor")
def anchor() -> None:
    """Anchor a log written before anchors (or the anchor file) existed at its current end
    (once, by an operator: a cut made before this would be anchored too)."""
    from advisor.orchestration.audit import AuditLog

    try:
        seq = AuditLog.from_settings(get_settings()).anchor_existing()
    except OSError as exc:
        raise fail(f"could not write the anchor file: {exc}") from exc
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

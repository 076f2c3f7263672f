"""`advisor score offer-response`: score a campaign file with the promoted model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from advisor.errors import AdvisorError
from advisor.settings import get_settings

score_app = typer.Typer(help="Score data with the promoted models.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@score_app.command("offer-response")
def offer_response(
    campaigns: Annotated[Path, typer.Option(help="File in the UCI Bank Marketing schema")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per data row")] = False,
) -> None:
    """Probability of a term-deposit sale per row (`y` and `duration` may be absent)."""
    from advisor.predict.campaigns import read_campaign_file
    from advisor.predict.offer_response import OfferResponseScorer
    from advisor.predict.registry import Registry

    try:
        scorer = OfferResponseScorer.from_registry(Registry.from_settings(get_settings()))
        if scorer is None:
            raise AdvisorError(
                "no offer-response model is promoted; train one with `advisor train offer-response`"
            )
        table = read_campaign_file(campaigns, require_target=False)
        probabilities = scorer.score_rows(table.rows)
    except AdvisorError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    for row, probability in enumerate(probabilities):
        if as_json:
            typer.echo(json.dumps({"row": row, "probability": round(probability, 6)}))
        else:
            typer.echo(f"{row}\t{probability:.4f}")


def register(app: typer.Typer) -> None:
    """Add `advisor score ...` to the CLI."""
    app.add_typer(score_app, name="score")

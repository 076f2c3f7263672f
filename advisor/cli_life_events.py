"""`advisor train life-events`: train, compare and register the life-event models."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from advisor.errors import AdvisorError
from advisor.settings import get_settings

console = Console()
err = Console(stderr=True)
TRAINING_CUSTOMERS = 20_000


def life_events(
    database_url: Annotated[
        str | None,
        typer.Option(help="Bank to train on (default: var/train/bank.db, seeded when missing)"),
    ] = None,
    customers: Annotated[
        int, typer.Option(min=50, max=100_000, help="Customers when seeding the training bank")
    ] = TRAINING_CUSTOMERS,
) -> None:
    """Train GBM and GRU per life event, register the calibrated winners; bad data exits 2."""
    from advisor.predict.registry import Registry
    from advisor.training.life_events_report import figures_table
    from advisor.training.life_events_train import ensure_training_bank, train_life_events

    settings = get_settings()
    try:
        with console.status("training the life-event models") as status:
            url = database_url or ensure_training_bank(
                settings.var_dir, customers, lambda m: status.update(m)
            )
            meta = train_life_events(url, Registry.from_settings(settings), status.update)
    except AdvisorError as exc:
        err.print(f"[bold red]error:[/] {exc}; the previous version (if any) is unchanged")
        raise typer.Exit(2) from None
    console.print(f"life-events v{meta['version']} ({meta['train_seconds']} s), served per event:")
    console.print(", ".join(f"{e} {m}" for e, m in meta["chosen"].items()))
    table = "\n".join(figures_table(meta["metrics"], meta["chosen"]))
    console.print(table, markup=False, soft_wrap=True)

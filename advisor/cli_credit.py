"""`advisor train credit-risk`: train and register the credit-risk model on a training bank."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from advisor.errors import AdvisorError
from advisor.settings import get_settings

console = Console()
err = Console(stderr=True)
TRAINING_CUSTOMERS = 10_000  # the first this many of the training bank (shared with life-events)


def credit_risk(
    database_url: Annotated[
        str | None,
        typer.Option(help="Bank to train on (default: var/train/bank.db, seeded when smaller)"),
    ] = None,
    customers: Annotated[
        int,
        typer.Option(min=100, max=100_000, help="Customers to train on (and to seed, if needed)"),
    ] = TRAINING_CUSTOMERS,
) -> None:
    """Train the credit-risk model and register it promoted; bad data keeps the old version."""
    from advisor.predict.registry import Registry
    from advisor.training.credit_risk_train import train_credit_risk
    from advisor.training.life_events_train import ensure_training_bank

    settings = get_settings()
    try:
        with console.status("training the credit-risk model") as status:
            url = database_url or ensure_training_bank(
                settings.var_dir, customers, lambda m: status.update(m)
            )
            registry = Registry.from_settings(settings)
            model = train_credit_risk(registry, url, lambda m: status.update(m), customers)
    except AdvisorError as exc:
        err.print(f"[bold red]error:[/] {exc}; the previous version (if any) is unchanged")
        raise typer.Exit(2) from None
    metrics = model.meta["metrics"]
    console.print(f"credit-risk v{model.version}: {model.path}")
    console.print(
        f"held-out customers {metrics['test_customers']} ({metrics['test_delinquent']} "
        f"delinquent): ROC-AUC {metrics['roc_auc']}, PR-AUC {metrics['pr_auc']}, "
        f"Brier {metrics['brier']} (base rate {metrics['brier_base_rate']})"
    )

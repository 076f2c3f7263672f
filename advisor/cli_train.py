"""`advisor train [NAME]`: rebuild the registry's models, or one of them, or the router."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from advisor import cli_credit, cli_life_events
from advisor.errors import AdvisorError
from advisor.settings import get_settings

train_app = typer.Typer(
    help="Train the advisor's learned models; with no NAME, every model of the registry.",
    invoke_without_command=True,
)
console = Console()
err = Console(stderr=True)


@train_app.command("router")
def router(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Folder with banking77_train.csv and clinc150_banking_credit.json"),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Model folder (default: var/models/router)")
    ] = None,
    per_intent: Annotated[
        int | None, typer.Option(min=5, help="At most this many examples per intent (quick)")
    ] = None,
) -> None:
    """Train the intent router; prints the validation metrics. Bad data keeps the old model."""
    from advisor.routing.router import router_dir
    from advisor.training.router_train import train_router

    settings = get_settings()
    target = out or router_dir(settings)
    try:
        with console.status("training the intent router") as status:
            card = train_router(
                settings, data_dir, target, per_intent, say=lambda m: status.update(m)
            )
    except AdvisorError as exc:
        err.print(f"[bold red]error:[/] {exc}; the previous model (if any) is unchanged")
        raise typer.Exit(2) from None
    console.print(f"intent router: {target} ({card['train_seconds']} s)")
    console.print(f"thresholds tuned on: {card['thresholds_tuned_on']}")
    for split in ("metrics_tune", "metrics_report"):
        figures = ", ".join(f"{k} {v}" for k, v in card[split].items())
        console.print(f"{split.removeprefix('metrics_')}: {figures}")


def train_rails() -> None:
    """`advisor ingest`: train the injection classifier from the shared data (if it changed)."""
    from advisor.training.injection_train import train_injection_model

    with console.status("training the injection classifier (only when its data changed)"):
        path = train_injection_model(get_settings())
    if path is None:
        err.print(
            "[yellow]no attack data in the shared data dir: injection rails on heuristics only[/]"
        )
    else:
        console.print(f"injection classifier: {path}")


@train_app.command("offer-response")
def offer_response(
    campaigns: Annotated[
        Path | None,
        typer.Option(help="UCI Bank Marketing file (default: shared data propensity/)"),
    ] = None,
) -> None:
    """Train the offer-response model on campaign history and register it promoted."""
    from advisor.predict.registry import Registry
    from advisor.training.offer_response_train import train_offer_response

    settings = get_settings()
    path = campaigns or settings.shared_data_dir / "propensity" / "bank_marketing_train.csv"
    try:
        with console.status("training the offer-response model") as status:
            model = train_offer_response(
                Registry.from_settings(settings), path, lambda m: status.update(m)
            )
    except AdvisorError as exc:
        err.print(f"[bold red]error:[/] {exc}; nothing registered, the promoted model is unchanged")
        raise typer.Exit(2) from None
    meta = model.meta
    console.print(f"offer-response v{model.version}: {model.path} ({meta['train_seconds']} s)")
    console.print(f"calibration: {meta['calibration']['method']}")
    for split, figures in meta["metrics"].items():
        order = ("roc_auc", "pr_auc", "brier", "base_rate", "rows")
        console.print(f"{split} hold-out: " + ", ".join(f"{k} {figures[k]}" for k in order))


train_app.command("credit-risk")(cli_credit.credit_risk)


@train_app.command("life-events")
def life_events(
    database_url: Annotated[
        str | None,
        typer.Option(help="Bank to train on (default: var/train/bank.db, seeded when missing)"),
    ] = None,
    customers: Annotated[
        int | None,
        typer.Option(
            min=50,
            max=100_000,
            help="Training-bank customers [default: 20000; --federated: the first 4000]",
        ),
    ] = None,
    federated: Annotated[
        bool,
        typer.Option(
            "--federated",
            help="Compare centralised, federated (Flower FedAvg) "
            "and per-holder GRUs on the same held-out customers; registers nothing",
        ),
    ] = False,
    clients: Annotated[
        int | None, typer.Option(help="--federated: data holders (regions), 2 or more [default: 3]")
    ] = None,
    rounds: Annotated[
        int | None, typer.Option(min=1, max=200, help="--federated: FedAvg rounds [default: 10]")
    ] = None,
    dp: Annotated[
        bool,
        typer.Option(
            "--dp",
            help="--federated: central differential privacy (Flower's server-side fixed clipping)",
        ),
    ] = False,
    noise_multiplier: Annotated[
        float | None, typer.Option(min=0.0, help="--dp: Gaussian noise multiplier [default: 0.5]")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="--federated: JSON output")] = False,
) -> None:
    """Train GBM and GRU per life event, register the calibrated winners; bad data exits 2.
    With --federated: train the GRU centralised, federated and per holder, and compare."""
    from advisor import cli_federated

    flags = {"--dp": dp, "--json": json_out}
    chosen = cli_federated.options(federated, clients, rounds, noise_multiplier, flags)
    if federated:
        cli_federated.run(database_url, customers, chosen)
        return
    cli_life_events.life_events(database_url, customers or cli_life_events.TRAINING_CUSTOMERS)


@train_app.callback()
def every_model(
    ctx: typer.Context,
    customers: Annotated[
        int, typer.Option(min=100, max=100_000, help="Training-bank customers (life events)")
    ] = cli_life_events.TRAINING_CUSTOMERS,
) -> None:
    """With no NAME: offer response, life events, then credit risk on the same training bank."""
    if ctx.invoked_subcommand is not None:
        return
    offer_response(None)
    cli_life_events.life_events(None, customers)
    cli_credit.credit_risk(None, min(customers, cli_credit.TRAINING_CUSTOMERS))


def register(app: typer.Typer) -> None:
    """Add `advisor train ...` to the CLI."""
    app.add_typer(train_app, name="train")

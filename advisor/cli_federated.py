"""`advisor train life-events --federated`: centralised vs federated (Flower) vs each holder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NoReturn

import typer
from rich.console import Console

from advisor.errors import AdvisorError
from advisor.settings import get_settings

console = Console()
err = Console(stderr=True)
FEDERATED_CUSTOMERS = 4000  # a few minutes on two cores
CLIENTS, ROUNDS, NOISE_MULTIPLIER = 3, 10, 0.5  # the defaults
LOCAL_EPOCHS = 1
CLIPPING_NORM = 1.0  # L2 bound of one client's update per round (--dp)


@dataclass(frozen=True)
class FederatedOptions:
    """The --federated options of `advisor train life-events`."""

    clients: int
    rounds: int
    dp: bool
    noise_multiplier: float
    json_out: bool


def options(
    federated: bool,
    clients: int | None,
    rounds: int | None,
    noise_multiplier: float | None,
    flags: dict[str, bool],
) -> FederatedOptions:
    """The federated options with their defaults; exit 2 on any that cannot run: fewer than
    two clients, or a federated option without --federated."""
    from advisor.training.life_events_federated import check_clients

    given = {"--clients": clients, "--rounds": rounds, "--noise-multiplier": noise_multiplier}
    named = [k for k, v in given.items() if v is not None] + [k for k, v in flags.items() if v]
    if not federated and named:
        _fail(f"{', '.join(named)} only apply with --federated")
    chosen = FederatedOptions(
        clients if clients is not None else CLIENTS,
        rounds or ROUNDS,
        flags["--dp"],
        noise_multiplier if noise_multiplier is not None else NOISE_MULTIPLIER,
        flags["--json"],
    )
    try:
        check_clients(chosen.clients)
    except AdvisorError as exc:
        _fail(str(exc))
    return chosen


def run(database_url: str | None, customers: int | None, options: FederatedOptions) -> None:
    """Train the three ways, print the comparison (JSON with --json); exit 2 on bad data."""
    from advisor.training.life_events_federated import compare
    from advisor.training.life_events_federated_flower import Plan, injected_failure
    from advisor.training.life_events_train import ensure_training_bank

    wanted = customers or FEDERATED_CUSTOMERS
    noise = options.noise_multiplier if options.dp else None
    plan = Plan(options.clients, options.rounds, LOCAL_EPOCHS, noise, CLIPPING_NORM,
                injected_failure())  # fmt: skip
    try:
        with err.status("federated life-event training") as status:
            url = database_url or ensure_training_bank(
                get_settings().var_dir, wanted, lambda m: status.update(m)
            )
            report = compare(url, plan, wanted, status.update)
    except AdvisorError as exc:
        _fail(f"{exc}; nothing was registered")
    if options.json_out:
        typer.echo(json.dumps(report, indent=2))
        return
    _print_table(report)


def _print_table(report: dict[str, Any]) -> None:
    """One line per way of training: held-out AUC, seconds, what it saw."""
    fed = report["federated"]
    console.print(f"held-out: {report['heldout']['customers']} customers; AUC = {report['auc_is']}")
    console.print(f"centralised  AUC {report['centralised']['auc']:.4f}  "
                  f"{report['centralised']['seconds']} s")  # fmt: skip
    console.print(f"federated    AUC {fed['auc']:.4f}  {fed['seconds']} s, {fed['rounds']} rounds, "
                  f"{fed['failures']} failed client updates, DP: {fed['dp'] or 'off'}")  # fmt: skip
    for client in report["clients"]:
        console.print(f"{client['name']:<12} AUC {client['auc']:.4f}  alone, {client['customers']} "
                      f"customers, median age {client['median_age']}")  # fmt: skip
    console.print(f"targets: {report['targets']}", markup=False)


def _fail(message: str) -> NoReturn:
    """A clear message and exit 2."""
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(2)

"""`advisor train life-events --federated`: the life-event GRU trained three ways on the same
held-out customers: centralised (every training customer), federated (FedAvg across regional
data holders in a Flower simulation) and each holder alone.

Every model has the same network, initial weights, loss and mini-batch step, and the same
budget: `rounds x local_epochs` passes over its data. AUC is the mean ROC-AUC over the five
life events of the raw GRU scores on the held-out customers' rows (calibration, fitted per
model in `advisor train life-events`, cannot change a ranking).
"""

from __future__ import annotations

import itertools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.errors import AdvisorError
from advisor.predict.life_event_features import EVENTS
from advisor.training import life_events_federated_model as gru
from advisor.training.life_events_federated_data import FederatedData, HolderData, build_federated

if TYPE_CHECKING:
    from advisor.training.life_events_federated_flower import Outcome, Plan

MIN_CLIENTS = 2
MAX_CLIENTS = 8
Say = Callable[[str], None]


class FederatedSetupError(AdvisorError):
    """A federated run that cannot be set up as asked (too few or too many clients)."""


def check_clients(clients: int) -> None:
    """At least two data holders, and no more than the simulation can give a CPU each in turn."""
    if clients < MIN_CLIENTS:
        raise FederatedSetupError(
            f"--clients must be at least {MIN_CLIENTS} (federated training needs several data "
            f"holders), got {clients}"
        )
    if clients > MAX_CLIENTS:
        raise FederatedSetupError(f"--clients must be at most {MAX_CLIENTS}, got {clients}")


def train_alone(holder: HolderData, heldout: HolderData, epochs: int, seed: int) -> dict[str, Any]:
    """One GRU on one party's rows only, scored on the held-out customers."""
    started = time.monotonic()
    model = gru.new_gru(holder, seed)
    gru.standardise(model, [gru.moments(holder)])
    gru.fit_epochs(model, holder, epochs, seed)
    scored = gru.heldout_auc(model, heldout)
    return {**scored, "seconds": round(time.monotonic() - started, 1), "epochs": epochs}


def compare(
    database_url: str,
    plan: Plan,
    customers: int,
    say: Say = lambda _m: None,
) -> dict[str, Any]:
    """Centralised, federated and per-holder GRUs on the same held-out customers."""
    from advisor.training.life_events_federated_run import simulate

    check_clients(plan.clients)
    say(f"loading up to {customers} customers and splitting them into {plan.clients} holders")
    data = build_federated(database_url, plan.clients, customers)
    say(f"federated: {plan.clients} Flower clients, {plan.rounds} rounds of FedAvg on Ray")
    started = time.monotonic()  # first: the simulation forks before this process trains
    with tempfile.TemporaryDirectory(prefix="advisor-federated-") as store:
        outcome = simulate(plan, data.holders, data.heldout, Path(store))
    federated = _federated_report(plan, outcome, time.monotonic() - started)
    epochs = plan.rounds * plan.local_epochs
    say(f"centralised GRU on {len(data.pooled.rows.c)} rows ({epochs} epochs)")
    centralised = train_alone(data.pooled, data.heldout, epochs, plan.seed)
    clients = []
    for holder, mix in zip(data.holders, data.mixes, strict=True):
        say(f"{holder.name} alone on {len(holder.rows.c)} rows")
        clients.append({**mix, **train_alone(holder, data.heldout, epochs, plan.seed)})
    return _report(data, centralised, federated, clients)


def _federated_report(plan: Plan, outcome: Outcome, seconds: float) -> dict[str, Any]:
    """The final global model's held-out AUC, the AUC after every round, failures, DP."""
    final = outcome.rounds[-1] if outcome.rounds else {"auc": float("nan"), "per_event": {}}
    dp = None
    if plan.noise_multiplier is not None:
        dp = {"mechanism": "central DP, server-side fixed clipping (Flower)",
              "noise_multiplier": plan.noise_multiplier, "clipping_norm": plan.clipping_norm,
              "noise_stdev": plan.noise_multiplier * plan.clipping_norm / plan.clients}  # fmt: skip
    return {
        "auc": final["auc"],
        "per_event": final["per_event"],
        "strategy": "FedAvg",
        "rounds": plan.rounds,
        "local_epochs": plan.local_epochs,
        "seconds": round(seconds, 1),
        "round_seconds": _round_seconds(outcome.rounds),
        "auc_by_round": [r["auc"] for r in outcome.rounds],  # round 0: the initial weights
        "update_norm_by_round": [r["update_norm"] for r in outcome.rounds[1:]],
        "failures": sum(outcome.failures.values()),
        "failures_by_round": {str(k): v for k, v in sorted(outcome.failures.items()) if v},
        "skipped_rounds": outcome.skipped_rounds,
        "rounds_aggregated": plan.rounds - len(outcome.skipped_rounds),
        "dp": dp,
    }


def _round_seconds(rounds: list[dict[str, Any]]) -> list[float]:
    """Wall-clock seconds of each round (the first includes Ray's start-up)."""
    times = [float(r["seconds"]) for r in rounds]
    return [round(b - a, 1) for a, b in itertools.pairwise(times)]


def _report(
    data: FederatedData,
    centralised: dict[str, Any],
    federated: dict[str, Any],
    clients: list[dict[str, Any]],
) -> dict[str, Any]:
    """The comparison, with what AUC means and the quality targets checked."""
    best_alone = max(c["auc"] for c in clients)
    return {
        "model": "life-event GRU",
        "auc_is": f"mean held-out ROC-AUC over {', '.join(EVENTS)}",
        "customers": data.customers,
        "heldout": {"customers": data.heldout.customers, "rows": len(data.heldout.rows.c)},
        "centralised": centralised,
        "federated": federated,
        "clients": clients,
        "targets": {
            "federated_minus_centralised": round(federated["auc"] - centralised["auc"], 4),
            "within_0_02_of_centralised": federated["auc"] >= centralised["auc"] - 0.02,
            "above_every_holder_alone": federated["auc"] > best_alone,
        },
    }

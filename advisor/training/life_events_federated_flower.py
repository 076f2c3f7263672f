# ruff: noqa: E402  (flwr and ray read their telemetry switches at import: set them first)
"""Federated GRU training in a Flower simulation: one ClientApp per data holder on Ray (one
CPU each), FedAvg on the server, optional central DP (server-side fixed clipping).

Flower's message API tolerates failed clients by design (its FedAvg aggregates the replies
that came back: the `accept_failures=True` of the older strategies); a round is only lost
when every client fails, or under DP, where Flower skips aggregating a round with a failure.
"""

from __future__ import annotations

import os

# Read by flwr and ray when they are imported or start: nothing may leave the machine.
FLOWER_ENV = {
    "FLWR_TELEMETRY_ENABLED": "0",  # flwr.supercore.telemetry (read at import)
    "RAY_USAGE_STATS_ENABLED": "0",  # ray._common.usage
    "RAY_USAGE_STATS_PROMPT_ENABLED": "0",
    "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "0",  # silences a FutureWarning on every start
}
os.environ.update(FLOWER_ENV)

import functools
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from flwr.app import Array, ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.server.superlink.fleet.vce.backend import BackendConfig
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import (
    DifferentialPrivacyServerSideFixedClipping,
    FedAvg,
    Strategy,
)
from flwr.simulation import run_simulation

from advisor.training import life_events_federated_model as gru
from advisor.training.life_events_federated_data import HolderData

FAIL_ENV = "ADVISOR_FEDERATED_FAIL"  # "CLIENT:ROUND": that client raises in that round (tests)


class InjectedFailure(RuntimeError):
    """A client asked to fail (ADVISOR_FEDERATED_FAIL), to exercise failure handling."""


@dataclass(frozen=True)
class Plan:
    """What to run: clients, rounds, local epochs, DP settings, an injected failure."""

    clients: int
    rounds: int
    local_epochs: int = 1
    noise_multiplier: float | None = None  # None: no differential privacy
    clipping_norm: float = 1.0
    fail: tuple[int, int] | None = None  # (client, round)
    seed: int = 7


@dataclass
class Outcome:
    """What the server saw: final weights, held-out AUC per round, failures, timings."""

    arrays: gru.Arrays = field(default_factory=dict)
    rounds: list[dict[str, object]] = field(default_factory=list)
    failures: dict[int, int] = field(default_factory=dict)
    skipped_rounds: list[int] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)


def injected_failure() -> tuple[int, int] | None:
    """(client, round) from ADVISOR_FEDERATED_FAIL, None when unset or malformed."""
    value = os.environ.get(FAIL_ENV, "")
    client, _, rnd = value.partition(":")
    return (int(client), int(rnd)) if client.isdigit() and rnd.isdigit() else None


def _record(arrays: gru.Arrays) -> ArrayRecord:
    """numpy weights as a Flower ArrayRecord (names kept)."""
    return ArrayRecord({name: Array(np.ascontiguousarray(a)) for name, a in arrays.items()})


def _weights(record: ArrayRecord) -> gru.Arrays:
    """A Flower ArrayRecord back as numpy weights by name."""
    return {name: array.numpy() for name, array in record.items()}


def _count_failures(outcome: Outcome, server_round: int, replies: list[Message]) -> None:
    """Remember how many clients failed in the round."""
    outcome.failures[server_round] = sum(1 for reply in replies if reply.has_error())


Aggregated = tuple[ArrayRecord | None, MetricRecord | None]


def _counted(
    outcome: Outcome,
    server_round: int,
    replies: Iterable[Message],
    aggregate: Callable[[int, Iterable[Message]], Aggregated],
) -> Aggregated:
    """Count the round's failed clients, aggregate, and note a round with nothing to keep."""
    replies = list(replies)
    _count_failures(outcome, server_round, replies)
    arrays, metrics = aggregate(server_round, replies)
    if arrays is None:
        outcome.skipped_rounds.append(server_round)
    return arrays, metrics


class CountingFedAvg(FedAvg):
    """FedAvg that records failed clients per round in an Outcome."""

    def __init__(self, outcome: Outcome, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.outcome = outcome

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Count failures, aggregate the rest; a round nobody answered is skipped."""
        return _counted(self.outcome, server_round, replies, super().aggregate_train)


class CountingDP(DifferentialPrivacyServerSideFixedClipping):
    """Server-side fixed-clipping DP that records failed clients and skipped rounds."""

    def __init__(self, outcome: Outcome, inner: Strategy, plan: Plan) -> None:
        assert plan.noise_multiplier is not None
        super().__init__(inner, plan.noise_multiplier, plan.clipping_norm, plan.clients)
        self.outcome = outcome

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        """Count failures; Flower's DP wrapper skips a round that had one."""
        return _counted(self.outcome, server_round, replies, super().aggregate_train)


def _strategy(plan: Plan, outcome: Outcome) -> Strategy:
    """FedAvg over every client (no client-side evaluation), DP-wrapped when asked."""
    n = plan.clients
    if plan.noise_multiplier is None:
        return CountingFedAvg(
            outcome, fraction_evaluate=0.0, min_train_nodes=n, min_available_nodes=n
        )
    inner = FedAvg(fraction_evaluate=0.0, min_train_nodes=n, min_available_nodes=n)
    return CountingDP(outcome, inner, plan)


@functools.cache
def _load_holder(path: str) -> HolderData:
    """A holder's data, read once per Ray worker process."""
    return HolderData.load(Path(path))


def client_app(store: Path, plan: Plan) -> ClientApp:
    """Each simulated client trains the received weights on its own holder file."""
    app = ClientApp()

    @app.train()
    def train(msg: Message, context: Context) -> Message:
        client = int(context.node_config["partition-id"])
        config = msg.content["config"]
        server_round = int(config["server-round"])  # type: ignore[arg-type]
        if plan.fail == (client, server_round):
            raise InjectedFailure(f"client {client} fails in round {server_round} as asked")
        holder = _load_holder(str(store / f"holder_{client}.npz"))
        model = gru.new_gru(holder, plan.seed)
        gru.standardise(model, [np.load(store / "moments.npy")])
        gru.set_arrays(model, _weights(msg.content.array_records["arrays"]))
        gru.fit_epochs(
            model, holder, plan.local_epochs, plan.seed * 1000 + server_round * 10 + client
        )
        metrics = MetricRecord({"num-examples": len(holder.rows.c)})
        content = RecordDict({"arrays": _record(gru.get_arrays(model)), "metrics": metrics})
        return Message(content, reply_to=msg)

    return app


def server_app(plan: Plan, heldout: HolderData, store: Path, outcome: Outcome) -> ServerApp:
    """FedAvg for plan.rounds rounds; the global model is scored on the held-out set."""
    app = ServerApp()
    model = gru.new_gru(heldout, plan.seed)
    gru.standardise(model, [np.load(store / "moments.npy")])
    initial = gru.get_arrays(model)

    previous = [initial]

    def evaluate(server_round: int, arrays: ArrayRecord) -> MetricRecord:
        weights = _weights(arrays)
        gru.set_arrays(model, weights)
        scored = gru.heldout_auc(model, heldout)
        seconds = round(time.monotonic() - outcome.started, 1)
        moved = gru.distance(weights, previous[0])
        outcome.rounds.append({"round": server_round, "seconds": seconds, "update_norm": moved,
                               **scored})  # fmt: skip
        previous[0] = weights
        return MetricRecord({"auc": float(scored["auc"])})  # type: ignore[arg-type]

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        result = _strategy(plan, outcome).start(
            grid=grid, initial_arrays=_record(initial), num_rounds=plan.rounds,
            evaluate_fn=evaluate,
        )  # fmt: skip
        outcome.arrays = _weights(result.arrays) if len(result.arrays) else initial

    return app


def run_flower(plan: Plan, heldout: HolderData, store: Path, outcome: Outcome) -> None:
    """Run the simulation on the Ray instance this process started (one CPU per client)."""
    logging.getLogger("flwr").setLevel(logging.WARNING)
    backend: BackendConfig = {"client_resources": {"num_cpus": 1, "num_gpus": 0.0}}
    run_simulation(
        server_app=server_app(plan, heldout, store, outcome),
        client_app=client_app(store, plan),
        num_supernodes=plan.clients,
        backend_config=backend,
    )

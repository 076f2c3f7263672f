"""Run a Flower simulation in a child process with a deadline, on a private local Ray.

Ray's start-up can time out on a loaded machine (its raylet wait is fixed at 30 s), and a
simulation whose Ray dies leaves Flower's server thread waiting for clients for ever. So the
simulation runs in a forked child: Ray is started there (retried once), always shut down, and
the parent gives up after a deadline instead of hanging, with a clear error.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from advisor.errors import AdvisorError
from advisor.training import life_events_federated_model as gru
from advisor.training.life_events_federated_data import HolderData

if TYPE_CHECKING:
    from advisor.training.life_events_federated_flower import Outcome, Plan

RAY_ATTEMPTS = 4  # Ray's start-up waits are fixed (15 s agent, 30 s raylet): load can miss them
OBJECT_STORE_BYTES = 128 * 1024 * 1024
DEADLINE_S = 300.0  # plus PER_ROUND_S per round
PER_ROUND_S = 120.0


class FederatedRunError(AdvisorError):
    """The Flower simulation could not run (Ray did not start, it crashed or timed out)."""


def simulate(plan: Plan, holders: list[HolderData], heldout: HolderData, store: Path) -> Outcome:
    """Each holder's data to its own file, then the simulation in a child; its Outcome."""
    for k, holder in enumerate(holders):
        holder.save(store / f"holder_{k}.npz")
    np.save(store / "moments.npy", np.sum([gru.moments(h) for h in holders], axis=0))
    child = multiprocessing.get_context("fork").Process(
        target=_child, args=(plan, heldout, store), daemon=False
    )
    child.start()
    child.join(DEADLINE_S + PER_ROUND_S * plan.rounds)
    if child.is_alive():
        _kill(child)
        raise FederatedRunError("the Flower simulation did not finish in time; stopped it")
    return _read_outcome(store)


def _kill(child: multiprocessing.process.BaseProcess) -> None:
    """Stop the child and the Ray processes in its process group."""
    assert child.pid is not None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)
    child.join(5)


def _read_outcome(store: Path) -> Outcome:
    """The child's Outcome, or its error as a FederatedRunError."""
    done = store / "outcome.pkl"
    if not done.exists():
        error = store / "error.txt"
        reason = error.read_text(encoding="utf-8") if error.exists() else "no outcome written"
        raise FederatedRunError(f"the Flower simulation failed: {reason.strip()}")
    with done.open("rb") as handle:
        outcome: Outcome = pickle.load(handle)
    return outcome


def _child(plan: Plan, heldout: HolderData, store: Path) -> None:
    """In the child: own process group, start Ray, run Flower, write the Outcome, exit."""
    os.setpgid(0, 0)
    code = 0
    try:
        from advisor.training import life_events_federated_flower as flower

        outcome = flower.Outcome()
        _start_ray(plan.clients, store / "ray")
        flower.run_flower(plan, heldout, store, outcome)
        with (store / "outcome.pkl").open("wb") as handle:
            pickle.dump(outcome, handle)
    except BaseException as exc:  # the parent reports it; nothing may escape the child
        reason = "".join(traceback.format_exception_only(exc)).strip()
        (store / "error.txt").write_text(reason.splitlines()[-1], encoding="utf-8")
        code = 1
    finally:
        _stop_ray()
        os._exit(code)  # Flower's server thread may still wait: do not join it


def _start_ray(clients: int, temp_dir: Path) -> None:
    """A private local Ray: no dashboard, no usage stats, logs in the run's own folder."""
    import ray
    import ray._private.utils as ray_utils

    # flwr[simulation] needs core Ray only (it depends on `ray`, not `ray[default]`): run the
    # dashboard processes minimal, as a plain `ray` install does, whatever else is installed.
    # They then open no gRPC/HTTP servers and start faster (Ray aborts when its dashboard
    # agent takes over 15 s).
    ray_utils.get_dashboard_dependency_error = lambda: ImportError("core Ray only (advisor)")
    for attempt in range(RAY_ATTEMPTS):
        try:
            ray.init(
                address="local",
                num_cpus=min(clients, os.cpu_count() or 1),
                include_dashboard=False,
                log_to_driver=False,
                object_store_memory=OBJECT_STORE_BYTES,
                logging_level=logging.WARNING,
                _temp_dir=str(temp_dir),
            )
            return
        except Exception:
            ray.shutdown()
            if attempt + 1 == RAY_ATTEMPTS:
                raise
            time.sleep(2)


def _stop_ray() -> None:
    """Shut Ray down if it is up (Flower does on success; this covers failures)."""
    import ray

    if ray.is_initialized():
        ray.shutdown()

"""Randomised fault trials of the two workflows: payroll -> nudge -> confirm -> sweep, and
credit-limit request -> offer -> confirm -> limit change.

Each trial runs one workflow on a fresh copy of a small bank, with a fault at a random writing
commit (tests/fault_injection.py): a kill (every later commit fails; DBOS is destroyed and
launched again, which recovers the pending workflows; the client then retries as a client
does: the event posted again, the confirmation sent again under the same Idempotency-Key)
or one transient error (the caller or DBOS's step retry repeats). The trial then waits, at
most BOUND_S from the (last) launch of DBOS, for the workflow's terminal state (DBOS's status,
and a payday's outcome on its event), timing it; one not there by then is described (DBOS's
status and steps, the bank's rows). Then the invariants: money moved exactly once or not at
all, the ledger balanced, one nudge or offer, the audit chain verifying with one entry per
state change.
"""

from __future__ import annotations

import logging
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbos import DBOS, SetWorkflowID

from advisor.decisions.credit_service import CreditService
from advisor.orchestration import runtime
from advisor.orchestration.credit_offer import CreditOffers
from advisor.orchestration.runtime import Orchestration
from advisor.orchestration.workflows import credit_offer
from advisor.predict.registry import Registry
from advisor.settings import RailsSettings, Settings
from advisor.training.credit_risk_train import register_model
from portfolio_context.db import engine_for
from tests.credit_fixtures import GOOD, prepare_bank, synthetic_table
from tests.fault_injection import FaultInjector, Killed, TransientFault
from tests.fault_invariants import Snapshot, credit_violations, payroll_violations, snapshot
from tests.fault_recovery import ended, where_it_stands, workflow_of
from tests.orchestration_helpers import outcome, payroll

PAYEE = "C0001"
ATTEMPTS = 6  # a client's retries of one request after transient faults
BOUND_S = 60.0  # from a launch of DBOS to the workflow's terminal state, at most
FAULTS = (Killed, TransientFault)


@dataclass
class Trial:
    """One trial's draw and what came of it."""

    number: int
    workflow: str  # payroll | credit
    mode: str  # kill | raise
    at: int  # the writing commit that fails
    decision: str  # confirm | decline
    fired: bool = False
    restarted: bool = False
    offer_id: str | None = None  # the credit offer the client was answered with
    violations: list[str] = field(default_factory=list)
    launched: float = 0.0  # wall time of the (last) launch of DBOS
    finish_s: float | None = None  # that launch -> the workflow's terminal state
    stuck: str | None = None  # where the workflow stood when BOUND_S ran out
    marks: dict[str, float] = field(default_factory=dict)  # seconds from that launch

    def mark(self, what: str) -> None:
        """Note when something happened, in seconds since the (last) launch."""
        self.marks[what] = round(time.time() - self.launched, 3)


def build_template(root: Path) -> Path:
    """A tiny bank (tests/credit_fixtures.py) and a registry with a small credit-risk model."""
    register_model(Registry(root / "models" / "registry"), synthetic_table(), 0.0)
    prepare_bank(f"sqlite:///{root / 'bank.db'}")
    engine_for(f"sqlite:///{root / 'bank.db'}").dispose()
    return root


def trial_settings(template: Path, where: Path) -> Settings:
    """Settings on a fresh copy of the template's bank and registry."""
    where.mkdir(parents=True)
    shutil.copy(template / "bank.db", where / "bank.db")
    shutil.copytree(template / "models", where / "models")
    return Settings(var_dir=where, database_url=f"sqlite:///{where / 'bank.db'}",
                    jwt_secret="t" * 40, rails=RailsSettings(enabled=False))  # fmt: skip


def retried(call: Callable[[], Any], injector: FaultInjector) -> Any:
    """A client's call: repeated after a transient fault; a kill ends it (returns None)."""
    for _ in range(ATTEMPTS):
        if injector.killed.is_set():
            return None
        try:
            return call()
        except FAULTS:
            continue
    return None


def wait(probe: Callable[[], Any], injector: FaultInjector, trial: Trial) -> Any:
    """Poll until `probe` answers, the process dies, or BOUND_S from the launch is up (None)."""
    deadline = trial.launched + BOUND_S
    while time.time() < deadline and not injector.killed.is_set():
        found = probe()
        if found:
            return found
        time.sleep(0.02)
    return None


def drive_payroll(services: Orchestration, trial: Trial, injector: FaultInjector) -> None:
    """The client's side, safe to repeat: post the payday, confirm or decline the nudge."""
    event = payroll(f"pay-{trial.number}", PAYEE)
    if retried(lambda: services.events.accept(event), injector) is None:
        return
    action = wait(lambda: next(iter(services.actions.for_customer(PAYEE)), None), injector,
                  trial)  # fmt: skip
    if action is None or not wait(lambda: services.notifications.for_customer(PAYEE), injector,
                                  trial):  # fmt: skip
        return
    trial.mark("nudged")
    decide = services.actions.decide
    if retried(lambda: decide(PAYEE, action.id, trial.decision, f"key-{action.id}"), injector):
        trial.mark("decided")
    url = services.settings.resolved_database_url
    wait(lambda: outcome(url, event.id), injector, trial)


def drive_credit(services: Orchestration, trial: Trial, injector: FaultInjector) -> None:
    """The client's side: ask for a higher limit (again when no answer came), then decide."""
    settings = services.settings
    offers = CreditOffers.from_settings(settings, services.actions, services.notifications)
    credit = CreditService.from_settings(settings)
    # Without an answer (the request failed or the process died) the client asks again.
    if trial.offer_id is None:
        offer = retried(lambda: offers.offer(GOOD, credit.request(GOOD)), injector)
        if offer is None or offer.action is None or offer.workflow_id is None:
            return
        started = retried(lambda: start(offer.workflow_id, offer.action.id, offer.wait_s),
                          injector)  # fmt: skip
        if started is None:
            return
        trial.offer_id = offer.action.id
    action_id = trial.offer_id
    decide = services.actions.decide
    if retried(lambda: decide(GOOD, action_id, trial.decision, f"key-{action_id}"), injector):
        trial.mark("decided")


def start(workflow_id: str, action_id: str, wait_s: float) -> bool:
    """Start the offer's wait once, as the request handler does."""
    with SetWorkflowID(workflow_id):
        DBOS.start_workflow(credit_offer, action_id, wait_s)
    return True


DRIVERS = {"payroll": drive_payroll, "credit": drive_credit}


def run_trial(trial: Trial, template: Path, where: Path, injector: FaultInjector) -> Trial:
    """One workflow with its fault, a restart when it killed, then the invariants."""
    settings = trial_settings(template, where)
    before: Snapshot = snapshot(settings.resolved_database_url)
    injector.bank_path = str(where / "bank.db")
    trial.launched = time.time()
    services = runtime.start(settings)
    injector.arm(**{f"{trial.mode}_on": trial.at})  # after the launch: faults in the workflow
    try:
        DRIVERS[trial.workflow](services, trial, injector)
        settle(services, trial, injector)
    finally:
        trial.fired = injector.killed.is_set() or injector.raised
        _stop(services)
    if injector.killed.is_set():
        trial.restarted, trial.marks = True, {}
        time.sleep(0.05)  # let a step still running meet the dead database first
        injector.disarm()
        trial.launched = time.time()
        with runtime.running(settings) as services:
            DRIVERS[trial.workflow](services, trial, injector)
            settle(services, trial, injector)
    injector.disarm()
    check = payroll_violations if trial.workflow == "payroll" else credit_violations
    trial.violations = check(settings, before, trial)
    return trial


def settle(services: Orchestration, trial: Trial, injector: FaultInjector) -> None:
    """Wait for the workflow's terminal state (BOUND_S from the launch at most): time it, or
    say where it stands; a process that dies meanwhile is restarted by the caller."""
    url = services.settings.resolved_database_url
    if wait(lambda: ended(url, trial), injector, trial):
        trial.finish_s = round(time.time() - trial.launched, 3)
        trial.stuck = None
        first = [s["started_at_epoch_ms"] for s in DBOS.list_workflow_steps(
            workflow_of(url, trial) or "") if s["started_at_epoch_ms"]]  # fmt: skip
        started = [t / 1000 - trial.launched for t in first if t / 1000 >= trial.launched]
        if started:
            trial.marks["first_step"] = round(min(started), 3)
    elif not injector.killed.is_set():
        trial.stuck = where_it_stands(url, trial)


def _stop(services: Orchestration) -> None:
    """Stop DBOS; a dead process's shutdown may fail on its database, which is fine."""
    try:
        runtime.stop(services)
    except FAULTS:
        runtime.stop(services)


def draw(rng: random.Random, number: int, writes: dict[str, int]) -> Trial:
    """A trial at random: workflow, kill or raise, which commit, which decision."""
    workflow = rng.choice(("payroll", "credit"))
    mode = rng.choice(("kill", "raise"))
    decision = "decline" if rng.random() < 0.2 else "confirm"
    return Trial(number, workflow, mode, rng.randint(1, writes[f"{workflow}-{mode}"]), decision)


def clean_writes(template: Path, root: Path, injector: FaultInjector) -> dict[str, int]:
    """Writing commits of a clean run of each workflow (all engines, and the bank's alone)."""
    counts = {}
    for workflow in DRIVERS:
        run_trial(Trial(0, workflow, "kill", 10**9, "confirm"), template,
                  root / f"clean-{workflow}", injector)  # fmt: skip
        counts[f"{workflow}-kill"], counts[f"{workflow}-raise"] = (
            injector.writes, injector.bank_writes)  # fmt: skip
    return counts


def run_trials(count: int, seed: int, root: Path) -> list[Trial]:
    """`count` randomised trials under `root`; each trial's violations listed on it."""
    logging.getLogger("dbos").setLevel(logging.CRITICAL)
    template = build_template(root / "template")
    injector = FaultInjector()
    injector.install()
    try:
        writes = clean_writes(template, root, injector)
        rng = random.Random(seed)
        return [run_trial(draw(rng, n, writes), template, root / f"t{n}", injector)
                for n in range(1, count + 1)]  # fmt: skip
    finally:
        injector.uninstall()

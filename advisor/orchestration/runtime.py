"""The orchestration services and DBOS's lifetime: launched with the app, stopped with it.

DBOS runs offline here: no conductor key (it only dials out with one), OTLP export off, the
DBOS Cloud switch forced off, and its system database on this machine (SQLite under var/, or
the bank's PostgreSQL). On launch DBOS recovers the workflows a crash left pending.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from dbos import DBOS, DBOSConfig
from dbos._utils import GlobalParams
from sqlalchemy.engine import make_url

from advisor.learning.nudges import InBackground, nudge_logger
from advisor.ops import tracing
from advisor.orchestration import review_workflows, webhooks
from advisor.orchestration.actions import ActionService
from advisor.orchestration.credit_review import CreditReviews
from advisor.orchestration.destination import NbaInvestmentGate
from advisor.orchestration.events import AuditSink, EventService
from advisor.orchestration.notifications import NotificationHook, NotificationService
from advisor.orchestration.sweep import SweepPolicy, SweepService
from advisor.orchestration.workflows import DbosStarter, bind, wake
from advisor.settings import Settings

log = logging.getLogger(__name__)
WORKFLOW_MODULES = (review_workflows,)  # imported so their workflows exist before DBOS launches
_lock = threading.Lock()
REDELIVER_DAYS = 7  # how far back a launch looks for undelivered webhooks
_running: list[Orchestration] = []  # DBOS is one per process: later apps share the first


@dataclass
class Orchestration:
    """Every orchestration service, built from one settings object."""

    settings: Settings
    events: EventService
    actions: ActionService
    notifications: NotificationService
    sweeps: SweepService
    reviews: CreditReviews  # proactive credit-limit reviews (review_workflows.py)

    @classmethod
    def from_settings(cls, settings: Settings) -> Orchestration:
        """Wire the services on the configured bank, auditing every state change."""
        url, audit = settings.resolved_database_url, _audit(settings)
        actions = ActionService(url, audit)
        actions.wakers.append(wake)
        notifications = NotificationService(url)
        notifications.hooks.extend(_webhook_hooks(settings))
        policy = SweepPolicy(Decimal(str(settings.sweep_buffer_usd)),
                             Decimal(str(settings.sweep_min_usd)), settings.action_ttl_s)
        gate = NbaInvestmentGate.from_settings(settings)
        notifications.hooks.append(nudge_logger(settings, gate.recommendations))  # outcomes
        sweeps = SweepService(url, policy, actions, notifications, audit, gate)  # fmt: skip
        events = EventService(url, DbosStarter(), audit)
        reviews = CreditReviews.from_settings(settings, actions, notifications)
        return cls(settings, events, actions, notifications, sweeps, reviews)

    def recover(self) -> int:
        """Finish the after-commit tail of events a crash interrupted; how many did finish.

        A row that fails is logged and left for the next launch: it never blocks the others."""
        done = 0
        for row in self.events.undispatched():
            try:
                self.events.dispatch(row)
                done += 1
            except Exception:
                log.exception("could not re-dispatch event %s; left for the next launch", row.id)
        return done

    def redeliver(self, days: int = REDELIVER_DAYS) -> int:
        """Send the webhooks a dead process or a down receiver left undelivered (notifications
        of the last `days` days; each delivery key is still sent once); how many."""
        if not self.settings.webhook_url:
            return 0
        recent = dict(self.notifications.recent(days))
        keys = webhooks.undelivered(self.settings.resolved_database_url,
                                    [f"notification:{n}" for n in recent])  # fmt: skip
        for key in keys:
            notification_id = int(key.split(":", 1)[1])
            self.notifications.run_hooks(recent[notification_id], notification_id)
        return len(keys)


def _audit(settings: Settings) -> AuditSink:
    """The hash-chained audit log (advisor/orchestration/audit.py, helper "ops")."""
    from advisor.orchestration.audit import AuditLog

    return AuditLog.from_settings(settings)


def _webhook_hooks(settings: Settings) -> list[NotificationHook]:
    """Signed webhook delivery of new notifications (only with ADVISOR_WEBHOOK_URL)."""
    hook = webhooks.notification_hook(settings)
    return [hook] if hook is not None else []


def workflow_database_url(settings: Settings) -> str:
    """DBOS's system database: the setting, the bank's PostgreSQL, or SQLite under var/."""
    if settings.workflow_database_url:
        return settings.workflow_database_url
    url = settings.resolved_database_url
    if make_url(url).get_backend_name() == "postgresql":
        return url
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(settings.var_dir / 'dbos.sqlite').resolve()}"


def dbos_config(settings: Settings) -> DBOSConfig:
    """Offline DBOS: no conductor, no OTLP, local system database, quick wake-ups.

    The application version is a setting, not DBOS's hash of the workflow code: DBOS recovers
    only workflows of its own version, so editing code must not orphan waiting workflows (bump
    the setting when a workflow's step order changes). The executor id is stable per instance,
    not per process: DBOS recovers, at launch, the pending workflows of its own executor id,
    so a random id would strand a crashed process's workflows (replicas sharing one system
    database each need their own ADVISOR_WORKFLOW_EXECUTOR_ID)."""
    return {
        "name": "trusted-advisor",
        "application_version": settings.workflow_app_version,
        "executor_id": settings.workflow_executor_id,
        "system_database_url": workflow_database_url(settings),
        # Workflow and step spans on the app's tracer provider, only when tracing is on
        # (advisor/ops/tracing.py); DBOS itself is given no endpoint and exports nothing.
        "enable_otlp": tracing.enabled(),
        "log_level": "WARNING",
        "notification_listener_polling_interval_sec": 0.05,
    }


def start(settings: Settings) -> Orchestration:
    """Launch DBOS with the services (it recovers pending workflows); later calls share it."""
    with _lock:
        services = _running[0] if _running else Orchestration.from_settings(settings)
        if not _running:
            _launch(services)
        elif services.settings.resolved_database_url != settings.resolved_database_url:
            log.warning("DBOS already runs on another bank in this process; sharing it")
        _running.append(services)
    return services


async def leave_waiting() -> None:
    """Stop the DBOS workflows running on this event loop (the offers' waits) while DBOS still
    runs: they stay pending and the next launch resumes them. Left to the loop's shutdown, they
    were cancelled after DBOS's thread pool closed and printed a traceback each."""
    waiting = [t for t in asyncio.all_tasks() if _runs_workflow(t)]
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)


def _runs_workflow(task: asyncio.Task[Any]) -> bool:
    """Whether the task runs a DBOS workflow (DBOS's `_execute_workflow_async`)."""
    return getattr(task.get_coro(), "__qualname__", "") == "_execute_workflow_async"


def stop(services: Orchestration) -> None:
    """Stop DBOS when the last user stops; its waiting workflows resume at the next launch."""
    with _lock:
        if services in _running:
            _running.remove(services)
        if services not in _running:  # its last user: stop its background hooks' threads
            for hook in services.notifications.hooks:
                if isinstance(hook, InBackground):
                    hook.close()
        if _running:
            return
        # Each waiting workflow logs its cancellation, also after destroy returns; the next
        # launch sets DBOS's log level again from its config.
        logging.getLogger("dbos").setLevel(logging.CRITICAL)
        DBOS.destroy(workflow_completion_timeout_sec=0)
        bind(None)


def adopt(executor_ids: list[str]) -> list[str]:
    """Recover the pending workflows of other instances (their processes died): DBOS puts
    them back on its queue and a running instance resumes each from its last finished step,
    once (what DBOS's admin API and Conductor do). Only for executors known to be dead: a live
    one would run its workflows twice. The ids of the workflows recovered."""
    handles = DBOS._recover_pending_workflows(executor_ids)
    return [handle.get_workflow_id() for handle in handles]


@contextmanager
def running(settings: Settings) -> Iterator[Orchestration]:
    """The orchestration with DBOS launched, stopped on exit."""
    services = start(settings)
    try:
        yield services
    finally:
        stop(services)


def _launch(services: Orchestration) -> None:
    """Bind the steps to the services, launch DBOS (it recovers), redo interrupted intake."""
    GlobalParams.dbos_cloud = False  # DBOS__CLOUD=true would make DBOS dial its cloud
    bind(services)
    DBOS(config=dbos_config(services.settings))
    DBOS.launch()
    recovered = services.recover()
    try:
        services.redeliver()
    except Exception:  # a delivery problem never stops the service from starting
        log.exception("could not redeliver webhooks; retried at the next launch")
    if recovered:
        log.info("re-dispatched %d events interrupted before their workflow started", recovered)

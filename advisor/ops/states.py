"""Workflow states read at scrape time: proposed actions by kind and status (the bank's
tables) and DBOS workflows by name and status (its system database). Nothing is counted at
the transition points; a scrape asks where everything stands now."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from advisor.orchestration.tables import ActionRow
from portfolio_context.db import session_scope

log = logging.getLogger(__name__)
MAX_WORKFLOWS = 10_000  # newest DBOS workflows a scrape reads (their status rows only)


class WorkflowStates(Collector):
    """`advisor_actions{kind,status}` and `advisor_workflows{name,status}` gauges."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Both families; a table or DBOS that is not there yet gives no samples."""
        actions = GaugeMetricFamily(
            "advisor_actions", "Proposed actions by kind and status", labels=["kind", "status"]
        )
        for (kind, status), count in self._actions().items():
            actions.add_metric([kind, status], count)
        yield actions
        workflows = GaugeMetricFamily(
            "advisor_workflows",
            "DBOS workflows by name and status (the newest 10,000)",
            labels=["name", "status"],
        )
        for (name, status), count in _workflows().items():
            workflows.add_metric([name, status], count)
        yield workflows

    def _actions(self) -> dict[tuple[str, str], int]:
        """Action counts by kind and status."""
        query = select(ActionRow.kind, ActionRow.status, func.count()).group_by(
            ActionRow.kind, ActionRow.status
        )
        try:
            with session_scope(self.url) as db:
                return {(kind, status): n for kind, status, n in db.execute(query)}
        except Exception:  # no orchestration tables yet (a bank never served an event)
            log.debug("no actions table to count", exc_info=True)
            return {}


def _workflows() -> Counter[tuple[str, str]]:
    """DBOS workflow counts by name and status; empty when DBOS is not launched."""
    from dbos import DBOS

    try:
        found = DBOS.list_workflows(
            load_input=False, load_output=False, limit=MAX_WORKFLOWS, sort_desc=True
        )
    except Exception:  # DBOS not launched in this process (CLI, a test without lifespan)
        log.debug("DBOS workflows not readable", exc_info=True)
        return Counter()
    return Counter((str(w.name), str(w.status)) for w in found)

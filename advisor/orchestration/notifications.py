"""Notifications for one customer: listed unread first, streamed in id order, created once."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from advisor.errors import NotFound
from advisor.orchestration.actions import action_json
from advisor.orchestration.tables import ActionRow, NotificationRow, create_tables, utcnow
from portfolio_context.db import session_scope
from portfolio_context.facts import Fact

if TYPE_CHECKING:
    from advisor.settings import Settings

log = logging.getLogger(__name__)
ACTION_FIELDS = ("id", "kind", "amount", "from_account", "to_account", "status", "expires_at")
# Sources keyed by the decision trace they come from ("credit_offer:<trace id>").
TRACED_SOURCES = ("credit_offer:",)
# Called once a notification is committed (the webhook delivery hooks in here).
NotificationHook = Callable[[dict[str, Any]], None]
# The stream sends a row only this long after its creation: on a database with concurrent
# writers (PostgreSQL) a later id can commit first, and a stream past it would skip the earlier
# one. On SQLite one writer at a time commits ids in order: no wait there.
SETTLE_S = 2.0


@dataclass(frozen=True)
class NewNotification:
    """A notification to create; `source_key` makes creating it idempotent."""

    customer_id: str
    kind: str
    title: str
    body: str
    source_key: str
    facts: tuple[Fact, ...] = ()
    event_id: str | None = None
    action_id: str | None = None


class NotificationService:
    """Creates notifications once per source, lists and streams them per customer."""

    def __init__(self, database_url: str, settle_s: float = SETTLE_S) -> None:
        self.url = database_url
        self.hooks: list[NotificationHook] = []
        in_order = make_url(database_url).get_backend_name() == "sqlite"
        self.settle = dt.timedelta(seconds=0 if in_order else settle_s)
        create_tables(database_url)

    @classmethod
    def from_settings(cls, settings: Settings) -> NotificationService:
        """The service on the configured bank."""
        return cls(settings.resolved_database_url)

    def create(self, new: NewNotification) -> int:
        """Store the notification (once per source key), then run the hooks; its id."""
        row = NotificationRow(
            customer_id=new.customer_id, kind=new.kind, title=new.title, body=new.body,
            created_at=utcnow(), read=False, event_id=new.event_id,
            facts=json.dumps([f.to_json() for f in new.facts]), action_id=new.action_id,
            source_key=new.source_key,
        )  # fmt: skip
        try:
            with session_scope(self.url) as db:
                db.add(row)
        except IntegrityError:
            with session_scope(self.url) as db:
                query = select(NotificationRow.id).where(
                    NotificationRow.source_key == new.source_key
                )
                return int(db.scalar(query) or 0)
        self._run_hooks(row.customer_id, row.id)
        return row.id

    def recent(self, days: int) -> list[tuple[int, str]]:
        """(id, customer) of the notifications of the last `days` days."""
        since = utcnow() - dt.timedelta(days=days)
        query = select(NotificationRow.id, NotificationRow.customer_id).where(
            NotificationRow.created_at >= since)  # fmt: skip
        with session_scope(self.url) as db:
            return [(row[0], row[1]) for row in db.execute(query.order_by(NotificationRow.id))]

    def run_hooks(self, customer_id: str, notification_id: int) -> None:
        """Run the hooks for a notification again (a delivery a restart must redo)."""
        self._run_hooks(customer_id, notification_id)

    def _run_hooks(self, customer_id: str, notification_id: int) -> None:
        """Tell the hooks (webhook delivery); a failing hook never undoes the notification."""
        if not self.hooks:
            return
        body = self._render(select(NotificationRow).where(NotificationRow.id == notification_id))
        for hook in self.hooks:
            try:
                hook({"customer_id": customer_id, **body[0]})
            except Exception:
                log.warning("notification hook failed for %s", notification_id, exc_info=True)

    def by_source(self, source_key: str) -> dict[str, Any] | None:
        """The notification created under this source key, if any."""
        query = select(NotificationRow).where(NotificationRow.source_key == source_key)
        found = self._render(query)
        return found[0] if found else None

    def for_customer(self, customer_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """The customer's notifications: unread first, newest first within each."""
        query = (
            select(NotificationRow)
            .where(NotificationRow.customer_id == customer_id)
            .order_by(NotificationRow.read, NotificationRow.id.desc())
            .limit(limit)
        )
        return self._render(query)

    def after(self, customer_id: str, last_id: int, limit: int = 100) -> list[dict[str, Any]]:
        """The customer's settled notifications with an id above `last_id`, oldest first."""
        settled = NotificationRow.created_at <= utcnow() - self.settle
        query = (
            select(NotificationRow)
            .where(NotificationRow.customer_id == customer_id, NotificationRow.id > last_id)
            .where(settled)
            .order_by(NotificationRow.id)
            .limit(limit)
        )
        return self._render(query)

    def mark_read(self, customer_id: str, notification_id: int) -> None:
        """Mark one of the customer's notifications read (NotFound for another's)."""
        with session_scope(self.url) as db:
            done = db.execute(
                update(NotificationRow)
                .where(NotificationRow.id == notification_id,
                       NotificationRow.customer_id == customer_id)
                .values(read=True)
            )  # fmt: skip
        if not getattr(done, "rowcount", 0):
            raise NotFound(f"no notification {notification_id}")

    def _render(self, query: Any) -> list[dict[str, Any]]:
        """Rows as the API's JSON, each with its action (current status) or null."""
        with session_scope(self.url) as db:
            rows = list(db.scalars(query))
            ids = [r.action_id for r in rows if r.action_id]
            actions = {a.id: a for a in db.scalars(select(ActionRow).where(ActionRow.id.in_(ids)))}
        return [notification_json(r, actions.get(r.action_id or "")) for r in rows]


def notification_json(row: NotificationRow, action: ActionRow | None) -> dict[str, Any]:
    """One notification in the issue's shape."""
    shown = action_json(action) if action is not None else None
    return {
        "id": row.id, "kind": row.kind, "title": row.title, "body": row.body,
        "created_at": row.created_at.replace(microsecond=0).isoformat() + "Z",
        "read": row.read, "event_id": row.event_id, "facts": json.loads(row.facts),
        "action": {k: shown[k] for k in ACTION_FIELDS} if shown else None,
        "trace_id": trace_of(row.source_key),
    }  # fmt: skip


def trace_of(source_key: str) -> str | None:
    """The decision trace a notification's source names (GET /v1/traces/{id}), if any."""
    prefix = next((p for p in TRACED_SOURCES if source_key.startswith(p)), None)
    return source_key.removeprefix(prefix) if prefix else None

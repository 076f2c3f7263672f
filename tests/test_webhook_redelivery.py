"""Webhook delivery survives a restart: a launch sends again the notifications whose delivery a
dead process never made or a down receiver refused, once per delivery key."""

from __future__ import annotations

import socket
from pathlib import Path

from advisor.orchestration.audit import AuditLog
from advisor.orchestration.events import EventService
from advisor.orchestration.runtime import Orchestration
from advisor.orchestration.webhooks import DELIVERY_HEADER, WebhookSender
from tests.orchestration_fixtures import settings_on_copy, template_bank  # noqa: F401
from tests.orchestration_helpers import payroll, wait_for
from tests.test_webhooks import SECRET, Receiver, receiver  # noqa: F401


def closed_port() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/hooks"


def delivered(sender: WebhookSender, key: str) -> bool:
    """Whether the delivery log holds this key as delivered."""
    entry = sender.log_entry(key)
    return entry is not None and entry.status == "delivered"


def test_undelivered_notifications_are_sent_at_the_next_launch(
    tmp_path: Path,
    template_bank: Path,  # noqa: F811
    receiver: Receiver,  # noqa: F811
) -> None:
    down = settings_on_copy(tmp_path, template_bank, webhook_url=closed_port(),
                            webhook_secret=SECRET, webhook_max_attempts=1)  # fmt: skip
    url = down.resolved_database_url
    first = Orchestration.from_settings(down)
    EventService(url, None, AuditLog(url)).accept(payroll("pay-1"))
    first.sweeps.propose("pay-1")  # the nudge: its delivery fails (nobody listens)
    [note] = first.notifications.for_customer("C0001")
    key = f"notification:{note['id']}"
    sender = WebhookSender.from_settings(down)
    assert wait_for(lambda: (entry := sender.log_entry(key)) is not None
                    and entry.status == "failed")  # fmt: skip
    EventService(url, None, AuditLog(url)).accept(payroll("pay-2", "C0002"))
    first.notifications.hooks.clear()  # a process that dies before its delivery starts
    first.sweeps.propose("pay-2")
    up = down.model_copy(update={"webhook_url": receiver.url})
    again = Orchestration.from_settings(up)
    assert again.redeliver() == 2
    wait_for(lambda: len(receiver.requests) == 2)
    assert all(r.signed for r in receiver.requests)
    assert {r.headers[DELIVERY_HEADER] for r in receiver.requests} == {
        key, f"notification:{again.notifications.for_customer('C0002')[0]['id']}"}  # fmt: skip
    wait_for(lambda: all(delivered(sender, r.headers[DELIVERY_HEADER])
                         for r in receiver.requests))  # fmt: skip
    assert again.redeliver() == 0

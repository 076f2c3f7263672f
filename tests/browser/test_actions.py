"""Actions in the widget: one proposed in chat is confirmed and moves the money once, another is
declined and moves nothing; a nudge arrives live in the inbox after a payroll event."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Live
from tests.browser.widget import ask, open_demo, streams
from tests.orchestration_helpers import PAYDAY, balance

pytestmark = pytest.mark.browser


def proposed(page: Any) -> dict[str, Any]:
    """The pending action the last chat stream announced."""
    [action] = [d for n, d in streams(page)[-1] if n == "action" and d.get("status") == "pending"]
    return action


def status_of(live: Live, customer: str, action_id: str) -> str:
    """An action's status as the API lists it."""
    listed = httpx.get(f"{live.url}/v1/actions", headers=live.headers(customer)).json()
    return str(next(a["status"] for a in listed if a["id"] == action_id))


def test_an_action_is_confirmed_and_another_declined(page: Any, live: Live) -> None:
    url = live.settings.resolved_database_url
    before = balance(url, "C0001-CHE"), balance(url, "C0001-SAV")
    open_demo(page, live, "C0001")
    moved = ask(page, "move $100 to savings")
    first = proposed(page)
    card = moved.get_by_role("group", name="Proposed action")
    expect(card).to_contain_text("$100.00")
    expect(card).to_contain_text("Nothing happens until you confirm")
    card.get_by_role("button", name="Confirm").click()
    expect(card).to_contain_text("Done.")
    expect(card.get_by_role("button", name="Confirm")).to_have_count(0)

    kept = ask(page, "move $40 to savings")
    second = proposed(page)
    other = kept.get_by_role("group", name="Proposed action")
    other.get_by_role("button", name="Decline").click()
    expect(other).to_contain_text("Declined. Nothing was changed.")

    assert status_of(live, "C0001", first["id"]) == "executed"
    assert status_of(live, "C0001", second["id"]) == "declined"
    after = balance(url, "C0001-CHE"), balance(url, "C0001-SAV")
    assert after == (before[0] - Decimal("100"), before[1] + Decimal("100"))


def test_a_nudge_arrives_in_the_inbox_after_a_payroll_event(page: Any, live: Live) -> None:
    open_demo(page, live, "C0003")
    inbox = page.get_by_role("region", name="Notifications")
    expect(inbox).to_contain_text("No notifications yet.")
    page.wait_for_timeout(1600)  # past the widget's backlog window: what comes now is live
    event = {
        "id": "browser-payroll-1", "type": "payroll_deposit", "customer_id": "C0003",
        "amount": "4000.00", "currency": "USD", "occurred_at": PAYDAY,
        "description": "ACME CORP PAYROLL",
    }  # fmt: skip
    posted = httpx.post(f"{live.url}/v1/events", json=event, headers=live.service_headers())
    assert posted.status_code == 202, posted.text
    nudge = inbox.locator(".notification")
    expect(nudge).to_have_count(1, timeout=20_000)
    listed = httpx.get(f"{live.url}/v1/notifications", headers=live.headers("C0003")).json()
    expect(nudge).to_contain_text(listed[0]["title"])
    expect(nudge.get_by_role("button", name="Confirm")).to_be_visible()
    expect(nudge.get_by_role("button", name="Decline")).to_be_visible()
    expect(page.locator("#advisor-announcer")).to_have_text(
        f"New notification: {listed[0]['title']}"
    )
    nudge.get_by_role("button", name="Why am I seeing this?").click()
    expect(nudge.locator(".why-panel")).to_be_visible()
    expect(nudge.locator(".why-panel")).not_to_contain_text("Loading")

"""Actions proposed in chat: a routed transfer or card freeze becomes a pending action, announced
by an `action` event, that runs once when the customer confirms it (API or `/confirm ID`)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import func, select

from advisor.api.app import create_app
from advisor.chat.action_rules import transfer_ask
from advisor.chat_cli import ChatClient, decide_action, render_answer, run_command
from advisor.orchestration.tables import CardFreezeRow, LedgerPosting
from advisor.routing.router import Routed
from advisor.routing.slots import SlotExtractor
from advisor.settings import Settings
from portfolio_context.db import session_scope
from tests.conftest import bearer
from tests.fakes import FakeBackend
from tests.orchestration_fixtures import settings_on_copy, template_bank  # noqa: F401
from tests.orchestration_helpers import balance
from tests.sse import chat_events, done
from tests.test_router_trained import router_dir  # noqa: F401  (the small trained router)

Events = list[tuple[str, dict[str, Any]]]


@pytest.fixture
def bank(
    tmp_path: Path,
    template_bank: Path,  # noqa: F811
    router_dir: Path,  # noqa: F811
) -> Iterator[tuple[TestClient, Settings]]:
    """The app (fake model, small router) on this test's own bank, as customer C0001."""
    settings = settings_on_copy(tmp_path, template_bank, router_model_dir=router_dir)
    with TestClient(create_app(settings, backend=FakeBackend())) as client:
        client.headers.update(bearer(settings, "C0001"))
        yield client, settings


def actions_of(event_list: Events) -> list[dict[str, Any]]:
    """The pending actions the stream announced."""
    return [d for n, d in event_list if n == "action" and d.get("status") == "pending"]


def confirm(client: TestClient, action_id: str, key: str) -> dict[str, Any]:
    """POST the confirmation; the action's new state."""
    answer = client.post(f"/v1/actions/{action_id}/confirm", headers={"Idempotency-Key": key})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


TRANSFERS = [
    ("move $500 to savings", "500.00", "C0001-CHE", "C0001-SAV"),
    ("transfer 200 dollars from checking to my savings", "200.00", "C0001-CHE", "C0001-SAV"),
    ("move 300 from savings back into checking", "300.00", "C0001-SAV", "C0001-CHE"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "amount", "source", "target"), TRANSFERS)
def test_what_a_transfer_request_asks_for_comes_from_its_entities(
    text: str, amount: str, source: str, target: str
) -> None:
    entities = tuple(SlotExtractor.load().extract(text))
    ask = transfer_ask(Routed(text, "move_money", "action", "action", 1.0, entities), "checking")
    kinds = {"C0001-CHE": "checking", "C0001-SAV": "savings"}
    assert (ask.amount, ask.source, ask.destination) == (
        Decimal(amount), kinds[source], kinds[target])  # fmt: skip


def test_move_to_savings_is_pending_until_confirmed_then_moves_once(
    bank: tuple[TestClient, Settings],
) -> None:
    client, settings = bank
    url = settings.resolved_database_url
    before = balance(url, "C0001-CHE"), balance(url, "C0001-SAV")
    event_list = chat_events(client, {}, "move $500 to savings")
    [action] = actions_of(event_list)
    names = [n for n, _ in event_list]
    assert names.index("action") < names.index("done")
    assert (action["kind"], action["amount"], action["from"], action["to"]) == (
        "transfer", "500.00", "C0001-CHE", "C0001-SAV")  # fmt: skip
    assert action["confirm"] == {"method": "POST", "url": f"/v1/actions/{action['id']}/confirm",
                                 "header": "Idempotency-Key"}  # fmt: skip
    final = done(event_list)
    assert final["plan"] == "action" and "$500.00" in final["text"]
    assert "Nothing moves until you confirm" in final["text"]
    assert (balance(url, "C0001-CHE"), balance(url, "C0001-SAV")) == before
    listed = client.get("/v1/actions").json()
    assert [(a["id"], a["status"]) for a in listed] == [(action["id"], "pending")]
    assert confirm(client, action["id"], "k-1")["status"] == "executed"
    assert confirm(client, action["id"], "k-2")["status"] == "executed"  # a second click
    moved = before[0] - Decimal("500"), before[1] + Decimal("500")
    assert (balance(url, "C0001-CHE"), balance(url, "C0001-SAV")) == moved
    with session_scope(url) as db:
        keys = db.scalar(
            select(func.count()).where(LedgerPosting.key.like(f"action:{action['id']}%"))
        )
    assert keys == 2  # one debit, one credit


def test_a_question_asked_again_in_its_session_leaves_one_live_action(
    bank: tuple[TestClient, Settings],
) -> None:
    # A retry after a dropped stream asks again: the first card's action must not stay live.
    client, settings = bank
    url = settings.resolved_database_url
    before = balance(url, "C0001-CHE")
    first_events = chat_events(client, {}, "move $500 to savings")
    session = done(first_events)["session_id"]
    [first] = actions_of(first_events)
    [second] = actions_of(chat_events(client, {}, "move $500 to savings", session))
    [elsewhere] = actions_of(chat_events(client, {}, "move $100 to savings"))
    states = {a["id"]: a["status"] for a in client.get("/v1/actions").json()}
    assert states == {first["id"]: "expired", second["id"]: "pending", elsewhere["id"]: "pending"}
    assert confirm(client, first["id"], "k-old")["status"] == "expired"
    assert balance(url, "C0001-CHE") == before
    assert confirm(client, second["id"], "k-new")["status"] == "executed"
    assert balance(url, "C0001-CHE") == before - Decimal("500")


@pytest.mark.parametrize(
    ("text", "says", "facts"),
    [
        ("move $900,000 to savings", "doesn't cover $900,000.00", ["balance.checking"]),
        ("send $50 to my sister", "only move money between your own accounts", []),
        ("move $500 to C0002-SAV", "only move money between your own accounts", []),
        ("move $0 to savings", "more than zero", []),
    ],
)
def test_a_transfer_that_cannot_be_proposed_gets_a_clear_reply_and_no_action(
    bank: tuple[TestClient, Settings], text: str, says: str, facts: list[str]
) -> None:
    client, _ = bank
    event_list = chat_events(client, {}, text)
    final = done(event_list)
    assert not actions_of(event_list) and final["plan"] == "reply"
    assert says in final["text"] and final["facts"] == facts
    shown = [d for n, d in event_list if n == "fact"]
    assert [d["id"] for d in shown] == facts
    assert all(d["display"] in final["text"] for d in shown)
    assert client.get("/v1/actions").json() == []


def test_another_customer_can_never_confirm_the_action(bank: tuple[TestClient, Settings]) -> None:
    client, settings = bank
    [action] = actions_of(chat_events(client, {}, "move $100 to savings"))
    other = bearer(settings, "C0002") | {"Idempotency-Key": "k-other"}
    answer = client.post(f"/v1/actions/{action['id']}/confirm", headers=other)
    assert answer.status_code == 404
    assert client.get("/v1/actions").json()[0]["status"] == "pending"


def test_freeze_my_card_proposes_a_card_freeze_that_runs_once(
    bank: tuple[TestClient, Settings],
) -> None:
    client, settings = bank
    event_list = chat_events(client, {}, "I lost my card, please freeze it")
    [action] = actions_of(event_list)
    assert (action["kind"], action["amount"], action["from"]) == ("card_freeze", None, "C0001-CHE")
    [asked_again] = actions_of(chat_events(client, {}, "my card was stolen, freeze it"))
    assert asked_again["id"] == action["id"]  # the waiting freeze, not a second one
    final = done(event_list)
    assert final["plan"] == "action" and "Nothing changes until you confirm" in final["text"]
    assert final["citations"] and not [d for n, d in event_list if d.get("status") == "offered"]
    with session_scope(settings.resolved_database_url) as db:
        assert db.get(CardFreezeRow, "C0001-CHE") is None
    assert confirm(client, action["id"], "f-1")["status"] == "executed"
    assert confirm(client, action["id"], "f-2")["status"] == "executed"
    with session_scope(settings.resolved_database_url) as db:
        rows = list(db.scalars(select(CardFreezeRow)))
    assert [(r.account_id, r.action_id) for r in rows] == [("C0001-CHE", action["id"])]
    again = done(chat_events(client, {}, "I lost my card, please freeze it"))
    assert again["plan"] == "reply" and "already frozen" in again["text"]


def test_the_chat_cli_shows_the_action_and_confirms_it(bank: tuple[TestClient, Settings]) -> None:
    client, _ = bank
    token = client.headers["Authorization"].removeprefix("Bearer ")
    cli = ChatClient("http://testserver", token, http=client)
    out = io.StringIO()
    console = Console(file=out, width=200)
    render_answer(cli, "move $50 to savings", console, show_facts=False)
    [action] = client.get("/v1/actions").json()
    assert f"/confirm {action['id']}" in out.getvalue()
    assert run_command(cli, f"/confirm {action['id']}", console)  # as the REPL runs it
    assert not run_command(cli, "what's my balance?", console)
    assert f"action {action['id']}: executed" in out.getvalue()
    assert not decide_action(cli, "/decline act_unknown", console)
    assert "no action 'act_unknown'" in out.getvalue()
    assert not decide_action(cli, "/confirm", console)

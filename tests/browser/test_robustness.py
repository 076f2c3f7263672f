"""The widget's state across retries, retracts and a change of customer, and its announcements,
on streams the tests write (the server's own streams are tested in test_chat and test_actions)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Live
from tests.browser.widget import (
    WATCH_ANNOUNCER,
    Events,
    announced,
    ask,
    done,
    open_demo,
    sse_body,
    wait_answer,
    words,
)

pytestmark = pytest.mark.browser
STREAM = "text/event-stream"
META = ("meta", {"session_id": "s-first", "trace_id": "t-1"})
FAILED = ("error", {"detail": "the model stopped"})
WRONG = "Your balance is $1.00 today."
ANNOUNCE_GAP_MS = 500  # each announcement stays at least this long before the next


def transfer(action_id: int) -> tuple[str, dict[str, Any]]:
    """A pending "Move $100..." proposal."""
    return ("action", {
        "id": action_id, "kind": "transfer", "amount": "100.00", "from": 1, "to": 2,
        "status": "pending", "expires_at": "2026-12-31T09:00:00Z",
    })  # fmt: skip


def nudges(*titles: str, first_id: int = 1) -> str:
    """A notification stream with one nudge per title (ids from `first_id`)."""
    body = ""
    for i, title in enumerate(titles, start=first_id):
        note = {
            "id": i, "kind": "sweep", "title": title, "body": f"About {title}.", "read": False,
            "created_at": "2026-12-01T09:00:00Z", "event_id": None, "facts": [], "action": None,
        }  # fmt: skip
        body += f"id: {i}\nevent: notification\ndata: {json.dumps(note)}\n\n"
    return body


def chat_streams(page: Any, *attempts: Events) -> list[Any]:
    """Answer the n-th /v1/chat request with `attempts[n]` (the last for any later); the
    requests' JSON bodies."""
    asked: list[Any] = []

    def answer(route: Any) -> None:
        asked.append(route.request.post_data_json)
        events = attempts[min(len(asked), len(attempts)) - 1]
        route.fulfill(content_type=STREAM, body=sse_body(events))

    page.route("**/v1/chat", answer)
    return asked


def test_a_retry_supersedes_the_first_attempts_action_card(page: Any, live: Live) -> None:
    asked = chat_streams(
        page,
        [META, transfer(901), *words("I can move"), FAILED],
        [META, transfer(902), *words("I can move $100 for you."), done("I can move $100.")],
    )
    open_demo(page, live, "C0001")
    answer = ask(page, "move $100 to savings")
    expect(answer.get_by_role("button", name="Confirm")).to_have_count(1)
    assert len(asked) == 1, "an error event was re-sent by itself"  # only a cut stream is
    answer.get_by_role("button", name="Retry").click()
    wait_answer(page, 1)
    expect(answer.get_by_role("group", name="Proposed action")).to_have_count(2)
    expect(answer.get_by_role("button", name="Confirm")).to_have_count(1)  # never two live ones
    expect(answer.get_by_role("button", name="Decline")).to_have_count(1)
    old = answer.locator(".card.superseded")
    expect(old).to_have_count(1)
    expect(old).to_contain_text("Replaced by the retried answer")
    expect(answer.get_by_role("group", name="Proposed action").last).not_to_have_class(
        "card action superseded"
    )


def test_a_stream_cut_twice_offers_retry_and_recovers(page: Any, live: Live) -> None:
    move = "I can move $100 for you."
    asked = chat_streams(
        page,
        [META, transfer(901), *words("I can move")],  # cut: no done, no error
        [META, transfer(902), *words("I can")],  # the automatic re-send, cut again
        [META, transfer(903), *words(move), done(move)],
    )
    open_demo(page, live, "C0001")
    answer = ask(page, "move $100 to savings")
    expect(answer.get_by_role("alert")).to_contain_text("connection dropped")
    expect(answer.locator(".body")).to_have_text("I can move")  # the longer text stays
    expect(answer.locator(".reconnecting")).to_be_hidden()
    assert [a.get("session_id") for a in asked] == [None, "s-first"]
    expect(answer.get_by_role("button", name="Confirm")).to_have_count(1)
    expect(answer.locator(".card.superseded")).to_have_count(1)
    answer.get_by_role("button", name="Retry").click()
    wait_answer(page, 1)
    expect(answer.locator(".body")).to_have_text(move)
    expect(answer.locator(".problem-box")).to_be_hidden()
    expect(answer.get_by_role("button", name="Retry")).to_have_count(0)
    expect(answer.get_by_role("button", name="Confirm")).to_have_count(1)  # only 903's
    expect(answer.locator(".card.superseded")).to_have_count(2)
    assert [a.get("session_id") for a in asked] == [None, "s-first", "s-first"]


def test_retracted_text_is_never_left_on_screen_nor_announced(page: Any, live: Live) -> None:
    retract = ("grounding", {"outcome": "fallback", "reason": "unsupported", "retract": True})
    chat_streams(
        page,
        [META, *words(WRONG), retract, FAILED],  # an error before any replacing text
        [META, *words(WRONG), retract, done("")],  # done without a text of its own
    )
    open_demo(page, live, "C0004")
    page.evaluate(WATCH_ANNOUNCER)
    failed = ask(page, "What's my checking balance?")
    expect(failed.get_by_role("alert")).to_contain_text("could not be completed")
    expect(failed.locator(".body")).not_to_contain_text("$1.00")
    empty = ask(page, "And my savings?")
    expect(empty.locator(".body")).not_to_contain_text("$1.00")
    page.wait_for_timeout(300)  # an announcement would have been made by now
    assert not [text for text, _ in announced(page) if "$1.00" in text]


def test_another_customer_signing_in_starts_afresh(page: Any, live: Live) -> None:
    second = live.token("C0005")
    streams: list[tuple[str, str | None]] = []  # (whose token, Last-Event-ID) per inbox request

    def inbox(route: Any) -> None:
        token = route.request.headers.get("authorization")
        whose = "second" if token == f"Bearer {second}" else "first"
        streams.append((whose, route.request.headers.get("last-event-id")))
        body = nudges("For the first customer", first_id=5) if whose == "first" else ""
        route.fulfill(content_type=STREAM, body=body)

    page.route("**/v1/notifications/stream*", inbox)
    asked = chat_streams(page, [META, *words("Hello."), done("Hello.")])
    open_demo(page, live, "C0004")
    expect(page.locator(".notification")).to_have_count(1)
    ask(page, "Hi")
    ask(page, "Hi again")
    assert asked[1].get("session_id") == "s-first"
    page.evaluate("(token) => { document.querySelector('advisor-chat').tokenProvider = "
                  "async () => token; }", second)  # fmt: skip
    expect(page.locator(".msg")).to_have_count(0)
    expect(page.locator(".notification")).to_have_count(0)
    expect(page.get_by_text("No notifications yet.")).to_be_visible()
    ask(page, "Hi, I am someone else")
    assert "session_id" not in asked[-1]
    theirs = [last_id for whose, last_id in streams if whose == "second"]
    assert theirs and theirs[0] is None, streams  # not resumed after the first customer's nudge


def test_nudges_in_one_frame_and_an_answer_are_each_announced(page: Any, live: Live) -> None:
    held: list[Any] = []

    def inbox(route: Any) -> None:
        if "follow=false" in route.request.url or held:
            route.fulfill(content_type=STREAM, body="")
        else:
            held.append(route)  # answered below, once the announcer is watched

    page.route("**/v1/notifications/stream*", inbox)
    chat_streams(page, [META, *words("All is well."), done("All is well.")])
    open_demo(page, live, "C0004")
    page.evaluate(WATCH_ANNOUNCER)
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    held[0].fulfill(content_type=STREAM, body=nudges("Payday", "Bill due"))  # one chunk
    ask(page, "How am I doing?")
    page.wait_for_function("() => window.__spoken.filter((s) => s.text).length >= 3")
    said = announced(page)
    assert [text for text, _ in said] == [
        "New notification: Payday",
        "New notification: Bill due",
        "Advisor: All is well.",
    ], said
    assert all(stayed >= ANNOUNCE_GAP_MS for _, stayed in said), said

"""Signed webhooks against a real HTTP receiver on 127.0.0.1: signatures, retries, the log."""

from __future__ import annotations

import json
import random
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from advisor.orchestration.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    RetryPolicy,
    WebhookSender,
    notification_hook,
    sign,
    verify_signature,
)
from advisor.settings import Settings

SECRET = "whsec-" + "k" * 26


@dataclass
class Received:
    """One request as the receiver saw it."""

    headers: dict[str, str]
    body: bytes
    signed: bool


@dataclass
class Receiver:
    """A bank push service stand-in: answers `fail_first` requests with `fail_status`."""

    fail_first: int = 0
    fail_status: int = 503
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        """Record the request; the status to send."""
        self.requests.append(Received(headers, body, verify_signature(SECRET, headers, body)))
        return self.fail_status if len(self.requests) <= self.fail_first else 204


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to one receiver."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(receiver.answer(dict(self.headers.items()), body))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            """Quiet."""

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The receiver served on a free loopback port for one test."""
    made = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(made))
    made.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield made
    server.shutdown()
    server.server_close()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite database for the delivery log."""
    return f"sqlite:///{tmp_path / 'hooks.db'}"


def sender_for(url: str, db_url: str, waits: list[float], attempts: int = 4) -> WebhookSender:
    """A sender that records its back-off waits instead of sleeping."""
    policy = RetryPolicy(max_attempts=attempts, base_s=0.5, cap_s=2.0, timeout_s=2.0)
    return WebhookSender(url, SECRET, db_url, policy, sleep=waits.append)


def test_retries_until_delivered_with_the_same_signed_delivery(
    receiver: Receiver, db_url: str
) -> None:
    receiver.fail_first, waits = 2, list[float]()
    result = sender_for(receiver.url, db_url, waits).deliver("nudge", {"amount": "250.00"}, "n-1")
    assert (result.status, result.attempts, result.http_status) == ("delivered", 3, 204)
    assert len(receiver.requests) == 3 and all(r.signed for r in receiver.requests)
    assert {r.headers[DELIVERY_HEADER] for r in receiver.requests} == {"n-1"}
    assert len({r.body for r in receiver.requests}) == 1
    body = json.loads(receiver.requests[0].body)
    assert (body["id"], body["kind"], body["data"]) == ("n-1", "nudge", {"amount": "250.00"})
    assert len(waits) == 2 and 0 <= waits[0] <= 0.5 and 0 <= waits[1] <= 1.0
    row = WebhookSender(receiver.url, SECRET, db_url).log_entry("n-1")
    assert row is not None and (row.status, row.attempts, row.http_status) == ("delivered", 3, 204)


@pytest.mark.parametrize(
    ("fail_status", "status", "attempts"),
    [
        (503, "failed", 4),
        (500, "failed", 4),
        (429, "failed", 4),
        (400, "failed", 1),
        (410, "failed", 1),
    ],
)
def test_gives_up_after_bounded_attempts_or_on_a_permanent_refusal(
    receiver: Receiver, db_url: str, fail_status: int, status: str, attempts: int
) -> None:
    receiver.fail_first, receiver.fail_status, waits = 99, fail_status, list[float]()
    result = sender_for(receiver.url, db_url, waits).deliver("nudge", {}, "k")
    assert (result.status, result.attempts, result.http_status) == (status, attempts, fail_status)
    assert len(receiver.requests) == attempts and len(waits) == attempts - 1
    assert result.error == f"HTTP {fail_status}"


def test_a_delivered_key_is_never_sent_again(receiver: Receiver, db_url: str) -> None:
    sender = sender_for(receiver.url, db_url, [])
    assert sender.deliver("contract", {"n": 1}, "c-7").status == "delivered"
    assert sender.deliver("contract", {"n": 1}, "c-7").status == "duplicate"
    assert len(receiver.requests) == 1


def test_a_failed_key_is_retried_by_a_later_call(receiver: Receiver, db_url: str) -> None:
    receiver.fail_first = 2
    sender = sender_for(receiver.url, db_url, [], attempts=2)
    assert sender.deliver("nudge", {}, "late").status == "failed"
    assert sender.deliver("nudge", {}, "late").status == "delivered"
    row = sender.log_entry("late")
    assert row is not None and (row.status, row.attempts) == ("delivered", 3)


def test_an_unreachable_receiver_is_retried_then_reported(db_url: str) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waits: list[float] = []
    result = sender_for(f"http://127.0.0.1:{port}/", db_url, waits, attempts=3).deliver("x", {})
    assert (result.status, result.attempts, result.http_status) == ("failed", 3, None)
    assert result.error is not None and "ConnectError" in result.error


def test_no_url_is_a_no_op(tmp_path: Path, db_url: str) -> None:
    settings = Settings(var_dir=tmp_path, database_url=db_url)
    result = WebhookSender.from_settings(settings).deliver("nudge", {"a": 1})
    assert (result.status, result.attempts) == ("skipped", 0)
    assert notification_hook(settings) is None


def test_a_url_without_a_secret_is_refused(db_url: str) -> None:
    with pytest.raises(ValueError, match="ADVISOR_WEBHOOK_SECRET must be set"):
        WebhookSender("http://127.0.0.1:9/", None, db_url)


def _headers(stamp: int, body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(secret, stamp, body)}


@pytest.mark.parametrize(
    ("headers", "body", "now", "valid"),
    [
        (_headers(1000, b'{"a":1}'), b'{"a":1}', 1000, True),
        (_headers(1000, b'{"a":1}'), b'{"a":2}', 1000, False),  # body changed
        (_headers(1000, b'{"a":1}', "other-secret"), b'{"a":1}', 1000, False),
        (_headers(1000, b'{"a":1}'), b'{"a":1}', 1000 + 301, False),  # too old: a replay
        ({TIMESTAMP_HEADER: "1001", SIGNATURE_HEADER: sign(SECRET, 1000, b"x")}, b"x", 1000, False),
        ({SIGNATURE_HEADER: sign(SECRET, 1000, b"x")}, b"x", 1000, False),  # no timestamp
        ({TIMESTAMP_HEADER: "soon", SIGNATURE_HEADER: "v1=00"}, b"x", 1000, False),
    ],
)
def test_signature_verification(
    headers: dict[str, str], body: bytes, now: int, valid: bool
) -> None:
    assert verify_signature(SECRET, headers, body, now=now) is valid


@pytest.mark.parametrize("retry", [1, 2, 3, 4, 5, 8])
def test_back_off_is_jittered_and_bounded(retry: int) -> None:
    policy, rng = RetryPolicy(base_s=0.5, cap_s=2.0), random.Random(retry)
    waits = [policy.delay(retry, rng) for _ in range(200)]
    bound = min(2.0, 0.5 * 2 ** (retry - 1))
    assert all(0 <= w <= bound for w in waits)
    assert max(waits) > 0.8 * bound and len(set(waits)) > 150  # spread, not fixed


def test_the_notification_hook_delivers_in_the_background(
    receiver: Receiver, tmp_path: Path, db_url: str
) -> None:
    settings = Settings(
        var_dir=tmp_path, database_url=db_url, webhook_url=receiver.url, webhook_secret=SECRET
    )
    hook = notification_hook(settings)
    assert hook is not None
    hook({"id": 42, "customer_id": "C0001", "kind": "nudge", "title": "Move $250?"})
    sender = WebhookSender.from_settings(settings)
    for _ in range(200):
        if (row := sender.log_entry("notification:42")) is not None:
            break
        threading.Event().wait(0.02)
    assert row is not None and row.status == "delivered"
    assert receiver.requests[0].signed

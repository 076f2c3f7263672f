"""Two replicas on one PostgreSQL database, each its own process sharing no memory, serve
alternating turns of one session: the customer's own values, follow-up slots and the 360 view
carry over, also across a replica killed and restarted mid-session."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from advisor.auth import SERVICE_SUBJECT, issue_token
from advisor.settings import Settings
from portfolio_context.seed import seed_bank
from tests.conftest import AS_OF
from tests.live import free_port
from tests.pg import fresh_database
from tests.sse import chat_events, done, streamed_text

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[1]
SECRET = "replica-test-secret-" + "r" * 32
NAME = "Maria Gonzalez"


@dataclass
class Replica:
    """A running replica process and its base URL."""

    name: str
    process: subprocess.Popen[bytes]
    url: str


def environment(url: str, var_dir: Path, name: str, vault_key: str) -> dict[str, str]:
    """A replica's settings: the shared database and secrets, its own var dir and executor."""
    return os.environ | {
        "ADVISOR_PROFILE": "test",
        "ADVISOR_DATABASE_URL": url,
        "ADVISOR_JWT_SECRET": SECRET,
        "ADVISOR_VAULT_KEY": vault_key,
        "ADVISOR_VAR_DIR": str(var_dir),
        "ADVISOR_WORKFLOW_EXECUTOR_ID": name,
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


def start(name: str, env: dict[str, str], log: Path) -> Replica:
    """Start a replica process (`python -m tests.replica_child PORT`)."""
    port = free_port()
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.replica_child", str(port)],
            cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return Replica(name, process, f"http://127.0.0.1:{port}")


def wait_ready(replica: Replica, log: Path, timeout_s: float = 180.0) -> None:
    """Poll /healthz until the replica answers (fail with its log if it dies or never does)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if replica.process.poll() is not None:
            pytest.fail(f"replica {replica.name} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{replica.url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"replica {replica.name} did not start:\n{log.read_text()[-3000:]}")


def stop(replica: Replica, sig: int = signal.SIGTERM) -> None:
    """Stop one replica process (ours, by its pid)."""
    if replica.process.poll() is None:
        replica.process.send_signal(sig)
    try:
        replica.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        replica.process.kill()
        replica.process.wait(timeout=30)


@contextmanager
def running(replicas: list[Replica], logs: dict[str, Path]) -> Iterator[None]:
    """Wait for every replica; stop each on exit."""
    try:
        for replica in replicas:
            wait_ready(replica, logs[replica.name])
        yield
    finally:
        for replica in replicas:
            stop(replica)


def turn(replica: Replica, auth: dict[str, str], message: str, session: str | None) -> Any:
    """One chat turn on a replica: (its done data, the text the customer saw)."""
    with httpx.Client(base_url=replica.url, timeout=60) as client:
        events = chat_events(client, auth, message, session)
    return done(events), streamed_text(events)


def checking(replica: Replica, auth: dict[str, str], customer: str) -> float:
    """The customer's checking balance in a replica's 360 view."""
    view = httpx.get(f"{replica.url}/v1/customers/me/context", headers=auth, timeout=60).json()
    return float({a["id"]: a["balance"] for a in view["accounts"]}[f"{customer}-CHE"])


def test_alternating_replicas_serve_one_session(tmp_path: Path) -> None:
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    with fresh_database("advisor_replicas") as url, ExitStack() as stack:
        seed_bank(url, 4, 42, AS_OF)
        env = {n: environment(url, tmp_path / n, n, key) for n in ("a", "b")}
        logs = {n: tmp_path / f"{n}.log" for n in ("a", "b")}
        a, b = (start(n, env[n], logs[n]) for n in ("a", "b"))
        stack.enter_context(running([a, b], logs))
        settings = Settings(jwt_secret=SECRET)
        auth = {"Authorization": f"Bearer {issue_token(settings, 'C0001')}"}

        first, shown = turn(a, auth, f"Hi, I'm {NAME}. What's my checking balance?", None)
        session = first["session_id"]
        assert NAME in shown and NAME in first["text"]

        second, shown = turn(b, auth, "How much do I spend on groceries a month?", session)
        assert NAME in shown and "<PERSON_1>" not in second["text"]  # B never saw the name
        follow_up, _ = turn(a, auth, "and last month?", session)
        assert (second["topic"], follow_up["topic"]) == ("spending", "spending")
        assert any("groceries" in f.lower() for f in follow_up["facts"]), follow_up["facts"]

        stop(a, signal.SIGKILL)  # a crash mid-session; its successor knows nothing in memory
        a = start("a", env["a"], logs["a"])
        stack.enter_context(running([a], logs))
        after_crash, shown = turn(a, auth, "What's my savings balance?", session)
        assert NAME in shown and after_crash["session_id"] == session

        before = checking(b, auth, "C0001")  # B's 360 view is cached now
        service = {"Authorization": f"Bearer {issue_token(settings, SERVICE_SUBJECT, 'service')}"}
        deposit = {
            "id": "replica-deposit", "type": "deposit", "customer_id": "C0001",
            "amount": "123.45", "currency": "USD", "occurred_at": "2026-11-28T09:00:00Z",
        }  # fmt: skip
        posted = httpx.post(f"{a.url}/v1/events", json=deposit, headers=service, timeout=60)
        assert posted.status_code == 202, posted.text
        assert round(checking(b, auth, "C0001") - before, 2) == 123.45

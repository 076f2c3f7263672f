"""The llama-server engine: start-up errors name their cause, a storm beyond the slots gets 503
with Retry-After, a cancelled generation frees its slot in the engine, and the watchdog
restarts an engine that died so the next turns are answered without an `error` event."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from advisor.api.app import create_app
from advisor.chat.bridge import iterate_in_thread
from advisor.chat_cli import ChatClient
from advisor.cli import app as cli
from advisor.errors import BackendUnavailable
from advisor.llm import ChatMessage, GenerationRequest, create_backend
from advisor.llm.engine import EngineFailed
from advisor.llm.engine_backend import LlamaServerBackend, default_binary
from advisor.settings import LLMSettings, Settings, get_settings
from tests.conftest import bearer, make_settings
from tests.fakes import FakeBackend
from tests.live import serve

BINARY = default_binary()
needs_binary = pytest.mark.skipif(
    not BINARY.is_file(), reason=f"llama-server is not built at {BINARY} (`make install` builds it)"
)
STORY = GenerationRequest([ChatMessage("user", "Write a very long story about a bank.")], 400)


def engine_settings(**extra: object) -> LLMSettings:
    """A small engine: two slots, short contexts."""
    return LLMSettings(engine="llama-server", engine_slots=2, engine_ctx_per_slot=512, **extra)  # type: ignore[arg-type]


def failing_script(tmp_path: Path) -> str:
    """An executable that prints an engine-like error and exits 1."""
    script = tmp_path / "llama-server"
    script.write_text("#!/bin/sh\necho 'error: failed to load model: not a GGUF file'\nexit 1\n")
    script.chmod(0o755)
    return str(script)


def test_start_up_errors_name_their_cause(tmp_path: Path) -> None:
    cases = [
        (engine_settings(engine_binary="/no/such/llama-server"), "binary not found"),
        (engine_settings(engine_binary=sys.executable, model_path="/no/a.gguf"), "GGUF model"),
        (engine_settings(engine_binary=failing_script(tmp_path)), "failed to load model"),
    ]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        cases.append((engine_settings(engine_binary=sys.executable, engine_port=port), "taken"))
        for settings, cause in cases:
            with pytest.raises(EngineFailed, match=cause):
                create_backend(settings)


def test_serve_exits_2_when_the_engine_cannot_start(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADVISOR_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("ADVISOR_LLM__BACKEND", "llama_server")
    monkeypatch.setenv("ADVISOR_LLM__ENGINE_BINARY", "/no/such/llama-server")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve", "--port", "1"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "binary not found at /no/such/llama-server" in " ".join(result.output.split())


def test_a_storm_beyond_slots_and_queue_gets_503_with_retry_after(settings: Settings) -> None:
    slow = FakeBackend()
    slow.delay_s, slow.capacity, slow.retry_after_s = 0.15, 2, 3  # type: ignore[attr-defined]
    with serve(create_app(settings, backend=slow)) as url:
        auth, body = bearer(settings, "C0001"), {"message": "What's my checking balance?"}
        statuses: list[int] = []

        def turn() -> None:
            reply = httpx.post(f"{url}/v1/chat", json=body, headers=auth, timeout=30)
            statuses.append(reply.status_code)

        crowd = [threading.Thread(target=turn) for _ in range(2)]
        for thread in crowd:
            thread.start()
        deadline = time.monotonic() + 10
        while len(slow.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        refused = httpx.post(f"{url}/v1/chat", json=body, headers=auth, timeout=5)
        for thread in crowd:
            thread.join(30)
        again = httpx.post(f"{url}/v1/chat", json=body, headers=auth, timeout=30)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "3"
    assert "busy" in refused.json()["detail"]
    assert statuses == [200, 200] and again.status_code == 200


def test_only_authenticated_turns_count_and_one_customer_has_a_share(settings: Settings) -> None:
    # An anonymous client holding a request open (its body never sent) takes no slot; one
    # customer holding requests open takes at most engine_per_customer of them.
    shared = settings.model_copy(
        update={"llm": settings.llm.model_copy(update={"engine_per_customer": 1})}
    )
    slow = FakeBackend()
    slow.delay_s, slow.capacity, slow.retry_after_s = 0.3, 2, 1  # type: ignore[attr-defined]
    body = {"message": "What's my checking balance?"}
    with serve(create_app(shared, backend=slow)) as url:
        port = int(url.rsplit(":", 1)[1])
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        for sock in held:  # headers and a promised body that never comes
            sock.sendall(b"POST /v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                         b"\r\nContent-Length: 100\r\n\r\n{")  # fmt: skip
        first = threading.Thread(target=lambda: httpx.post(
            f"{url}/v1/chat", json=body, headers=bearer(shared, "C0001"), timeout=30))  # fmt: skip
        first.start()
        while not slow.requests:
            time.sleep(0.02)
        same = httpx.post(f"{url}/v1/chat", json=body, headers=bearer(shared, "C0001"), timeout=5)
        other = httpx.post(f"{url}/v1/chat", json=body, headers=bearer(shared, "C0002"), timeout=30)
        first.join(30)
        for sock in held:
            sock.close()
    assert same.status_code == 503 and other.status_code == 200


@pytest.fixture(scope="module")
def engine() -> Iterator[LlamaServerBackend]:
    """A real llama-server on the shipped GGUF."""
    if not BINARY.is_file():
        pytest.skip(f"llama-server is not built at {BINARY} (`make install` builds it)")
    backend = create_backend(engine_settings())
    assert isinstance(backend, LlamaServerBackend)
    yield backend
    backend.close()


def busy_slots(engine: LlamaServerBackend) -> int:
    """Slots the engine says are generating now."""
    slots = httpx.get(f"{engine.engine.url}/slots", timeout=5).json()
    return sum(1 for slot in slots if slot.get("is_processing"))


def wait_idle(engine: LlamaServerBackend, within_s: float) -> bool:
    """Whether every slot goes idle within the time."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if busy_slots(engine) == 0:
            return True
        time.sleep(0.05)
    return False


@needs_binary
def test_engine_streams_the_shipped_model(engine: LlamaServerBackend) -> None:
    text = "".join(
        engine.execute(GenerationRequest([ChatMessage("user", "Say hi")], 8), threading.Event())
    )
    assert text.strip()
    assert engine.describe()["model"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert (engine.count_tokens("hello world") or 0) >= 2


@needs_binary
def test_the_engine_is_busy_while_every_slot_is_generating(engine: LlamaServerBackend) -> None:
    """`busy()` (a turn would wait for a slot: the chat sheds it to its draft) holds exactly
    while as many generations as slots are open, and clears when they end."""
    assert not engine.busy()
    cancels = [threading.Event() for _ in range(2)]
    streams = [engine.execute(STORY, cancel) for cancel in cancels]
    next(streams[0])
    assert not engine.busy(), "one of two slots generating is not busy"
    next(streams[1])
    assert engine.busy()
    cancels[0].set()  # its turn is over; the generator has not closed (its thread lags)
    assert not engine.busy(), "a finished turn's ending generation counted as busy"
    for cancel, stream in zip(cancels, streams, strict=True):
        cancel.set()
        stream.close()
    assert not engine.busy()
    assert wait_idle(engine, 3.0)


@needs_binary
def test_a_stopped_turn_stops_its_slot_in_the_engine(engine: LlamaServerBackend) -> None:
    """A disconnect or a deadline ends the turn's stream the same way: the bridge sets the
    cancel event and closes the back-end's generator; the engine's slot goes idle."""

    async def read_three() -> int:
        cancel, seen = threading.Event(), 0
        async for _ in iterate_in_thread(engine.execute(STORY, cancel), cancel):
            seen += 1
            if seen == 3:
                break  # the consumer leaves, as on a disconnect or past a deadline
        return seen

    assert asyncio.run(read_three()) == 3
    assert wait_idle(engine, 3.0), "the engine kept generating for a turn that was stopped"


@needs_binary
def test_an_engine_dying_mid_answer_is_a_backend_error_then_it_restarts(
    engine: LlamaServerBackend,
) -> None:
    pid, stream = engine.engine.pid, engine.execute(STORY, threading.Event())
    next(stream)
    os.kill(pid or 0, signal.SIGKILL)
    with pytest.raises(BackendUnavailable):  # the answer falls back to the grounded draft
        for _ in stream:
            pass
    deadline = time.monotonic() + 30
    while engine.engine.pid == pid and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.engine.wait_ready(30) and engine.engine.restarts == 1
    text = "".join(
        engine.execute(GenerationRequest([ChatMessage("user", "Say hi")], 8), threading.Event())
    )
    assert text.strip()


@needs_binary
def test_turns_after_an_engine_death_have_no_error(tmp_path: Path, bank_url: str) -> None:
    settings = make_settings(tmp_path, bank_url, llm=engine_settings(max_tokens=96))
    app = create_app(settings)
    with serve(app) as url:
        assert httpx.get(f"{url}/healthz").json()["llm"]["slots"] == "2"
        engine = app.state.services.backend.engine
        client, pid = ChatClient.for_customer(settings, "C0002", url), engine.pid
        os.kill(pid, signal.SIGKILL)
        for _ in range(2):
            names = [name for name, _ in client.ask("What's my checking balance?")]
            assert "error" not in names and names[-1] == "done"
        assert engine.restarts >= 1 and engine.pid != pid
    assert engine.pid is None or not _running(engine.pid), "the engine outlived the service"


def _running(pid: int) -> bool:
    """Whether a process with this id is alive (not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False

"""The engine gate frees a turn's share when the turn's last byte is sent, not when the app's
teardown after it returns: a closed-loop client's next turn is not refused for it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from advisor.api.engine_gate import EngineGate
from advisor.settings import Settings
from tests.conftest import bearer


def scope_for(settings: Settings, capacity: int) -> dict[str, Any]:
    """An authenticated /v1/chat request to an app whose back-end takes `capacity` turns."""
    backend = SimpleNamespace(capacity=capacity, retry_after_s=1)
    services = SimpleNamespace(backend=backend, settings=settings)
    app = SimpleNamespace(state=SimpleNamespace(services=services))
    token = bearer(settings, "C0001")["Authorization"].encode()
    return {"type": "http", "path": "/v1/chat", "app": app,
            "headers": [(b"authorization", token)]}  # fmt: skip


@pytest.mark.parametrize(
    ("last_byte_sent", "second_status"),
    [(True, 200), (False, 503)],  # sent and tearing down: free; still streaming: taken
)
def test_a_turn_frees_its_share_with_its_last_byte(
    settings: Settings, last_byte_sent: bool, second_status: int
) -> None:
    async def scenario() -> tuple[int, int]:
        teardown = asyncio.Event()

        async def app(scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"done",
                        "more_body": not last_byte_sent})  # fmt: skip
            await teardown.wait()  # the app's own work after its last byte (or mid-stream)

        gate, sent = EngineGate(app), []

        async def send(message: Any) -> None:
            sent.append(message)

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        scope = scope_for(settings, capacity=1)
        first = asyncio.create_task(gate(scope, receive, send))
        while len(sent) < 2:
            await asyncio.sleep(0.01)
        second = asyncio.create_task(gate(scope, receive, send))  # during the first's teardown
        while len(sent) < 3:
            await asyncio.sleep(0.01)
        teardown.set()
        await asyncio.gather(first, second)
        return sent[2]["status"], gate.in_flight

    status, in_flight = asyncio.run(scenario())
    assert status == second_status
    assert in_flight == 0, "a share was released twice or never"

"""OpenTelemetry: a turn's spans (redaction, input rails, retrieval, the model, output rails)
under one root, a workflow's DBOS spans, and nothing recorded or exported by default."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from advisor.api.app import create_app
from advisor.ops import tracing
from advisor.settings import Settings
from tests import fakes
from tests.conftest import bearer
from tests.orchestration_fixtures import orch_settings, template_bank  # noqa: F401
from tests.orchestration_helpers import PAYDAY, outcome, wait_for
from tests.sse import chat_events, done

ROOT = Path(__file__).resolve().parents[1]
_exporter = InMemorySpanExporter()
_exporting: list[object] = []  # the provider the exporter was added to


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Our spans, recorded in memory while the test runs (one provider per process)."""
    active = tracing.install(tracing.new_provider(SimpleSpanProcessor(InMemorySpanExporter())))
    if active not in _exporting:
        tracing.export_to(active, SimpleSpanProcessor(_exporter))
        _exporting.append(active)
    _exporter.clear()
    yield _exporter
    tracing.set_enabled(False)  # the rest of the suite records nothing
    _exporter.clear()


def by_name(found: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    """Spans called `name`."""
    return [s for s in found if s.name == name]


def parent_of(span: ReadableSpan, found: tuple[ReadableSpan, ...]) -> ReadableSpan | None:
    """The span's parent among those recorded."""
    wanted = span.parent.span_id if span.parent else None
    return next((s for s in found if s.context.span_id == wanted), None)


def test_nothing_is_recorded_by_default() -> None:
    assert not tracing.configure_from_env({})  # no endpoint: no provider, no exporter
    assert not tracing.enabled()


def test_a_phrased_turn_has_its_steps_under_one_root(
    client: TestClient, settings: Settings, spans: InMemorySpanExporter
) -> None:
    events = chat_events(client, bearer(settings, "C0001"), "What's my checking balance?")
    end = done(events)
    found = spans.get_finished_spans()
    (root,) = by_name(found, "chat.turn")
    assert root.parent is None and root.attributes is not None
    assert root.attributes["advisor.trace_id"] == end["trace_id"]
    assert root.attributes["advisor.plan"] == end["plan"]
    for step in ("chat.redaction", "chat.input_rails"):
        (span,) = by_name(found, step)
        assert parent_of(span, found) is root, step
    assert end["grounding"] == "model"  # the fake back-end phrased the draft
    (model,) = by_name(found, "chat.model")
    assert parent_of(model, found) is root
    rails = by_name(found, "chat.output_rails")
    assert rails and all(parent_of(s, found) is model for s in rails)
    assert {s.context.trace_id for s in found} == {root.context.trace_id}
    assert "checking" not in str([dict(s.attributes or {}) for s in found])  # no text


def test_a_corpus_question_has_a_retrieval_span(
    client: TestClient, settings: Settings, spans: InMemorySpanExporter
) -> None:
    chat_events(client, bearer(settings, "C0001"), "How is APY calculated under Regulation DD?")
    found = spans.get_finished_spans()
    (root,) = by_name(found, "chat.turn")
    (retrieval,) = by_name(found, "chat.retrieval")
    assert parent_of(retrieval, found) is root


def test_a_refused_message_ends_its_root_span(
    client: TestClient, settings: Settings, spans: InMemorySpanExporter
) -> None:
    response = client.post("/v1/chat", json={"message": ""}, headers=bearer(settings, "C0001"))
    assert response.status_code == 422
    (root,) = by_name(spans.get_finished_spans(), "chat.turn")
    assert not root.status.is_ok


def test_a_workflow_is_traced_with_its_steps(
    orch_settings: Settings,  # noqa: F811
    spans: InMemorySpanExporter,
) -> None:
    event = {
        "id": "evt-traced", "type": "payroll_deposit", "customer_id": "C0001",
        "amount": "2500.00", "currency": "USD", "occurred_at": PAYDAY,
    }  # fmt: skip
    app = create_app(orch_settings, backend=fakes.FakeBackend())
    with TestClient(app) as api:  # DBOS launches with tracing on
        service = bearer(orch_settings, "service", scope="service")
        assert api.post("/v1/events", json=event, headers=service).status_code == 202
        wait_for(lambda: by_name(spans.get_finished_spans(), "propose_sweep"))
        assert outcome(orch_settings.resolved_database_url, "evt-traced") is None  # waits
    found = spans.get_finished_spans()
    (step,) = by_name(found, "propose_sweep")
    workflow = parent_of(step, found)
    assert workflow is not None and workflow.name == "payroll_sweep"


EXPORTING = """
import sys
from opentelemetry import trace
from advisor.ops import tracing
assert tracing.configure_from_env()
with tracing.TRACER.start_as_current_span("chat.turn"):
    pass
trace.get_tracer_provider().force_flush()
"""


def test_spans_go_over_otlp_http_to_the_configured_endpoint_only() -> None:
    received: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            """Quiet."""

    server = HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {
            **os.environ,
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
            "OTEL_SDK_DISABLED": "true",  # set for the libraries by keep_offline: not for ours
        }
        done = subprocess.run(
            [sys.executable, "-c", EXPORTING], env=env, cwd=ROOT, capture_output=True,
            text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr[-2000:]
    assert [path for path, _ in received] == ["/v1/traces"]
    assert b"chat.turn" in received[0][1]

"""OpenTelemetry traces of a chat turn (redaction, routing, retrieval, the model, the rails)
and of a workflow (DBOS's own workflow and step spans).

Off by default: with no `OTEL_EXPORTER_OTLP_ENDPOINT` no provider is installed, every span
call here is skipped, and nothing leaves the machine. With it, an SDK provider exports over
OTLP/HTTP to that endpoint only. Spans carry ids and outcomes, never a customer's text.
"""

from __future__ import annotations

import functools
import os
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

P = ParamSpec("P")
R = TypeVar("R")
ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACER = trace.get_tracer("advisor")  # a proxy: it follows the provider installed later
MAX_OPEN_TURNS = 1024  # prepared turns whose stream has not started (a client that left)
_lock = threading.Lock()
_state = {"enabled": False}
_open: OrderedDict[str, Span] = OrderedDict()


def enabled() -> bool:
    """Whether spans are recorded (a provider was installed and tracing is on)."""
    return _state["enabled"]


def set_enabled(on: bool) -> None:
    """Switch span recording (benchmarks compare both in one process)."""
    provider = trace.get_tracer_provider()
    _state["enabled"] = on and not isinstance(provider, trace.ProxyTracerProvider)


def install(provider: Any) -> Any:
    """Make `provider` the process's tracer provider (once per process: a later one is
    ignored) and record spans; the provider in use."""
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)
    set_enabled(True)
    return trace.get_tracer_provider()


def new_provider(processor: Any, service: str = "trusted-advisor") -> Any:
    """Our SDK provider, exporting our spans and DBOS's through `processor`.

    keep_offline() sets OTEL_SDK_DISABLED for the libraries' own providers (guardrails-ai
    would trace to its hub); ours is switched on by configuration, so it ignores that flag.
    """
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider._disabled = False  # OTEL_SDK_DISABLED is for the libraries (see above)
    export_to(provider, processor)
    return provider


def export_to(provider: Any, processor: Any) -> None:
    """Send the provider's spans of our scopes (advisor, DBOS) to `processor`; other
    libraries' spans (guardrails-ai's may carry text) are dropped."""
    from advisor.ops.span_filter import OwnScopes

    provider.add_span_processor(OwnScopes(processor))


def configure_from_env(env: Mapping[str, str] | None = None) -> bool:
    """Install an OTLP/HTTP-exporting provider when OTEL_EXPORTER_OTLP_ENDPOINT is set."""
    env = os.environ if env is None else env
    if not env.get(ENDPOINT_ENV) or enabled():
        return enabled()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    with _lock:
        processor = BatchSpanProcessor(OTLPSpanExporter())
        install(new_provider(processor, env.get("OTEL_SERVICE_NAME", "trusted-advisor")))
    return enabled()


def traced(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: the call runs in a span `name`, a child of the current one."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            if not _state["enabled"]:
                return fn(*args, **kwargs)
            with TRACER.start_as_current_span(name):
                return fn(*args, **kwargs)

        return inner

    return wrap


def turn_started(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator of a turn's preparation: opens the turn's root span `chat.turn`, current
    while the turn is prepared; the stream (`in_turn_span`) continues and ends it."""

    @functools.wraps(fn)
    def inner(*args: P.args, **kwargs: P.kwargs) -> R:
        if not _state["enabled"]:
            return fn(*args, **kwargs)
        root = TRACER.start_span("chat.turn")
        try:
            with trace.use_span(root, end_on_exit=False):
                turn = fn(*args, **kwargs)
        except Exception as exc:  # refused before anything streamed (bad input, 404 session)
            root.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            root.end()
            raise
        _keep_open(str(getattr(turn, "trace_id", "")), root)
        return turn

    return inner


def _keep_open(trace_id: str, root: Span) -> None:
    """Hold a prepared turn's root span until its stream starts (oldest ended past the cap)."""
    root.set_attribute("advisor.trace_id", trace_id)
    with _lock:
        _open[trace_id] = root
        while len(_open) > MAX_OPEN_TURNS:
            _open.popitem(last=False)[1].end()


def take_turn_span(trace_id: str) -> Span | None:
    """The prepared turn's root span (None when tracing is off or the turn was not traced)."""
    if not _state["enabled"]:
        return None
    with _lock:
        return _open.pop(trace_id, None)


async def within(span: Span, events: AsyncIterator[R]) -> AsyncIterator[R]:
    """Run each step of an async generator with `span` current, never across a yield (the
    consumer may resume or close it from another context)."""
    ctx = trace.set_span_in_context(span)
    try:
        while True:
            token = otel_context.attach(ctx)
            try:
                item = await anext(events)
            except StopAsyncIteration:
                return
            finally:
                otel_context.detach(token)
            yield item
    finally:
        await events.aclose()  # type: ignore[attr-defined]


def traced_stream(
    name: str,
) -> Callable[[Callable[P, AsyncIterator[R]]], Callable[P, AsyncIterator[R]]]:
    """Decorator of an async generator: its steps run in a span `name` (child of the current)."""

    def wrap(fn: Callable[P, AsyncIterator[R]]) -> Callable[P, AsyncIterator[R]]:
        @functools.wraps(fn)
        async def inner(*args: P.args, **kwargs: P.kwargs) -> AsyncIterator[R]:
            if not _state["enabled"]:
                async for item in fn(*args, **kwargs):
                    yield item
                return
            span = TRACER.start_span(name)  # under the current span; current step by step
            try:
                async for item in within(span, fn(*args, **kwargs)):
                    yield item
            finally:
                span.end()

        return inner

    return wrap

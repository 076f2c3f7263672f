"""Prometheus metrics of one app, on a registry of its own (tests and apps stay isolated).

The request middleware makes the app's metrics current for the request (a context variable),
so the few hooks (the end of a chat turn, served model scores) reach them without a global.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.registry import Collector
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
FIRST_TOKEN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 12.0, 20.0)
SCORE_BUCKETS = tuple(round(0.05 * k, 2) for k in range(1, 20))
UNMATCHED = "unmatched"  # a path no route knows: never its raw text (unbounded labels)
# Fallback reasons (advisor/chat/answer.py, filters.py) by prefix; anything else is a rail's.
FALLBACK_KINDS = (
    ("deadline", "deadline"),
    ("unsupported sentence", "unsupported_sentence"),
    ("the model wrote no supported sentence", "no_supported_sentence"),
    ("the model failed", "model_error"),
    ("the answer failed", "error"),
)


class OpsMetrics:
    """The app's metrics: requests, chat turns, first visible text, fallbacks, rails,
    model scores served, drift alarms, and workflow states read at scrape time."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "advisor_http_requests", "HTTP requests by route template, method and status",
            ["route", "method", "status"], registry=r,
        )  # fmt: skip
        self.request_seconds = Histogram(
            "advisor_http_request_seconds", "Time to the response's start, by route template",
            ["route"], registry=r,
        )  # fmt: skip
        self.turns = Counter(
            "advisor_chat_turns", "Chat turns by intent, plan kind, finish reason and grounding",
            ["intent", "plan", "finish_reason", "grounding"], registry=r,
        )  # fmt: skip
        self.first_visible = Histogram(
            "advisor_chat_first_visible_token_seconds",
            "Time from the turn's start to its first verified text shown to the customer",
            buckets=FIRST_TOKEN_BUCKETS, registry=r,
        )  # fmt: skip
        self.fallbacks = Counter(
            "advisor_chat_fallbacks", "Turns whose model text gave way to the draft, by reason",
            ["reason"], registry=r,
        )  # fmt: skip
        self.shed = Counter(
            "advisor_chat_shed_turns",
            "Turns the grounded draft answered because every model engine slot was taken",
            registry=r,
        )
        self.rails = Counter(
            "advisor_rail_interventions", "Guard events by rail rule and action",
            ["rule", "action"], registry=r,
        )  # fmt: skip
        self.scores = Histogram(
            "advisor_model_score", "Model probabilities served, per registry model",
            ["model"], buckets=SCORE_BUCKETS, registry=r,
        )  # fmt: skip
        self.drift_alarm = Gauge(
            "advisor_model_drift_alarm", "1 when the last monitoring run alarmed for the model",
            ["model"], registry=r,
        )  # fmt: skip
        self.drift_psi = Gauge(
            "advisor_model_feature_psi_max", "Largest feature PSI of the last monitoring run",
            ["model"], registry=r,
        )  # fmt: skip

    def add_collector(self, collector: Collector) -> None:
        """Register a collector read at scrape time (e.g. workflow states from the tables)."""
        self.registry.register(collector)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        """One HTTP request answered."""
        self.requests.labels(route, method, str(status)).inc()
        self.request_seconds.labels(route).observe(seconds)

    def turn(self, seen: TurnSeen) -> None:
        """One chat turn ended, as its events showed it."""
        for rule, action in seen.guards:
            self.rails.labels(rule, action).inc()
        if seen.fallback is not None:
            self.fallbacks.labels(fallback_kind(seen.fallback)).inc()
        done = seen.done
        if done is None:
            self.turns.labels("", "", "error" if seen.failed else "cancelled", "").inc()
            return
        labels = (done.get("intent"), done.get("plan"), done.get("finish_reason"))
        self.turns.labels(*(str(v or "") for v in labels), str(done.get("grounding"))).inc()
        if done.get("shed"):
            self.shed.inc()
        first_ms = (done.get("timings") or {}).get("first_visible_token_ms")
        if first_ms is not None:
            self.first_visible.observe(float(first_ms) / 1000)

    def scored(self, model: str, probability: float) -> None:
        """A model's probability was served (recommendations, decisions, chat)."""
        self.scores.labels(model).observe(probability)

    def monitored(self, model: str, alarm: bool, psi_max: float | None) -> None:
        """A monitoring run's verdict on one model."""
        self.drift_alarm.labels(model).set(1 if alarm else 0)
        if psi_max is not None:
            self.drift_psi.labels(model).set(psi_max)


@dataclass
class TurnSeen:
    """What a turn's events showed: its rails, its fallback reason and its done data."""

    guards: list[tuple[str, str]] = field(default_factory=list)
    fallback: str | None = None
    done: Mapping[str, Any] | None = None
    failed: bool = False

    def see(self, event: str, data: Mapping[str, Any]) -> None:
        """Note one streamed event."""
        if event == "guard":
            self.guards.append((str(data.get("rule")), str(data.get("action"))))
        elif event == "grounding" and data.get("outcome") == "fallback":
            self.fallback = str(data.get("reason") or "")
        elif event == "done":
            self.done = data
        elif event == "error":
            self.failed = True


def fallback_kind(reason: str) -> str:
    """A bounded label for a fallback's free-text reason."""
    return next((kind for prefix, kind in FALLBACK_KINDS if reason.startswith(prefix)), "rail")


_current: ContextVar[OpsMetrics | None] = ContextVar("advisor_ops_metrics", default=None)


def current() -> OpsMetrics | None:
    """The metrics of the app serving this request (None outside a request: CLI, benches)."""
    return _current.get()


class Using:
    """Make `metrics` current for a block (the middleware does it per request)."""

    def __init__(self, metrics: OpsMetrics | None) -> None:
        self.metrics = metrics

    def __enter__(self) -> OpsMetrics | None:
        self._token = _current.set(self.metrics)
        return self.metrics

    def __exit__(self, *exc: object) -> None:
        _current.reset(self._token)


def scored(found: Iterable[Any]) -> None:
    """Count served model scores (Propensity-like: `.model`, `.probability`); defaults skipped."""
    metrics = current()
    if metrics is None:
        return
    for item in found:
        if getattr(item, "model", None):
            metrics.scored(item.model, item.probability)


Template = tuple[re.Pattern[str], frozenset[str], str]  # path regex, methods, route template


class RouteTemplates:
    """The app's route templates, to label a response sent before routing (the engine gate's
    503, the body limit's 413) by the route the request was for; read at first use."""

    def __init__(self) -> None:
        self.known: list[Template] | None = None

    def of(self, scope: Scope) -> str:
        """The template of the first route the request's path and method match, or UNMATCHED."""
        if self.known is None:
            self.known = _templates(getattr(scope.get("app"), "routes", []))
        path, method = scope.get("path", ""), scope.get("method", "")
        found = (t for regex, methods, t in self.known if method in methods and regex.match(path))
        return next(found, UNMATCHED)


def _templates(routes: Sequence[Any]) -> list[Template]:
    """Every HTTP route's template and methods, routers included in the app flattened."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # a FastAPI that copies included routes into the app's own list
        flat: Iterable[Any] = routes
    else:
        flat = iter_route_contexts(routes)
    found = []
    for route in flat:
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if isinstance(path, str) and methods:
            found.append((compile_path(path)[0], frozenset(methods), path))
    return found


class RequestMetrics:
    """ASGI middleware: counts every HTTP request by route template and status. It wraps the
    middleware that may answer before the app (engine gate, body limit): those count too."""

    def __init__(self, app: ASGIApp, metrics: OpsMetrics) -> None:
        self.app, self.metrics, self.templates = app, metrics, RouteTemplates()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request to its response's start; label it by the matched route."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status, seconds = time.perf_counter(), [500], [0.0]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0], seconds[0] = message["status"], time.perf_counter() - started
            await send(message)

        with Using(self.metrics):
            try:
                await self.app(scope, receive, sending)
            finally:
                route = getattr(scope.get("route"), "path", None) or self.templates.of(scope)
                elapsed = seconds[0] or time.perf_counter() - started
                self.metrics.request(route, scope["method"], status[0], elapsed)


def sample_lines(text: str, name: str) -> Iterator[str]:
    """The exposition's sample lines of one metric family (tests and the CLI read them)."""
    return (line for line in text.splitlines() if line.startswith(name))

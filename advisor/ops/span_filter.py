"""A span processor that passes on only the spans of our own instrumentation scopes."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import SpanProcessor

SCOPES = frozenset({"advisor", "dbos-tracer"})  # advisor/ops/tracing.py, DBOS's workflow spans


class OwnScopes(SpanProcessor):  # type: ignore[misc]
    """Wraps a processor: spans of other scopes are neither started nor ended on it."""

    def __init__(self, inner: Any, scopes: frozenset[str] = SCOPES) -> None:
        self.inner, self.scopes = inner, scopes

    def _ours(self, span: Any) -> bool:
        """Whether the span comes from one of our tracers."""
        scope = getattr(span, "instrumentation_scope", None)
        return scope is not None and scope.name in self.scopes

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        """Start on the inner processor when ours."""
        if self._ours(span):
            self.inner.on_start(span, parent_context=parent_context)

    def on_end(self, span: Any) -> None:
        """End on the inner processor when ours."""
        if self._ours(span):
            self.inner.on_end(span)

    def shutdown(self) -> None:
        """Shut the inner processor down."""
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the inner processor."""
        return bool(self.inner.force_flush(timeout_millis))

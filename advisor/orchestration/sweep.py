"""Payroll -> surplus sweep workflow (being built)."""

from __future__ import annotations

from advisor.orchestration.workflows import workflow


@workflow("payroll_sweep")
def payroll_sweep(event_id: str) -> str:
    """Placeholder until the sweep lands: records nothing."""
    return "pending"

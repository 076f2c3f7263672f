"""Model monitoring: PSI per feature and calibration drift of every promoted model, against
the reference its training stored, on the bank's customers scored now.

`advisor models monitor` runs it once; with `monitor_interval_s` the server runs it on a
schedule, appends each run to var/monitoring/runs.jsonl and sets the /metrics alarm gauges.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from advisor.ops.current import READERS, Current
from advisor.ops.drift import calibration, psi, shares
from advisor.ops.metrics import OpsMetrics
from advisor.predict.registry import ModelVersion, Registry
from advisor.settings import Settings
from portfolio_context.db import session_scope

log = logging.getLogger(__name__)
CALIBRATION_ALARM = 0.05  # ECE points above the training reference that raise the alarm
NO_REFERENCE = "no monitoring reference: trained before references were stored; retrain it"


@dataclass
class ModelDrift:
    """One promoted model's monitoring result."""

    model: str
    version: int
    alarm: bool = False
    customers: int = 0
    features: dict[str, float] = field(default_factory=dict)  # feature -> PSI
    alarms: list[str] = field(default_factory=list)  # what raised the alarm
    score_psi: float | None = None  # with several scores (life events): the largest
    events: dict[str, float] = field(default_factory=dict)  # event -> its score's PSI
    calibration: dict[str, Any] = field(default_factory=dict)  # reference, current, drift
    note: str | None = None  # why (part of) it was not measured

    @property
    def psi_max(self) -> float | None:
        """The largest feature PSI, None when none was measured."""
        return max(self.features.values(), default=None)


def monitor(settings: Settings, threshold: float) -> list[ModelDrift]:
    """Every promoted model of the registry, measured on the configured bank."""
    registry = Registry.from_settings(settings)
    found = []
    for name in registry.names():
        model = registry.promoted(name)
        if model is not None:
            found.append(measure(settings, model, threshold))
    return found


def measure(settings: Settings, model: ModelVersion, threshold: float) -> ModelDrift:
    """PSI and calibration of one version, or why they could not be measured."""
    result = ModelDrift(model.name, model.version)
    reference = model.meta.get("monitoring")
    reader = READERS.get(model.name)
    if not reference:
        result.note = NO_REFERENCE
    elif reader is None:
        result.note = "no reader of current data for this model"
    else:
        with session_scope(settings.resolved_database_url) as session:
            current = reader(session, model)
        compare(result, reference, current, threshold)
    return result


def compare(result: ModelDrift, reference: dict[str, Any], now: Current, limit: float) -> None:
    """Fill in PSI per feature, the score's PSI and calibration drift; raise the alarm."""
    result.customers = len(now.probs)
    for k, name in enumerate(now.names):
        ref = reference["features"].get(name)
        if ref is not None:
            today = shares(now.features[:, k], ref["edges"])
            result.features[name] = round(psi(ref["shares"], today), 4)
    result.alarms = [n for n, v in result.features.items() if v >= limit]
    if now.events:
        compare_events(result, reference["events"], now, limit)
    else:
        score = reference["score"]
        result.score_psi = round(psi(score["shares"], shares(now.probs, score["edges"])), 4)
        if result.score_psi >= limit:
            result.alarms.append("score")
        result.calibration = calibration_drift(reference["calibration"], now.probs, now.labels)
        if result.calibration.get("ece_drift", 0.0) >= CALIBRATION_ALARM:
            result.alarms.append("calibration")
    result.alarm = bool(result.alarms)


def compare_events(
    result: ModelDrift, reference: dict[str, Any], now: Current, limit: float
) -> None:
    """One score per event: its PSI ("score:<event>") and calibration drift per event."""
    for k, event in enumerate(now.events):
        ref, probs = reference[event], now.probs[:, k]
        labels = None if now.labels is None else now.labels[:, k]
        result.events[event] = round(
            psi(ref["score"]["shares"], shares(probs, ref["score"]["edges"])), 4
        )
        if result.events[event] >= limit:
            result.alarms.append(f"score:{event}")
        drift = calibration_drift(ref["calibration"], probs, labels)
        result.calibration[event] = drift
        if drift.get("ece_drift", 0.0) >= CALIBRATION_ALARM:
            result.alarms.append(f"calibration:{event}")
    result.score_psi = max(result.events.values(), default=None)


def calibration_drift(
    reference: dict[str, Any], probs: np.ndarray, labels: np.ndarray | None
) -> dict[str, Any]:
    """Reference and current calibration; their ECE and Brier differences with outcomes."""
    current = calibration(probs, labels)
    drift: dict[str, Any] = {"reference": reference, "current": current}
    if "ece" in current and "ece" in reference:
        drift["ece_drift"] = round(current["ece"] - reference["ece"], 6)
        drift["brier_drift"] = round(current["brier"] - reference["brier"], 6)
    else:
        drift["note"] = "no recorded outcomes for today's scores: mean prediction only"
    drift["mean_shift"] = round(current["mean_predicted"] - reference["mean_predicted"], 6)
    return drift


def as_json(results: list[ModelDrift], threshold: float) -> dict[str, Any]:
    """The report: threshold, any alarm, and each model's result."""
    return {
        "threshold": threshold,
        "alarm": any(r.alarm for r in results),
        "models": [asdict(r) for r in results],
    }


def record(settings: Settings, report: dict[str, Any]) -> None:
    """Append one run to var/monitoring/runs.jsonl."""
    folder = settings.var_dir / "monitoring"
    folder.mkdir(parents=True, exist_ok=True)
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with (folder / "runs.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"at": at, **report}, default=_plain) + "\n")


def _plain(value: object) -> Any:
    """numpy scalars as plain numbers."""
    return value.item() if isinstance(value, np.generic) else str(value)


def run_once(settings: Settings, metrics: OpsMetrics | None) -> dict[str, Any]:
    """One scheduled run: measure, record, set the alarm gauges."""
    results = monitor(settings, settings.monitor_threshold)
    report = as_json(results, settings.monitor_threshold)
    record(settings, report)
    for result in results:
        if metrics is not None:
            metrics.monitored(result.model, result.alarm, result.psi_max)
    return report


async def every(settings: Settings, metrics: OpsMetrics | None, interval_s: float) -> None:
    """Run the monitor now and every `interval_s` seconds; a failed run is logged, not fatal."""
    while True:
        try:
            await asyncio.to_thread(run_once, settings, metrics)
        except Exception:
            log.exception("model monitoring run failed; the next one runs on schedule")
        await asyncio.sleep(interval_s)


def schedule(settings: Settings, metrics: OpsMetrics | None) -> asyncio.Task[None] | None:
    """The scheduled monitor task when `monitor_interval_s` is set (off by default)."""
    if not settings.monitor_interval_s:
        return None
    return asyncio.create_task(every(settings, metrics, settings.monitor_interval_s))


async def unschedule(task: asyncio.Task[None] | None) -> None:
    """Stop the scheduled monitor."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

"""`advisor train life-events`: GBM and GRU per event, calibrated, compared, registered."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.exc import SQLAlchemyError

from advisor.ops.drift import histogram, score_reference
from advisor.predict.life_event_features import (
    CREDIT_EVENTS,
    CREDIT_EXCLUDED_FEATURES,
    EVENTS,
    HORIZON_MONTHS,
    SEQ_MONTHS,
    Rows,
    engineered,
    padded_log_panel,
    sequence_statics,
)
from advisor.predict.registry import Registry, data_hash
from advisor.training import life_events_fit as fit
from advisor.training.life_events_data import Dataset, LifeEventDataError, build_dataset
from advisor.training.life_events_gru import GRU_PARAMS, predict_gru, train_gru
from advisor.training.life_events_report import card, reliability_plot
from portfolio_context.db import session_scope

MODEL_NAME = "life-events"
CANDIDATES = ("gbm", "gru", "ensemble")
EVAL_SETS = ("test", "later")
MIN_POSITIVES_TO_SWITCH = 20  # below this the calibration split cannot tell the models apart
Say = Callable[[str], None]


@dataclass
class Fitted:
    """Everything trained: raw logits per candidate, calibrations, choices and metrics."""

    boosters: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, np.ndarray] = field(default_factory=dict)  # candidate -> [rows, events]
    calibration: dict[str, dict[str, Any]] = field(default_factory=dict)  # "event/candidate"
    chosen: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


def ensure_training_bank(var_dir: Path, customers: int, say: Say) -> str:
    """The training bank var/train/bank.db, (re)seeded when it holds fewer than `customers`."""
    from portfolio_context.seed import seed_bank

    url = f"sqlite:///{(var_dir / 'train' / 'bank.db').resolve()}"
    if seeded_customers(url) < customers:
        say(f"seeding a training bank of {customers} customers into {url}")
        seed_bank(url, customers, 42, dt.date.today())
    return url


def seeded_customers(url: str) -> int:
    """How many customers the bank at `url` was seeded with (0 when none)."""
    from sqlalchemy import select

    from portfolio_context.db import create_schema
    from portfolio_context.models import BankMeta

    create_schema(url)
    with session_scope(url) as session:
        value = session.scalar(select(BankMeta.value).where(BankMeta.key == "customers"))
    return int(value) if value else 0


def train_life_events(
    database_url: str, registry: Registry, say: Say = lambda _m: None, stride: int = 2
) -> dict[str, Any]:
    """Train on the bank at `database_url` and register a new promoted version; returns meta."""
    started = time.monotonic()
    say("loading the bank's monthly panel")
    try:
        with session_scope(database_url) as session:
            data = build_dataset(session, stride)
    except SQLAlchemyError as exc:
        raise LifeEventDataError(f"cannot read a bank at {database_url}: {exc.args[0]}") from None
    x, names = engineered(data.panel, data.rows)
    stop = _stopping_rows(data)
    fitted = Fitted()
    say(f"LightGBM on {int(data.split['train'].sum())} training rows, {len(names)} features")
    _fit_gbms(data, x, names, stop, fitted)
    say("GRU on the monthly sequences")
    padded = padded_log_panel(data.panel)
    statics = sequence_statics(data.panel, data.rows)
    gru = train_gru(
        padded,
        _subset(data.rows, data.split["train"]),
        statics[data.split["train"]],
        data.labels[data.split["train"]],
        stop[data.split["train"]],
    )
    fitted.raw["gru"] = predict_gru(gru, padded, data.rows, statics)
    fitted.raw["ensemble"] = fit.ensemble_logit(fitted.raw["gbm"], fitted.raw["gru"])
    _calibrate_and_choose(data, fitted)
    _evaluate(data, fitted)
    meta = _meta(data, x, names, fitted, time.monotonic() - started)
    with registry.stage(MODEL_NAME) as stage:
        _write_artefacts(stage.path, fitted, gru)
        reliability_plot(stage.path / "calibration.png", _test_probabilities(data, fitted))
        stage.meta.update(meta, card=card(meta))
        stage.meta["monitoring"] = monitoring_reference(data, x, names, fitted)
    promoted = registry.promoted(MODEL_NAME)
    return {**meta, "version": promoted.version if promoted else None}


def _subset(rows: Rows, mask: np.ndarray) -> Rows:
    """The rows under a boolean mask."""
    return Rows(rows.c[mask], rows.r[mask])


def _stopping_rows(data: Dataset) -> np.ndarray:
    """A fifth of the training customers, held back for early stopping."""
    return np.asarray(data.split["train"] & (data.rows.c % 5 == 0))


def _fit_gbms(
    data: Dataset, x: np.ndarray, names: list[str], stop: np.ndarray, fitted: Fitted
) -> None:
    """One LightGBM per event on the training rows that count for it."""
    raw = np.zeros((len(data.rows.c), len(EVENTS)))
    for k, event in enumerate(EVENTS):
        use = data.split["train"] & ~np.isnan(data.labels[:, k])
        train_x = _without_credit_excluded(x[use], names) if event in CREDIT_EVENTS else x[use]
        booster = fit.fit_gbm(train_x, data.labels[use, k], stop[use], names)
        fitted.boosters[event] = booster
        raw[:, k] = fit.gbm_logit(booster, x)
    fitted.raw["gbm"] = raw


def _without_credit_excluded(x: np.ndarray, names: list[str]) -> np.ndarray:
    """The rows with every credit-excluded feature (age) constant: no tree can split on it,
    so the served score does not depend on it."""
    out = x.copy()
    for name in CREDIT_EXCLUDED_FEATURES:
        out[:, names.index(name)] = 0.0
    return out


def _calibrate_and_choose(data: Dataset, fitted: Fitted) -> None:
    """Calibrate every candidate on the calibration customers; serve the GBM (explainable)
    unless another candidate has a better PR-AUC there on enough positives."""
    for k, event in enumerate(EVENTS):
        rows = data.split["calibration"] & ~np.isnan(data.labels[:, k])
        y = data.labels[rows, k]
        scores = {}
        for name in CANDIDATES:
            raw = fitted.raw[name][rows, k]
            fitted.calibration[f"{event}/{name}"] = fit.fit_calibration(raw, y, data.rows.c[rows])
            scores[name] = fit.metrics(1.0 / (1.0 + np.exp(-raw)), y, data.rows.r[rows])["pr_auc"]
        best = max(CANDIDATES, key=lambda n: (scores[n], n == "gbm"))
        enough = y.sum() >= MIN_POSITIVES_TO_SWITCH and scores[best] > scores["gbm"] + 0.005
        credit = event in CREDIT_EVENTS  # the GRU reads age among its statics: GBM only
        fitted.chosen[event] = best if enough and not credit else "gbm"


def _evaluate(data: Dataset, fitted: Fitted) -> None:
    """Calibrated metrics of every candidate per event on held-out customers and later months."""
    for k, event in enumerate(EVENTS):
        per: dict[str, Any] = {}
        for split in EVAL_SETS:
            rows = data.split[split] & ~np.isnan(data.labels[:, k])
            y, months = data.labels[rows, k], data.rows.r[rows]
            for name in CANDIDATES:
                p = fit.calibrated(fitted.calibration[f"{event}/{name}"], fitted.raw[name][rows, k])
                per[f"{split}/{name}"] = fit.metrics(p, y, months)
            uncal = 1.0 / (1.0 + np.exp(-fitted.raw["gbm"][rows, k]))
            per[f"{split}/gbm_uncalibrated"] = fit.metrics(uncal, y, months)
        chosen = fitted.chosen[event]
        per.update({f"{s}/chosen": per[f"{s}/{chosen}"] for s in EVAL_SETS})
        fitted.metrics[event] = per


def _test_probabilities(data: Dataset, fitted: Fitted) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Calibrated probabilities of the chosen model and outcomes on held-out customers."""
    out = {}
    for k, event in enumerate(EVENTS):
        rows = data.split["test"] & ~np.isnan(data.labels[:, k])
        name = fitted.chosen[event]
        p = fit.calibrated(fitted.calibration[f"{event}/{name}"], fitted.raw[name][rows, k])
        out[event] = (p, data.labels[rows, k])
    return out


def monitoring_reference(
    data: Dataset, x: np.ndarray, names: list[str], fitted: Fitted
) -> dict[str, Any]:
    """What `advisor models monitor` compares against: histograms of the GBMs' training rows
    at their latest reference month (the customers as they were then, as monitoring sees them
    now: rows from every past month differ by construction, e.g. in months of history), and
    per event the held-out calibrated scores' histogram and calibration."""
    train = data.split["train"]
    rows = x[train & (data.rows.r == data.rows.r[train].max())].astype(np.float64)
    held_out = _test_probabilities(data, fitted)
    return {
        "features": {name: histogram(rows[:, k]) for k, name in enumerate(names)},
        "events": {event: score_reference(p, y) for event, (p, y) in held_out.items()},
    }


def _write_artefacts(folder: Path, fitted: Fitted, gru: Any) -> None:
    """LightGBM text models per event and the GRU's state dict."""
    import torch

    for event, booster in fitted.boosters.items():
        booster.save_model(str(folder / f"gbm_{event}.txt"))
    torch.save(gru.state_dict(), folder / "gru.pt")


def _meta(
    data: Dataset, x: np.ndarray, names: list[str], fitted: Fitted, seconds: float
) -> dict[str, Any]:
    """The registry metadata of this version."""
    counts = {name: int(mask.sum()) for name, mask in data.split.items()}
    return {
        "data_hash": data_hash(x.tobytes() + np.nan_to_num(data.labels, nan=-1).tobytes()),
        "as_of": data.as_of.isoformat(),
        "customers": len(data.panel.customers),
        "rows": counts,
        "events": list(EVENTS),
        "horizon_months": HORIZON_MONTHS,
        "features": names,
        "panel_spec": data.panel.spec.to_dict(),
        "chosen": fitted.chosen,
        "calibration": fitted.calibration,
        "params": {"gbm": fit.GBM_PARAMS, "gru": {**GRU_PARAMS, "months": SEQ_MONTHS}},
        "best_iterations": {e: b.best_iteration for e, b in fitted.boosters.items()},
        "metrics": fitted.metrics,
        "train_seconds": round(seconds, 1),
        "gru_channels": len(data.panel.spec.channels),
        "gru_statics": 3 + len(data.panel.spec.account_types),
    }

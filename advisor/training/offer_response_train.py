"""Train the offer-response model on UCI Bank Marketing campaigns and register it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from advisor.ops.drift import reference
from advisor.predict.calibration import sigmoid
from advisor.predict.campaigns import (
    CampaignFileError,
    encode,
    feature_names,
    read_campaign_file,
)
from advisor.predict.offer_response import MODEL_NAME
from advisor.predict.registry import ModelVersion, Registry, data_hash
from advisor.training.offer_response_card import model_card, plot_calibration
from advisor.training.offer_response_fit import (
    TUNE_GRID,
    Fitted,
    Split,
    fit,
    margin,
    metrics,
    predict,
    stratified_split,
    temporal_split,
)

MIN_PER_OUTCOME = 50


def train_offer_response(
    registry: Registry,
    campaigns: Path,
    say: Callable[[str], None] = lambda _m: None,
    promote: bool = True,
) -> ModelVersion:
    """Validate, train, measure on both hold-outs, calibrate and register; bad data: nothing."""
    started = time.perf_counter()
    say(f"reading {campaigns}")
    table = read_campaign_file(campaigns, require_target=True)
    assert table.target is not None
    x, y = encode(table.rows), table.target
    if len(np.unique(y)) < 2 or min(np.bincount(y)) < MIN_PER_OUTCOME:
        raise CampaignFileError(
            f"{campaigns.name}: needs at least {MIN_PER_OUTCOME} rows of each outcome (yes, no)"
        )
    split, later = stratified_split(y), _later_split(campaigns.name, y)
    say("tuning on the stratified split")
    fitted = fit(x, y, split)
    say("measuring the later-time hold-out")
    later_fit = fit(x, y, later)
    report = {
        "stratified": metrics(y[split.report], predict(fitted, x[split.report])),
        "later_time": metrics(y[later.report], predict(later_fit, x[later.report])),
    }
    return _register(registry, campaigns, fitted, report, split, x, y, started, promote)


def _later_split(label: str, y: np.ndarray) -> Split:
    """The later-time split; CampaignFileError when a part of it lacks an outcome."""
    try:
        later = temporal_split(y)
    except ValueError as exc:  # too few of an outcome in the earlier rows to carve them
        raise _one_outcome(label, "train") from exc
    for part, rows in vars(later).items():
        if len(np.unique(y[rows])) < 2:
            raise _one_outcome(label, part)
    return later


def _one_outcome(label: str, part: str) -> CampaignFileError:
    """The error for a later-time split part with (almost) only one outcome."""
    return CampaignFileError(
        f"{label}: the later-time {part} split (time order, last 20% reported) "
        "holds only one outcome; the file needs yes and no rows throughout"
    )


def _register(
    registry: Registry,
    campaigns: Path,
    fitted: Fitted,
    report: dict[str, dict[str, float]],
    split: Split,
    x: np.ndarray,
    y: np.ndarray,
    started: float,
    promote: bool,
) -> ModelVersion:
    """Write model.txt, calibration.json, calibration.png, meta and card as a new version."""
    uncalibrated = sigmoid(margin(fitted.booster, x[split.report]))
    with registry.stage(MODEL_NAME, promote=promote) as stage:
        fitted.booster.save_model(str(stage.path / "model.txt"))
        (stage.path / "calibration.json").write_text(json.dumps(fitted.calibration))
        plot_calibration(
            y[split.report], uncalibrated, predict(fitted, x[split.report]), stage.path
        )
        stage.meta.update(
            data_hash=data_hash(campaigns),
            data_file=campaigns.name,
            params=fitted.params,
            features=feature_names(),
            excluded=["duration"],
            calibration={"method": fitted.calibration["method"], "valid_brier": fitted.valid_brier},
            metrics=report,
            valid_roc_auc=fitted.valid_roc_auc,
            grid_size=len(TUNE_GRID),
            splits={k: len(v) for k, v in vars(split).items()},
            train_seconds=round(time.perf_counter() - started, 1),
        )
        stage.meta["card"] = model_card(stage.meta)
        held_out = predict(fitted, x[split.report])  # the monitor's reference (advisor/ops)
        stage.meta["monitoring"] = reference(
            x[split.train], feature_names(), held_out, y[split.report]
        )
    assert stage.version is not None
    return registry.version(MODEL_NAME, stage.version)

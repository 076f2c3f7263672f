"""The offer-response model card (markdown) and its calibration plot (PNG)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("MPLBACKEND", "Agg")

PLOT = "calibration.png"

CARD = """# offer-response: term-deposit offer response

**Predicts** the probability that a customer subscribes to a term deposit when offered one
in a direct-marketing contact. LightGBM gradient-boosted trees (categorical features native),
then {method} calibration.

## Data
UCI Bank Marketing (`bank-full`, training part kept in this repository: `{data_file}`,
sha256 `{data_hash}`): a Portuguese bank's telemarketing campaigns, May 2008 to November
2010. Source: S. Moro, P. Cortez and P. Rita (2014), *A Data-Driven Approach to Predict the
Success of Bank Telemarketing*, Decision Support Systems 62:22-31; UCI Machine Learning
Repository, licence CC BY 4.0. The test part of the data set is kept outside this repository.

## Features
{features} (`day_of_year` is derived from `month` and `day`, so trees can cut the calendar
into periods).

**Excluded: `duration`** (length of the last call). It is known only after the call has
ended and the outcome is then almost decided (a zero-length call is always a "no"), so it
cannot be used to decide whom to contact; the model never reads it (a test proves that
changing it does not change any score).

## Metrics
Rows are split by fixed seed; nothing was tuned on a report split.

{metrics}


- **stratified**: a stratified random 20% of the file held out; the rest split 80/10/10 into
  training, validation (early stopping, choice among {grid} parameter sets by ROC-AUC,
  choice of calibration) and calibration (fitting Platt and isotonic); the chosen parameters
  are then refitted on training + validation, and the chosen calibration on the
  calibration split.
- **later_time**: the file keeps the original time order; a second model is fitted the same
  way on the first 80% of rows and measured on the last 20% (later campaigns, with a much
  higher base rate, so its Brier score suffers most): what drift does to the model.

Validation ROC-AUC of the chosen parameters: {valid_roc_auc}. Parameters: `{params}`.

## Calibration
Validation Brier score per method: {briers}; kept: **{method}** (lowest; `none` is kept
only when neither Platt nor isotonic improves on the raw model). Calibration maps the
LightGBM margin (log-odds) to a probability. Plot: `{plot}` (stratified report split).
Per-feature contributions (`Score.contributions`) are LightGBM `pred_contrib` values on the
uncalibrated margin (log-odds), not on the calibrated probability.

## Intended use
Ranking customers for a term-deposit (CD) offer within the advisor's next-best-action, as
one factor beside eligibility and suitability; never for credit decisions.

## Limits
- Trained on one Portuguese bank's 2008-2010 customers contacted by phone; synthetic US
  customers are mapped onto that schema: USD balances are taken as EUR, `contact` is
  "cellular", `day`/`month` are the scoring date, and missing fields take documented
  defaults (advisor/predict/campaign_schema.yaml), listed per score in `defaults_used`.
- Strong dependence on the calendar (month, day) and on earlier campaign outcomes
  (`poutcome`, `pdays`): it learned when that bank called, not only whom.
- The later-time figures show the drift: refit on recent campaigns before relying on it.
- Protected attributes are not features, but `age` and `marital` are; they must not be used
  for any credit decision.
"""


def model_card(meta: dict[str, Any]) -> str:
    """The markdown model card from a stage's meta."""
    calibration = meta["calibration"]
    return CARD.format(
        method=calibration["method"],
        data_file=meta["data_file"],
        data_hash=meta["data_hash"],
        features=", ".join(f"`{name}`" for name in meta["features"]),
        metrics=_metrics_table(meta["metrics"]),
        grid=meta.get("grid_size", "several"),
        valid_roc_auc=meta["valid_roc_auc"],
        params=meta["params"],
        briers=", ".join(f"{k} {v}" for k, v in calibration["valid_brier"].items()),
        plot=PLOT,
    )


def _metrics_table(report: dict[str, dict[str, float]]) -> str:
    """A markdown table of the hold-out metrics."""
    keys = ("roc_auc", "pr_auc", "brier", "base_rate", "rows")
    lines = ["| hold-out | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for split, figures in report.items():
        lines.append(f"| {split} | " + " | ".join(str(figures[k]) for k in keys) + " |")
    return "\n".join(lines)


def plot_calibration(
    y: np.ndarray, uncalibrated: np.ndarray, calibrated: np.ndarray, folder: Path
) -> Path:
    """A reliability diagram (deciles of predicted probability) of both, as calibration.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve

    figure, axes = plt.subplots(figsize=(5, 5))
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfect")
    for label, probability in (("LightGBM", uncalibrated), ("calibrated", calibrated)):
        observed, predicted = calibration_curve(y, probability, n_bins=10, strategy="quantile")
        axes.plot(predicted, observed, marker="o", label=label)
    axes.set(xlabel="predicted probability", ylabel="observed subscription rate")
    axes.set_title("offer-response: reliability (stratified hold-out)")
    axes.legend()
    path = folder / PLOT
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return path

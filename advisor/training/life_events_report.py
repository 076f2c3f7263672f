"""The life-event model card (markdown) and its calibration plot (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

SETS = {"test": "held-out customers", "later": "later time window"}
MODELS = ("gbm", "gru", "ensemble")


def reliability_plot(path: Path, by_event: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Predicted vs observed rate per probability decile, one line per event."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5))
    top = 0.05
    for event, (p, y) in by_event.items():
        if len(p) == 0:
            continue
        edges = np.unique(np.quantile(p, np.linspace(0, 1, 11)))
        bins = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
        mean_p = [p[bins == b].mean() for b in np.unique(bins)]
        rate = [y[bins == b].mean() for b in np.unique(bins)]
        ax.plot(mean_p, rate, marker="o", label=event)
        top = max(top, *mean_p, *rate)
    ax.plot([0, top], [0, top], "k--", linewidth=1, label="perfect")
    ax.set_xlabel("predicted probability (decile mean)")
    ax.set_ylabel("observed 3-month event rate")
    ax.set_title("Life events: calibration on held-out customers")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def figures_table(metrics: dict[str, Any], chosen: dict[str, str]) -> list[str]:
    """Markdown rows: event, set, model, ROC-AUC, PR-AUC, Brier, precision@5%, base rate."""
    lines = [
        "| event | held-out set | model | ROC-AUC | PR-AUC | Brier | precision@top5% | "
        "base rate | rows (positives) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for event, per in metrics.items():
        for split, label in SETS.items():
            for model in MODELS:
                m = per[f"{split}/{model}"]
                mark = " (chosen)" if chosen[event] == model else ""
                lines.append(
                    f"| {event} | {label} | {model}{mark} | {m['roc_auc']:.3f} | "
                    f"{m['pr_auc']:.3f} | {m['brier']:.4f} | {m['precision_top5']:.3f} | "
                    f"{m['base_rate']:.3f} | {m['rows']} ({m['positives']}) |"
                )
    return lines


def card(meta: dict[str, Any]) -> str:
    """The model card: what is predicted, from what, how it was split, chosen and measured."""
    chosen = ", ".join(f"{e}: {m}" for e, m in meta["chosen"].items())
    rows = meta["rows"]
    lines = [
        "# life-events",
        "",
        "Probability that each life event (home buying, marriage, new baby, retirement, job "
        f"change) happens within the {meta['horizon_months']} months after the last complete "
        "month of a customer's transactions.",
        "",
        "## Models",
        "- **gbm**: LightGBM per event on engineered behavioural features (3/12-month means, "
        "trends, category shares, merchant novelty, large outflows, age, accounts held).",
        "- **gru**: one PyTorch GRU on the raw 24-month sequences, multi-label head.",
        "- **ensemble**: mean of the two raw log-odds, calibrated again.",
        "- Each candidate is calibrated on separate calibration customers: identity, Platt or "
        "isotonic (with 30+ positives), whichever has the lowest 2-fold cross-validated Brier.",
        f"- **Served per event: {chosen}.** The GBM is served (exact explanations) unless the "
        "GRU or the ensemble has a higher PR-AUC on the calibration customers, with 20+ "
        "positives there.",
        "- Contributions: exact LightGBM `pred_contrib` (log-odds of the uncalibrated GBM); for "
        "the ensemble half of them plus `gru_sequence` (half the GRU's log-odds).",
        "",
        "## Data and splits",
        f"- Bank as of {meta['as_of']}, {meta['customers']} customers; rows are (customer, "
        "reference month); features use only months up to the reference month.",
        f"- Customers split by hash: train {rows['train']}, calibration {rows['calibration']}, "
        f"held-out test {rows['test']} rows (earlier months, label windows ending before the "
        f"later window); later time window {rows['later']} rows (latest reference months, "
        "every non-calibration customer).",
        "- Retirement rows after a customer's retirement are excluded. Customer snapshot "
        "fields (marital status, job, credit profile) are not used: they describe the as-of "
        "date and would leak the outcome into earlier reference months.",
        f"- Data hash: `{meta['data_hash'][:16]}`; training took {meta['train_seconds']} s.",
        "",
        "## Figures (calibrated probabilities)",
        "",
        *figures_table(meta["metrics"], meta["chosen"]),
        "",
        "Precision@top5%: events among the top 5% of customers by score, per reference month, "
        "averaged. Calibration plot: calibration.png.",
    ]
    return "\n".join(lines) + "\n"

"""The monitoring report as Rich tables (`advisor models monitor`)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def print_report(console: Console, report: dict[str, Any]) -> None:
    """One table per model: each feature's PSI and alarm flag, then score and calibration."""
    if not report["models"]:
        console.print("no promoted models to monitor; train one with `advisor train`")
    for model in report["models"]:
        title = f"{model['model']} v{model['version']} ({model['customers']} customers)"
        console.print(f"[bold]{title}[/] {'[red]ALARM[/]' if model['alarm'] else 'ok'}")
        if model["note"]:
            console.print(f"  {model['note']}")
            continue
        table = Table("feature", "PSI", "alarm")
        limit = report["threshold"]
        for name, value in model["features"].items():
            table.add_row(name, f"{value:.4f}", "ALARM" if value >= limit else "")
        scores = {f"(score {e})": v for e, v in model["events"].items()}
        for name, value in (scores or {"(score)": model["score_psi"]}).items():
            table.add_row(name, f"{value:.4f}", "ALARM" if value >= limit else "")
        console.print(table)
        if not model["events"]:
            console.print("  calibration: " + _calibration(model["calibration"]))
        for event in model["events"]:
            console.print(f"  calibration {event}: " + _calibration(model["calibration"][event]))


def _calibration(drift: dict[str, Any]) -> str:
    """Reference against current calibration in one line."""
    ref, now = drift["reference"], drift["current"]
    if "ece_drift" in drift:
        return (
            f"ECE {ref['ece']:.4f} -> {now['ece']:.4f} ({drift['ece_drift']:+.4f}), "
            f"Brier {ref['brier']:.4f} -> {now['brier']:.4f} ({drift['brier_drift']:+.4f})"
        )
    shift = f"{ref['mean_predicted']:.4f} -> {now['mean_predicted']:.4f}"
    return f"mean prediction {shift}; {drift['note']}"

"""A model's score for one customer, with exact per-feature contributions."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Score:
    """Probability from a promoted model, its LightGBM pred_contrib (log-odds) per feature."""

    probability: float
    model: str
    version: int
    contributions: dict[str, float]
    defaults_used: tuple[str, ...] = ()

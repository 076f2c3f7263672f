"""Bootstrap intervals for the replay's hit counts, resampling customers (a customer's decision
dates are not independent draws, so whole customers are drawn with replacement)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

DRAWS = 2000
SEED = 7


def by_customer(rows: Sequence[tuple[str, Counter[str]]], keys: Sequence[str]) -> np.ndarray:
    """[customers, keys]: each customer's summed measures."""
    sums: dict[str, Counter[str]] = defaultdict(Counter)
    for customer, row in rows:
        sums[customer].update(row)
    return np.array([[c.get(k, 0) for k in keys] for c in sums.values()], dtype=float)


def interval(values: np.ndarray) -> tuple[float, float]:
    """The central 95% of bootstrap values (NaNs, from a zero denominator, left out)."""
    kept = values[~np.isnan(values)]
    if kept.size == 0:
        return (float("nan"), float("nan"))
    low, high = np.percentile(kept, [2.5, 97.5])
    return (float(low), float(high))


def hits_intervals(
    rows: Sequence[tuple[str, Counter[str]]], measure: str = "list", draws: int = DRAWS
) -> dict[str, tuple[float, float]]:
    """95% intervals of the ranking's hits, popularity's, their difference and their ratio."""
    table = by_customer(rows, [f"nba_{measure}", f"popularity_{measure}"])
    if table.size == 0:
        nan = (float("nan"), float("nan"))
        return {"nba": nan, "popularity": nan, "difference": nan, "ratio": nan}
    rng = np.random.default_rng(SEED)
    picks = rng.integers(0, len(table), size=(draws, len(table)))
    totals = table[picks].sum(axis=1)  # [draws, 2]
    nba, pop = totals[:, 0], totals[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(pop > 0, nba / np.where(pop > 0, pop, 1), np.nan)
    return {
        "nba": interval(nba),
        "popularity": interval(pop),
        "difference": interval(nba - pop),
        "ratio": interval(ratio),
    }

"""Life-event features shared by training and serving: monthly sequences and engineered ones.

A reference month r means: everything posted up to the end of month r is known, nothing later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from advisor.predict.life_event_panel import Panel, month_key

EVENTS = ("home_buying", "marriage", "new_baby", "retirement", "job_change")
HORIZON_MONTHS = 3  # label: the event happens within three months after the reference month
SEQ_MONTHS = 24  # the GRU reads this many months up to and including the reference month
MIN_HISTORY = 6  # a reference month needs this many months of history before it
WINDOWS = (3, 12)
# ECOA: age is a prohibited basis for credit. An event whose propensity may drive a credit
# suggestion (home buying -> mortgage pre-qualification, nba_policy.yaml) is served by a GBM
# trained without these features (tests/test_credit_age.py checks the policy against this).
CREDIT_EVENTS = ("home_buying",)
CREDIT_EXCLUDED_FEATURES = ("age",)


def reference_month(as_of: dt.date) -> str:
    """The last complete month on `as_of` (its own month when as_of is the month's last day)."""
    if (as_of + dt.timedelta(days=1)).month != as_of.month:
        return month_key(as_of)
    return month_key(as_of.replace(day=1) - dt.timedelta(days=1))


def month_end(key: str) -> dt.date:
    """The last day of month 'YYYY-MM'."""
    first = dt.date(int(key[:4]), int(key[5:7]), 1)
    return (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


@dataclass(frozen=True)
class Rows:
    """Customer-month pairs to featurise: panel customer index c and reference month index r."""

    c: np.ndarray
    r: np.ndarray


def _window_means(panel: Panel, cums: np.ndarray, rows: Rows, months: int) -> np.ndarray:
    """Per channel mean over the `months` months ending at r (only months with history count)."""
    start = np.maximum(rows.r + 1 - months, 0)
    total = cums[rows.c, rows.r + 1] - cums[rows.c, start]
    seen = np.clip(rows.r - panel.first_month[rows.c] + 1, 1, months)
    return np.asarray(total / seen[:, None], dtype=np.float32)


def _statics(panel: Panel, rows: Rows) -> tuple[np.ndarray, list[str]]:
    """Age, gig income, months of history and the account types held at the reference month."""
    years = np.array([int(m[:4]) for m in panel.months], np.float32)
    age = years[rows.r] - panel.birth_year[rows.c]
    history = np.clip(rows.r - panel.first_month[rows.c] + 1, 0, 36).astype(np.float32)
    held = np.zeros((len(rows.c), len(panel.spec.account_types)), np.float32)
    for k, acct in enumerate(panel.spec.account_types):
        mine = panel.opened[panel.opened["acct"] == acct]
        held[:, k] = _held(mine["c"].to_numpy(np.int64), mine["m"].to_numpy(np.int64), rows)
    names = ["age", "gig_income", "history_months"]
    names += [f"has_{t}" for t in panel.spec.account_types]
    columns = [age[:, None], panel.gig[rows.c][:, None], history[:, None], held]
    return np.hstack(columns).astype(np.float32), names


def _held(acct_c: np.ndarray, acct_m: np.ndarray, rows: Rows) -> np.ndarray:
    """1.0 where the row's customer had an account of this type opened by the reference month."""
    size = int(max(rows.c.max(initial=0), acct_c.max(initial=0))) + 1
    first_open = np.full(size, 10**6, np.int64)
    np.minimum.at(first_open, acct_c, acct_m)
    return np.asarray(first_open[rows.c] <= rows.r, dtype=np.float32)


def engineered(panel: Panel, rows: Rows) -> tuple[np.ndarray, list[str]]:
    """Behavioural features at each row's reference month: aggregates, trends, shares, statics."""
    channels = panel.spec.channels
    cums = np.concatenate(
        [np.zeros_like(panel.values[:, :1]), np.cumsum(panel.values, axis=1)], axis=1
    )
    last = panel.values[rows.c, rows.r]
    means = {w: _window_means(panel, cums, rows, w) for w in WINDOWS}
    short, long = means[WINDOWS[0]], means[WINDOWS[1]]
    spend = [channels.index(f"out_{c}") for c in [*panel.spec.categories, "other"]]
    share_short = short[:, spend] / np.maximum(short[:, spend].sum(1, keepdims=True), 1.0)
    share_long = long[:, spend] / np.maximum(long[:, spend].sum(1, keepdims=True), 1.0)
    statics, static_names = _statics(panel, rows)
    blocks = [last, short, long, short - long, share_short, share_short - share_long, statics]
    names = [f"{n}_last" for n in channels] + [f"{n}_mean3" for n in channels]
    names += [f"{n}_mean12" for n in channels] + [f"{n}_trend" for n in channels]
    names += [f"share3_{channels[k][4:]}" for k in spend]
    names += [f"share_shift_{channels[k][4:]}" for k in spend]
    return np.hstack(blocks).astype(np.float32), [*names, *static_names]


def padded_log_panel(panel: Panel) -> np.ndarray:
    """Signed-log panel values with SEQ_MONTHS empty months in front (for window gathers)."""
    customers, _, channels = panel.values.shape
    pad = np.zeros((customers, SEQ_MONTHS, channels), np.float32)
    padded = np.concatenate([pad, panel.values], axis=1)
    return np.asarray(np.sign(padded) * np.log1p(np.abs(padded)), dtype=np.float32)


def gather_windows(padded: np.ndarray, rows: Rows) -> np.ndarray:
    """[rows, SEQ_MONTHS, channels]: the months up to and including each row's reference month."""
    offsets = np.arange(-SEQ_MONTHS + 1, 1)
    return np.asarray(padded[rows.c[:, None], rows.r[:, None] + SEQ_MONTHS + offsets[None, :]])


def sequence_statics(panel: Panel, rows: Rows) -> np.ndarray:
    """The GRU's static inputs (age/100, gig, history/36, accounts held)."""
    statics, _ = _statics(panel, rows)
    statics[:, 0] = statics[:, 0] / 100.0
    statics[:, 2] = statics[:, 2] / 36.0
    return statics


def sequences(panel: Panel, rows: Rows) -> tuple[np.ndarray, np.ndarray]:
    """[rows, SEQ_MONTHS, channels] signed-log monthly values ending at r, and static inputs."""
    return gather_windows(padded_log_panel(panel), rows), sequence_statics(panel, rows)

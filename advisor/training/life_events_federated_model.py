"""The life-event GRU as every party trains it: same network, same loss, same mini-batch step
(advisor/training/life_events_gru.py); weights in and out as numpy arrays; held-out ROC-AUC.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from advisor.predict.life_event_features import EVENTS, Rows, gather_windows
from advisor.predict.life_events_net import LifeEventGRU
from advisor.training.life_events_federated_data import HolderData
from advisor.training.life_events_gru import GRU_PARAMS, _epoch, positive_weights, predict_gru

Arrays = dict[str, np.ndarray]
MOMENT_SAMPLE = 5000  # windows per holder for the channel mean and spread


def new_gru(holder: HolderData, seed: int = GRU_PARAMS["seed"]) -> LifeEventGRU:
    """A freshly initialised GRU shaped for the holder's channels and statics."""
    torch.set_num_threads(GRU_PARAMS["threads"])
    torch.manual_seed(seed)
    channels, statics = holder.padded.shape[-1], holder.statics.shape[1]
    return LifeEventGRU(channels, statics, len(EVENTS), GRU_PARAMS["hidden"])


def moments(holder: HolderData) -> np.ndarray:
    """[3, channels]: count, sum and sum of squares of a sample of the holder's windows
    (aggregates only, never rows: what a holder may share to standardise the inputs)."""
    rng = np.random.default_rng(0)
    pick = rng.choice(len(holder.rows.c), min(len(holder.rows.c), MOMENT_SAMPLE), replace=False)
    windows = gather_windows(holder.padded, Rows(holder.rows.c[pick], holder.rows.r[pick]))
    flat = windows.reshape(-1, windows.shape[-1]).astype(np.float64)
    return np.stack([np.full(flat.shape[1], len(flat), np.float64), flat.sum(0), (flat**2).sum(0)])


def standardise(model: LifeEventGRU, parts: list[np.ndarray]) -> None:
    """Set the channel mean and spread from the summed moments of one or more holders."""
    total = np.sum(parts, axis=0)
    mean = total[1] / total[0]
    std = np.sqrt(np.maximum(total[2] / total[0] - mean**2, 0.0))
    model.mean.copy_(torch.from_numpy(mean.astype(np.float32)))  # type: ignore[operator]
    model.std.copy_(torch.from_numpy(np.maximum(std, 1e-3).astype(np.float32)))  # type: ignore[operator]


def get_arrays(model: LifeEventGRU) -> Arrays:
    """The trainable weights (the standardisation buffers are fixed and not exchanged)."""
    return {name: p.detach().cpu().numpy().copy() for name, p in model.named_parameters()}


def distance(a: Arrays, b: Arrays) -> float:
    """L2 norm of the difference of two sets of weights (how far a round moved the model)."""
    return round(float(np.sqrt(sum(float(((a[k] - b[k]) ** 2).sum()) for k in a))), 5)


def set_arrays(model: LifeEventGRU, arrays: Arrays) -> None:
    """Load trainable weights by name."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(np.asarray(arrays[name], dtype=np.float32)))


def fit_epochs(model: LifeEventGRU, holder: HolderData, epochs: int, seed: int) -> None:
    """`epochs` passes of the GRU's own mini-batch step over the holder's rows."""
    torch.set_num_threads(GRU_PARAMS["threads"])
    torch.manual_seed(seed)
    optimiser = torch.optim.Adam(
        model.parameters(), lr=GRU_PARAMS["lr"], weight_decay=GRU_PARAMS["weight_decay"]
    )
    order, weights = np.random.default_rng(seed), positive_weights(holder.labels)
    every = np.arange(len(holder.rows.c))
    for _ in range(epochs):
        batches = (order.permutation(every), weights)
        _epoch(model, optimiser, holder.padded, holder.rows, holder.statics, holder.labels, batches)


def heldout_auc(model: LifeEventGRU, heldout: HolderData) -> dict[str, object]:
    """ROC-AUC per event on the held-out rows that count for it, and their mean."""
    raw = predict_gru(model, heldout.padded, heldout.rows, heldout.statics)
    per_event: dict[str, float] = {}
    for k, event in enumerate(EVENTS):
        keep = ~np.isnan(heldout.labels[:, k])
        y = heldout.labels[keep, k]
        if 0 < y.sum() < len(y):
            per_event[event] = round(float(roc_auc_score(y, raw[keep, k])), 4)
    mean = float(np.mean(list(per_event.values()))) if per_event else float("nan")
    return {"auc": round(mean, 4), "per_event": per_event}

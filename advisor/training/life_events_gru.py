"""Training of the life-event GRU on monthly sequences (multi-label, masked where excluded)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import nn

from advisor.predict.life_event_features import Rows, gather_windows
from advisor.predict.life_events_net import LifeEventGRU, logits

GRU_PARAMS: dict[str, Any] = {
    "hidden": 32,
    "min_epochs": 3,
    "max_epochs": 30,
    "min_steps": 1500,  # small banks get more epochs so the network sees enough batches
    "batch": 256,
    "lr": 0.003,
    "weight_decay": 1e-5,
    "threads": 1,
    "seed": 7,
}


def _masked_bce(
    out: torch.Tensor, y: torch.Tensor, pos_weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Binary cross-entropy over the labels that count (NaN labels are excluded)."""
    keep = ~torch.isnan(y)
    loss = nn.functional.binary_cross_entropy_with_logits(
        out, torch.nan_to_num(y), weight=keep.float(), pos_weight=pos_weight, reduction="sum"
    )
    return loss / keep.sum().clamp(min=1)


def positive_weights(labels: np.ndarray) -> torch.Tensor:
    """Per-event weight on positives, sqrt(negatives/positives) capped at 20 (rare events)."""
    positives = np.nansum(labels, axis=0)
    negatives = np.sum(~np.isnan(labels), axis=0) - positives
    return torch.from_numpy(np.clip(np.sqrt(negatives / np.maximum(positives, 1)), 1, 20)).float()


def _standardise(model: LifeEventGRU, padded: np.ndarray, rows: Rows) -> None:
    """Channel mean and spread from a sample of training windows."""
    pick = np.random.default_rng(0).choice(len(rows.c), min(len(rows.c), 5000), replace=False)
    windows = gather_windows(padded, Rows(rows.c[pick], rows.r[pick]))
    flat = windows.reshape(-1, windows.shape[-1])
    model.mean.copy_(torch.from_numpy(flat.mean(0)))  # type: ignore[operator]
    model.std.copy_(torch.from_numpy(np.maximum(flat.std(0), 1e-3)))  # type: ignore[operator]


def predict_gru(
    model: LifeEventGRU, padded: np.ndarray, rows: Rows, statics: np.ndarray
) -> np.ndarray:
    """Raw logits [rows, events], gathering windows batch by batch."""
    out = []
    for start in range(0, len(rows.c), 4096):
        part = Rows(rows.c[start : start + 4096], rows.r[start : start + 4096])
        out.append(logits(model, gather_windows(padded, part), statics[start : start + 4096]))
    return np.concatenate(out)


def train_gru(
    padded: np.ndarray,
    rows: Rows,
    statics: np.ndarray,
    labels: np.ndarray,
    stop: np.ndarray,
) -> LifeEventGRU:
    """Fit on rows outside `stop`; keep the epoch with the lowest loss on `stop` rows."""
    torch.set_num_threads(GRU_PARAMS["threads"])
    torch.manual_seed(GRU_PARAMS["seed"])
    model = LifeEventGRU(padded.shape[-1], statics.shape[1], labels.shape[1], GRU_PARAMS["hidden"])
    fit = np.flatnonzero(~stop)
    _standardise(model, padded, Rows(rows.c[fit], rows.r[fit]))
    optimiser = torch.optim.Adam(
        model.parameters(), lr=GRU_PARAMS["lr"], weight_decay=GRU_PARAMS["weight_decay"]
    )
    check = np.flatnonzero(stop)
    best, best_loss = copy.deepcopy(model.state_dict()), float("inf")
    order = np.random.default_rng(GRU_PARAMS["seed"])
    weights = positive_weights(labels[fit])
    for _ in range(_epochs(len(fit))):
        batches = (order.permutation(fit), weights)
        _epoch(model, optimiser, padded, rows, statics, labels, batches)
        loss = _loss(model, padded, rows, statics, labels, check)
        if loss < best_loss:
            best, best_loss = copy.deepcopy(model.state_dict()), loss
    model.load_state_dict(best)
    return model


def _epochs(rows: int) -> int:
    """Enough epochs for min_steps mini-batches, within [min_epochs, max_epochs]."""
    steps = max(1, -(-rows // GRU_PARAMS["batch"]))
    wanted = -(-GRU_PARAMS["min_steps"] // steps)
    return int(np.clip(wanted, GRU_PARAMS["min_epochs"], GRU_PARAMS["max_epochs"]))


def _epoch(
    model: LifeEventGRU,
    optimiser: torch.optim.Optimizer,
    padded: np.ndarray,
    rows: Rows,
    statics: np.ndarray,
    labels: np.ndarray,
    batches: tuple[np.ndarray, torch.Tensor],
) -> None:
    """One pass over the training rows in shuffled mini-batches (positives weighted)."""
    model.train()
    order, weights = batches
    for start in range(0, len(order), GRU_PARAMS["batch"]):
        idx = order[start : start + GRU_PARAMS["batch"]]
        seq = torch.from_numpy(gather_windows(padded, Rows(rows.c[idx], rows.r[idx])))
        out = model(seq, torch.from_numpy(statics[idx]))
        loss = _masked_bce(out, torch.from_numpy(labels[idx]), weights)
        optimiser.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimiser.step()


def _loss(
    model: LifeEventGRU,
    padded: np.ndarray,
    rows: Rows,
    statics: np.ndarray,
    labels: np.ndarray,
    idx: np.ndarray,
) -> float:
    """Masked BCE on the given rows."""
    out = predict_gru(model, padded, Rows(rows.c[idx], rows.r[idx]), statics[idx])
    return float(_masked_bce(torch.from_numpy(out), torch.from_numpy(labels[idx])))

"""The life-event GRU (PyTorch): monthly sequences in, one logit per event out.

Imported only when a GRU is served or trained; the scorer imports it lazily.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class LifeEventGRU(nn.Module):
    """Standardise channels, a one-layer GRU, then a head on [last hidden state, statics]."""

    def __init__(self, channels: int, statics: int, events: int, hidden: int = 32) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))
        self.gru = nn.GRU(channels, hidden, batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden + statics, hidden), nn.ReLU())
        self.out = nn.Linear(hidden, events)

    def forward(self, seq: torch.Tensor, statics: torch.Tensor) -> torch.Tensor:
        """Logits [batch, events] for sequences [batch, months, channels] and statics."""
        mean, std = self.mean, self.std
        assert isinstance(mean, torch.Tensor) and isinstance(std, torch.Tensor)
        _, last = self.gru((seq - mean) / std)
        return self.out(self.head(torch.cat([last[-1], statics], dim=1)))  # type: ignore[no-any-return]


def logits(
    model: LifeEventGRU, seq: np.ndarray, statics: np.ndarray, batch: int = 2048
) -> np.ndarray:
    """Raw logits for numpy inputs, in batches, without gradients."""
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(seq), batch):
            s = torch.from_numpy(np.ascontiguousarray(seq[start : start + batch]))
            z = torch.from_numpy(np.ascontiguousarray(statics[start : start + batch]))
            out.append(model(s, z).numpy())
    return np.concatenate(out) if out else np.zeros((0, model.out.out_features), np.float32)

"""MiniLM sentence embeddings of training texts, cached under var/ by text digest."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

Embed = Callable[[list[str]], np.ndarray]


def digest(text: str) -> str:
    """The cache key of a text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cached_vectors(texts: list[str], embed: Embed, path: Path) -> np.ndarray:
    """One unit vector per text: cached ones read, the rest embedded and added to the cache."""
    cache = _read(path)
    keys = [digest(t) for t in texts]
    missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in cache))
    if missing:
        fresh = embed(missing)
        cache.update({digest(t): v for t, v in zip(missing, fresh, strict=True)})
        _write(path, cache)
    return np.stack([cache[k] for k in keys]).astype(np.float32)


def _read(path: Path) -> dict[str, np.ndarray]:
    """The cache, empty when absent or unreadable (it is only a cache)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    except (OSError, ValueError, KeyError):
        return {}


def _write(path: Path, cache: dict[str, np.ndarray]) -> None:
    """Write the cache atomically (temp file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp.npz")
    np.savez(tmp, keys=np.array(list(cache)), vectors=np.stack(list(cache.values())))
    os.replace(tmp, path)

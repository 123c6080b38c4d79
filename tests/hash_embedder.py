"""A small deterministic embedder for the fast test tier: hashed word and character-trigram counts.

Texts that share words land close together, so novelty, duplicates and
two-phase retrieval behave as they do with MiniLM on the short, literal keys
the tests use; it loads in no time and needs no model files.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

DIM = 384
_WORD = re.compile(r"\w+")


class HashEmbedder:
    """Stands in for `teammind.memory.embeddings.Embedder` (same `encode` contract: unit float32 rows)."""

    dim = DIM
    model_path = "hash"
    cache_size = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of strings; wrap a single text in a list")
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            for w in words:
                out[i, zlib.crc32(w.encode()) % DIM] += 1.0
                padded = f" {w} "
                for j in range(len(padded) - 2):
                    out[i, zlib.crc32(padded[j:j + 3].encode()) % DIM] += 0.3
            if not words:
                out[i, 0] = 1.0
            out[i] /= np.linalg.norm(out[i])
        return out

    def encode_many(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def clear_cache(self) -> None:
        pass

"""Two-phase retrieval with the Q-value reranker (MemRL, arXiv 2601.03192, section 3).

    Phase A  C = top-k1 { i : cos(q, z_i) > delta }          (Chroma HNSW; empty C -> no memory)
    Phase B  score_i = (1 - lam) * z_C(sim_i) + lam * clip(z_C(Q_i), -3, 3)
             return the top-k2 by score, or with probability epsilon a random k2 of C

z_C is the z-score over the candidate set C. When every Q in C is equal its
z-score is 0 and the order is pure similarity; `lam = 0` is the similarity-only
(RAG) baseline.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from teammind.memory.errors import InvalidFieldError
from teammind.memory.schema import Entry, validate_number


@dataclass(frozen=True)
class RetrievalConfig:
    """Retrieval hyperparameters; defaults follow MemRL unless noted.

    k1: Phase A candidate count (MemRL: 5-10).
    k2: entries returned after the rerank (MemRL: 3-5).
    delta: cosine floor of Phase A. MemRL sets it at the top-20% quantile of
        pairwise task similarity; `calibrate_delta` computes that from your
        tasks. 0.2 is that quantile measured on varied short agent-step keys
        with all-MiniLM-L6-v2 (unrelated sentences sit near 0.0-0.15).
    lam: weight of utility against similarity (MemRL: 0.5; 0 = similarity only).
    epsilon: probability of returning a random k2 of the candidates instead of
        the top-k2 (exploration while learning Q; 0 at inference).
    """

    k1: int = 10
    k2: int = 5
    delta: float = 0.2
    lam: float = 0.5
    epsilon: float = 0.0

    def __post_init__(self) -> None:
        for name in ("k1", "k2"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InvalidFieldError(name, f"is {v!r}", "pass a positive integer")
        if self.k2 > self.k1:
            raise InvalidFieldError("k2", f"({self.k2}) exceeds k1 ({self.k1})", "keep k2 <= k1")
        validate_number("delta", self.delta, lo=-1.0, hi=1.0)
        validate_number("lam", self.lam, lo=0.0, hi=1.0)
        validate_number("epsilon", self.epsilon, lo=0.0, hi=1.0)


@dataclass(frozen=True)
class Hit:
    """One retrieved entry with the numbers that ranked it."""

    entry: Entry
    similarity: float
    score: float


def zscore(values: np.ndarray) -> np.ndarray:
    """Standardise over the candidate set; a constant vector maps to zeros."""
    std = float(values.std())
    if values.size == 0 or std < 1e-12:
        return np.zeros_like(values, dtype=np.float64)
    return (values - values.mean()) / std


def rerank_scores(similarities: np.ndarray, qs: np.ndarray, lam: float) -> np.ndarray:
    """Phase B score: (1 - lam) * z(sim) + lam * clip(z(Q), -3, 3)."""
    return (1.0 - lam) * zscore(similarities) + lam * np.clip(zscore(qs), -3.0, 3.0)


def two_phase_select(
    candidates: Sequence[tuple[Entry, float]], config: RetrievalConfig, rng: random.Random | None = None
) -> list[Hit]:
    """Phase A threshold + Phase B rerank over Chroma's top-k1 (entry, cosine) pairs."""
    pool = [(e, s) for e, s in candidates if s > config.delta][: config.k1]
    if not pool:
        return []
    sims = np.array([s for _, s in pool], dtype=np.float64)
    qs = np.array([e.q for e, _ in pool], dtype=np.float64)
    scores = rerank_scores(sims, qs, config.lam)
    rng = rng or random
    if config.epsilon > 0 and rng.random() < config.epsilon:
        order = rng.sample(range(len(pool)), k=min(config.k2, len(pool)))
    else:
        # stable sort: ties keep Chroma's similarity order
        order = sorted(range(len(pool)), key=lambda i: -scores[i])[: config.k2]
    return [Hit(entry=pool[i][0], similarity=float(sims[i]), score=float(scores[i])) for i in order]


def calibrate_delta(embeddings: np.ndarray, quantile: float = 0.8) -> float:
    """MemRL's delta: the `quantile` of pairwise cosine similarity among task embeddings."""
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise InvalidFieldError("embeddings", f"need a (n>=2, dim) array, got shape {x.shape}", "embed at least two tasks")
    x = x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12)
    sims = x @ x.T
    upper = sims[np.triu_indices(len(x), k=1)]
    return float(np.quantile(upper, quantile))

"""Utility learning for the Q reranker (MemRL, arXiv 2601.03192, sec. 3.3) plus a Q-network.

Per-entry Q, kept in the bank:
    Monte-Carlo / EMA:  Q <- Q + alpha * (r - Q)                         MemRL, alpha = 0.3
    TD (stepwise):      Q <- Q + alpha * (r + gamma * max_a' Q' - Q)     MemRL, gamma (ours: 0.9)

Entries never used have no evidence, so a small Q-network over (query
embedding, entry embedding, similarity, entry statistics) is fitted on the
observed returns and predicts their Q. The two blend by visit count n:
    Q = (n * Q_entry + kappa * Q_net) / (n + kappa)                      ours, kappa = 2
"""

from __future__ import annotations

from collections.abc import Sequence
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from teammind.memory import MemoryBank
from teammind.memory.embeddings import EMBEDDING_DIM
from teammind.memory.errors import InvalidFieldError
from teammind.memory.schema import Namespace, validate_number

STAT_FEATURES = 3  # similarity, log1p(visits), log1p(total uses)
QNET_INPUT = 2 * EMBEDDING_DIM + STAT_FEATURES


def td_target(reward: float, next_max_q: float, gamma: float = 0.9) -> float:
    """r + gamma * max Q' (gamma = 0 gives the Monte-Carlo target)."""
    return validate_number("reward", reward) + validate_number("gamma", gamma, lo=0.0, hi=1.0) * validate_number("next_max_q", next_max_q)


def update_used_entries(bank: MemoryBank, namespace: Namespace, entry_ids: Sequence[str], reward: float, *,
                        next_max_q: float = 0.0, gamma: float = 0.0, alpha: float | None = None) -> dict[str, float]:
    """Move Q of every used entry toward the (TD) target; the bank does it atomically."""
    return bank.update_q(namespace, entry_ids, td_target(reward, next_max_q, gamma), alpha)


def blend(q_entry: float, visits: int, q_net: float, kappa: float = 2.0) -> float:
    """(n Q_entry + kappa Q_net) / (n + kappa): trust the entry's own Q as evidence accumulates."""
    return (visits * q_entry + kappa * q_net) / (visits + kappa)


class QNet(nn.Module):
    """(query, entry, stats) -> predicted Q in [-1, 1]."""

    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(QNET_INPUT, hidden), nn.Tanh(), nn.Linear(hidden, 1), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x).squeeze(-1)


def save_qnet(net: QNet, path: str | Path) -> Path:
    """Safetensors with the width in the metadata; written atomically."""
    from teammind.rl.checkpoint import save_module

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    save_module(net, tmp, {"hidden": int(net.layers[0].out_features), "input": QNET_INPUT})
    os.replace(tmp, path)
    return path


def load_qnet(path: str | Path) -> QNet:
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise InvalidFieldError("qnet", f"no Q-network at {path}", "train one with `teammind train` or pass the right file")
    state = load_file(str(path))
    if tuple(state["layers.0.weight"].shape)[1] != QNET_INPUT:
        raise InvalidFieldError("qnet", f"{path} expects {state['layers.0.weight'].shape[1]} inputs, not {QNET_INPUT}", "retrain it with this version")
    net = QNet(hidden=int(state["layers.0.weight"].shape[0]))
    net.load_state_dict(state)
    net.eval()
    return net


def qnet_features(query: np.ndarray, entry: np.ndarray, similarity: float, visits: int, uses: int) -> np.ndarray:
    stats = np.array([similarity, np.log1p(visits), np.log1p(uses)], dtype=np.float32)
    return np.concatenate([query.astype(np.float32), entry.astype(np.float32), stats])


@dataclass
class QNetTrainer:
    """Regress the Q-network on observed returns (MSE, AdamW; lr ours)."""

    net: QNet
    lr: float = 1e-3

    def __post_init__(self) -> None:
        self.optimizer = torch.optim.AdamW(self.net.parameters(), lr=self.lr)

    def fit(self, x: np.ndarray, returns: np.ndarray, epochs: int = 50) -> float:
        xt = torch.as_tensor(np.asarray(x, np.float32))
        yt = torch.as_tensor(np.asarray(returns, np.float32)).clamp(-1, 1)
        loss = torch.tensor(0.0)
        for _ in range(epochs):
            self.optimizer.zero_grad()
            loss = torch.mean((self.net(xt) - yt) ** 2)
            loss.backward()
            self.optimizer.step()
        return float(loss.detach())

    def predict(self, x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.net(torch.as_tensor(np.asarray(x, np.float32))).numpy()


def candidate_features(query: np.ndarray, candidates: Sequence[tuple[Any, float]], key_vectors: np.ndarray) -> np.ndarray:
    """Q-network inputs of (entry, similarity) candidates whose keys embed to `key_vectors`."""
    return np.stack([qnet_features(query, k, s, e.visits, sum(e.uses.values())) for (e, s), k in zip(candidates, key_vectors)])


class QUtility:
    """Phase-B utility for retrieval: each candidate's own Q blended with the Q-network's prediction.

    Plugs into `MemoryBank.search_by_vector(utility=...)` (and so into
    experience retrieval): entries with many visits keep their own Q, entries
    never used get the network's estimate.
    """

    def __init__(self, net: QNet, bank: MemoryBank, kappa: float = 2.0) -> None:
        self.net = net
        self.bank = bank
        self.kappa = kappa

    def __call__(self, query: np.ndarray, candidates: Sequence[tuple[Any, float]]) -> np.ndarray:
        x = candidate_features(query, candidates, self.bank.embed([e.key for e, _ in candidates]))
        with torch.no_grad():
            predicted = self.net(torch.as_tensor(x)).numpy()
        return np.array([blend(e.q, e.visits, float(p), self.kappa) for (e, _), p in zip(candidates, predicted)])


FAILURE_REWARD = -1.0  # MemRL: -1 (or 0)


def outcome_reward(summary: dict[str, Any], failure_reward: float = FAILURE_REWARD) -> float:
    """MemRL's reward: +1 on success, `failure_reward` (-1, or 0) on failure.

    With -1 an experience that has never been used (Q = 0) outranks every one
    whose uses failed more often than not; with 0 it ranks below every one that
    ever helped, so retrieval exploits what worked instead of trying each new one.
    """
    return 1.0 if summary["success"] >= 1.0 else float(failure_reward)


def learn_from_episode(bank: MemoryBank, namespace: Namespace, summary: dict[str, Any], *, alpha: float | None = None,
                       failure_reward: float = FAILURE_REWARD, lessons: bool = False) -> dict[str, Any]:
    """The driver's end-of-episode step: update Q of the experiences used, then write this episode back.

    Lessons used (ids `lesson-...`, graphs/experience.py) get the same
    Monte-Carlo update in their own namespace; `lessons=True` also writes this
    run's score-raising actions as new lessons. Returns the Q-network training
    samples of this episode: for each used experience, its features against
    the episode's intent and the reward.
    """
    from teammind.graphs.experience import is_lesson_id, lesson_namespace, write_lessons

    reward = outcome_reward(summary, failure_reward)
    all_used = list(summary.get("experiences_used", []))
    used = [i for i in all_used if not is_lesson_id(i)]
    used_lessons = [i for i in all_used if is_lesson_id(i)]
    if used_lessons:
        still_there = [e.id for e in bank.store_for("experience").get(lesson_namespace(namespace), used_lessons)]  # expired ones are skipped
        if still_there:
            update_used_entries(bank, lesson_namespace(namespace), still_there, reward, alpha=alpha)
    samples = []
    if used:
        found = bank.store_for("experience").get(tuple(namespace), used)  # in store order; expired ids are skipped
        if found:
            query = bank.embed([summary["intent"]])[0]
            keys = bank.embed([e.key for e in found])
            sims = keys @ query / (np.linalg.norm(keys, axis=1) * np.linalg.norm(query) + 1e-12)
            x = candidate_features(query, [(e, float(s)) for e, s in zip(found, sims)], keys)
            samples = [(row, reward) for row in x]
            update_used_entries(bank, namespace, [e.id for e in found], reward, alpha=alpha)
    entry = None
    if summary.get("intent"):
        from teammind.graphs.experience import write_back

        entry = write_back(bank, namespace, summary)
    written_lessons = [e.id for e in write_lessons(bank, namespace, summary)] if lessons else []
    return {"reward": reward, "used": used, "lessons_used": used_lessons, "samples": samples,
            "written": entry.id if entry else None, "lessons_written": written_lessons}

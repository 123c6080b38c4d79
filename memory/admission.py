"""The admission controller: which proposed steps enter the shared bank.

After every agent step the team proposes a candidate entry; a policy scores it
from features and admits or rejects it. Fixed baselines (`all`, `none`,
novelty threshold) and the learned policy share one interface, so graphs and
trainers never care which one runs.

Features follow Learning to Share (arXiv 2602.05965, section 3) with frozen
sentence embeddings instead of an LM: embeddings of the task and the key,
novelty (max cosine of the key to keys already in the namespace), tool kind,
value length in tokens, error flag, progress (step / max steps) and the number
of teams. The learned policy is a small MLP over those features rather than
LTS's 0.6B LoRA model: it decides in microseconds, which matters because it
runs on every step of every team.
"""

from __future__ import annotations

import json
import math
import os
import random
import tempfile
import zlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from teammind.memory.embeddings import EMBEDDING_DIM
from teammind.memory.errors import InvalidFieldError
from teammind.memory.schema import validate_number

TOOL_BUCKETS = 8  # tools hash into a fixed one-hot so unseen tools still map somewhere
SCALAR_FEATURES = ("max_similarity", "task_key_similarity", "log_tokens", "error", "step_fraction", "n_teams")
FEATURE_DIM = 2 * EMBEDDING_DIM + len(SCALAR_FEATURES) + TOOL_BUCKETS
_SCALARS_AT = 2 * EMBEDDING_DIM
# What the learned policy reads of the feature vector. "full": everything. "scalar": the scalar features only,
# no text and no tool name, so that a policy trained on some workloads can judge entries of one it never saw
# (ours: the full policy admitted 24 of 24 steps of an unseen game, at p 0.52-0.55 whatever their novelty).
FEATURE_SETS: dict[str, tuple[int, ...] | None] = {
    "full": None,
    "scalar": tuple(range(_SCALARS_AT, _SCALARS_AT + len(SCALAR_FEATURES))),
}


def tool_bucket(tool: str) -> int:
    """Stable bucket of a tool name (crc32, so it is the same in every process)."""
    return zlib.crc32(tool.strip().lower().encode()) % TOOL_BUCKETS


@dataclass(frozen=True)
class AdmissionFeatures:
    """What the controller sees about one candidate step."""

    task_embedding: np.ndarray
    key_embedding: np.ndarray
    max_similarity: float  # novelty signal: cosine to the closest key already stored
    task_key_similarity: float
    tool: str
    value_tokens: int
    error: bool
    step_index: int
    max_steps: int
    n_teams: int

    @property
    def step_fraction(self) -> float:
        return min(1.0, self.step_index / max(1, self.max_steps))

    def vector(self) -> np.ndarray:
        """Flat float32 vector of length FEATURE_DIM (the learned policy's input)."""
        scalars = np.array(
            [
                self.max_similarity,
                self.task_key_similarity,
                math.log1p(self.value_tokens) / 10.0,
                1.0 if self.error else 0.0,
                self.step_fraction,
                self.n_teams / 10.0,
            ],
            dtype=np.float32,
        )
        onehot = np.zeros(TOOL_BUCKETS, dtype=np.float32)
        onehot[tool_bucket(self.tool)] = 1.0
        return np.concatenate([self.task_embedding.astype(np.float32), self.key_embedding.astype(np.float32), scalars, onehot])

    def summary(self) -> dict[str, Any]:
        """The scalar part, JSON-able (for traces and trajectories)."""
        return {
            "max_similarity": round(float(self.max_similarity), 4),
            "task_key_similarity": round(float(self.task_key_similarity), 4),
            "tool": self.tool,
            "value_tokens": self.value_tokens,
            "error": self.error,
            "step_index": self.step_index,
            "max_steps": self.max_steps,
            "n_teams": self.n_teams,
        }


@dataclass(frozen=True)
class AdmissionDecision:
    admit: bool
    probability: float  # pi(admit | features)
    features: AdmissionFeatures

    @property
    def log_prob(self) -> float:
        """log pi(decision | features): what the policy-gradient trainer needs."""
        p = self.probability if self.admit else 1.0 - self.probability
        return math.log(max(p, 1e-12))


class AdmissionPolicy(ABC):
    """Scores a candidate; `decide` turns the probability into admit / reject."""

    name: ClassVar[str]

    @abstractmethod
    def admit_probability(self, features: AdmissionFeatures) -> float:
        """pi(admit | features) in [0, 1]."""

    def decide(self, features: AdmissionFeatures, *, sample: bool = False, rng: random.Random | None = None) -> AdmissionDecision:
        """Argmax at inference; Bernoulli sample while training (LTS)."""
        p = float(self.admit_probability(features))
        admit = (rng or random).random() < p if sample else p >= 0.5
        return AdmissionDecision(admit=admit, probability=p, features=features)


class AdmitAll(AdmissionPolicy):
    """Baseline: every step is shared (LTS's `all`: fast, but floods the bank)."""

    name = "all"

    def admit_probability(self, features: AdmissionFeatures) -> float:
        return 1.0


class AdmitNone(AdmissionPolicy):
    """Baseline: nothing is shared (memory-free parallel teams)."""

    name = "none"

    def admit_probability(self, features: AdmissionFeatures) -> float:
        return 0.0


class NoveltyThreshold(AdmissionPolicy):
    """Baseline: admit a step unless a stored key is already this similar.

    threshold: cosine above which a candidate counts as a duplicate. 0.9 keeps
    paraphrases of one step out while letting distinct steps in (MiniLM puts
    paraphrases at ~0.85-0.95). Error steps are admitted like others: a failed
    action is useful to other teams too.
    """

    name = "novelty"

    def __init__(self, threshold: float = 0.9) -> None:
        self.threshold = validate_number("threshold", threshold, lo=-1.0, hi=1.0)

    def admit_probability(self, features: AdmissionFeatures) -> float:
        return 1.0 if features.max_similarity < self.threshold else 0.0


class AdmissionNet(nn.Module):
    """MLP feature vector -> admit logit; it always takes the whole vector and reads its feature set's columns."""

    def __init__(self, input_dim: int = FEATURE_DIM, hidden: int = 64, features: str = "full") -> None:
        super().__init__()
        columns = FEATURE_SETS[features]
        self.features = features
        self.columns: torch.Tensor | None = None if columns is None else torch.tensor(columns, dtype=torch.long)
        width = input_dim if columns is None else len(columns)
        self.layers = nn.Sequential(nn.Linear(width, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.columns is not None:
            x = x.index_select(-1, self.columns)
        return self.layers(x).squeeze(-1)


class LearnedAdmission(AdmissionPolicy):
    """The trainable controller: a small MLP, randomly initialised, saved as safetensors.

    temperature: divides the logit when sampling in training (LTS samples at
        1.2); argmax decisions at inference do not depend on it.
    hidden: width of the two hidden layers.
    features: which part of the feature vector it reads (`FEATURE_SETS`): "full" or "scalar".
    The output bias starts at +2 (p(admit) ~ 0.88): LTS found most steps worth
    sharing (84.9% admitted), so learning starts near `all` and prunes.
    """

    name = "learned"

    def __init__(self, *, hidden: int = 64, temperature: float = 1.2, seed: int | None = None, init_admit_bias: float = 2.0,
                 features: str = "full") -> None:
        if features not in FEATURE_SETS:
            raise InvalidFieldError("features", f"is {features!r}", f"use one of {', '.join(FEATURE_SETS)}")
        if seed is not None:
            torch.manual_seed(seed)
        self.hidden = hidden
        self.features = features
        self.temperature = validate_number("temperature", temperature, lo=1e-3)
        self.net = AdmissionNet(FEATURE_DIM, hidden, features)
        with torch.no_grad():
            self.net.layers[-1].bias.fill_(init_admit_bias)
        self.net.eval()
        self.trained_on: str | None = None  # the environment spec it was trained on, kept in the checkpoint

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        return self.net(batch)

    def admit_probability(self, features: AdmissionFeatures) -> float:
        with torch.inference_mode():
            x = torch.from_numpy(features.vector()).unsqueeze(0)
            return float(torch.sigmoid(self.net(x))[0])

    def decide(self, features: AdmissionFeatures, *, sample: bool = False, rng: random.Random | None = None) -> AdmissionDecision:
        if not sample:
            return super().decide(features)
        with torch.inference_mode():
            logit = float(self.net(torch.from_numpy(features.vector()).unsqueeze(0))[0])
        p = 1.0 / (1.0 + math.exp(-logit / self.temperature))
        admit = (rng or random).random() < p
        return AdmissionDecision(admit=admit, probability=p, features=features)

    # -- checkpoints (safetensors + JSON config: never pickle) ----------------
    def save(self, path: str | Path) -> Path:
        """Atomically write weights and config to `path` (a .safetensors file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {"hidden": self.hidden, "temperature": self.temperature, "feature_dim": FEATURE_DIM, "features": self.features}
        if self.trained_on:
            config["trained_on"] = self.trained_on
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.close(fd)
        try:
            save_file({k: v.contiguous() for k, v in self.net.state_dict().items()}, tmp, metadata={"config": json.dumps(config)})
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path

    @classmethod
    def from_weights(cls, weights: dict[str, Any], *, temperature: float = 1.2) -> "LearnedAdmission":
        """A policy for a state dict of its net (numpy or torch arrays), its width and feature set read from the shapes."""
        first = weights["layers.0.weight"]
        hidden, width = int(first.shape[0]), int(first.shape[1])
        features = next((name for name, cols in FEATURE_SETS.items() if (FEATURE_DIM if cols is None else len(cols)) == width), None)
        if features is None:
            raise InvalidFieldError("weights", f"take {width} inputs, which no feature set has", "retrain with this version of teammind")
        policy = cls(hidden=hidden, temperature=temperature, features=features)
        policy.net.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in weights.items()})
        policy.net.eval()
        return policy

    @classmethod
    def load(cls, path: str | Path) -> "LearnedAdmission":
        path = Path(path)
        if not path.is_file():
            raise InvalidFieldError("path", f"no checkpoint at {path}", "train one with `teammind train` or pass the right file")
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            config = json.loads((f.metadata() or {}).get("config", "{}"))
        if config.get("feature_dim", FEATURE_DIM) != FEATURE_DIM:
            raise InvalidFieldError(
                "checkpoint", f"feature_dim {config.get('feature_dim')} != {FEATURE_DIM}", "retrain with this version of teammind"
            )
        features = str(config.get("features", "full"))
        if features not in FEATURE_SETS:
            raise InvalidFieldError("checkpoint", f"feature set {features!r} is unknown", "retrain with this version of teammind")
        policy = cls(hidden=int(config.get("hidden", 64)), temperature=float(config.get("temperature", 1.2)), features=features)
        policy.net.load_state_dict(load_file(str(path)))
        policy.net.eval()
        policy.trained_on = config.get("trained_on")
        return policy


POLICIES: dict[str, type[AdmissionPolicy]] = {p.name: p for p in (AdmitAll, AdmitNone, NoveltyThreshold, LearnedAdmission)}


def make_policy(spec: str) -> AdmissionPolicy:
    """Policy from an admission word: 'all', 'none', 'novelty[:0.9]', 'learned[:path.safetensors]' (no path: untrained)."""
    name, _, arg = spec.partition(":")
    if name not in POLICIES:
        raise InvalidFieldError("admission", f"unknown policy {spec!r}", f"use one of {sorted(POLICIES)}")
    if name == "novelty":
        return NoveltyThreshold(float(arg)) if arg else NoveltyThreshold()
    if name == "learned":
        return LearnedAdmission.load(arg) if arg else LearnedAdmission()
    return POLICIES[name]()

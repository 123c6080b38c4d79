"""The typed record of one episode: every step of every team, with its admission decision and its reads.

The graph writes one `StepRecord` per team step (graphs/team.py fills it,
graphs/parallel.py adds who wrote each entry read); the trace file is these
records' `to_dict` as JSON lines, followed by the run summary. Trainers rebuild
an `EpisodeRecord` from the trace, so what they learn from is exactly what the
run decided: the admission feature vector travels with its decision (float32,
base64), never through a side channel or by position.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from teammind.memory import AdmissionDecision


def encode_vector(vector: np.ndarray) -> str:
    """float32 bytes as base64: exact, and a quarter of the size of JSON numbers."""
    return base64.b64encode(np.ascontiguousarray(vector, dtype=np.float32).tobytes()).decode("ascii")


def decode_vector(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.float32).copy()


@dataclass(frozen=True)
class AdmissionRecord:
    """One admission decision: what was decided, how likely, and the exact input of the policy."""

    policy: str
    admit: bool
    probability: float  # pi(admit | c_t) at decision time
    log_prob: float  # log pi(z_t | c_t)
    features: dict[str, Any]  # the scalar features, readable (AdmissionFeatures.summary)
    vector: np.ndarray | None = None  # the policy's full input (AdmissionFeatures.vector)

    def to_dict(self) -> dict[str, Any]:
        out = {"policy": self.policy, "admit": self.admit, "probability": self.probability, "log_prob": self.log_prob,
               "features": self.features}
        if self.vector is not None:
            out["vector"] = encode_vector(self.vector)
        return out

    @classmethod
    def from_decision(cls, policy: str, decision: AdmissionDecision) -> "AdmissionRecord":
        """The record of a decision as the policy took it (its feature vector included)."""
        return cls(policy=policy, admit=decision.admit, probability=decision.probability, log_prob=decision.log_prob,
                   features=decision.features.summary(), vector=decision.features.vector())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AdmissionRecord":
        vector = data.get("vector")
        return cls(policy=str(data.get("policy", "")), admit=bool(data["admit"]), probability=float(data["probability"]),
                   log_prob=float(data["log_prob"]), features=dict(data.get("features") or {}),
                   vector=decode_vector(vector) if isinstance(vector, str) else None)


@dataclass(frozen=True)
class StepRecord:
    """One step of one team: the action, its outcome, the entries it read (with their writers) and its admission."""

    run_id: str
    round: int
    team: str
    step: int
    action: str
    key: str = ""
    observation: str = ""
    reward: float = 0.0
    score: float = 0.0
    done: bool = False
    success: bool = False
    error: str | None = None
    usage: dict[str, float] = field(default_factory=dict)
    experiences: tuple[str, ...] = ()
    read_writers: dict[str, str | None] = field(default_factory=dict)  # entry id read -> the team that wrote it
    entry_id: str | None = None
    admission: AdmissionRecord | None = None

    @property
    def reads(self) -> tuple[str, ...]:
        return tuple(self.read_writers)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "step", "run_id": self.run_id, "round": self.round, "team": self.team, "step": self.step, "action": self.action,
            "key": self.key, "reads": list(self.reads), "usage": self.usage, "error": self.error, "experiences": list(self.experiences),
            "observation": self.observation, "reward": self.reward, "score": self.score, "done": self.done, "success": self.success,
            "read_writers": self.read_writers,
        }
        if self.entry_id is not None:
            out["entry_id"] = self.entry_id
        if self.admission is not None:
            out["admission"] = self.admission.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StepRecord":
        writers = data.get("read_writers")
        if not isinstance(writers, dict):
            writers = {entry_id: None for entry_id in data.get("reads") or ()}
        adm = data.get("admission")
        return cls(
            run_id=str(data.get("run_id", "")), round=int(data["round"]), team=str(data["team"]), step=int(data["step"]),
            action=str(data.get("action", "")), key=str(data.get("key", "")), observation=str(data.get("observation", "")),
            reward=float(data.get("reward") or 0.0), score=float(data.get("score") or 0.0), done=bool(data.get("done", False)),
            success=bool(data.get("success", False)), error=data.get("error"), usage=dict(data.get("usage") or {}),
            experiences=tuple(data.get("experiences") or ()), read_writers=dict(writers), entry_id=data.get("entry_id"),
            admission=AdmissionRecord.from_dict(adm) if isinstance(adm, dict) else None,
        )


@dataclass(frozen=True)
class EpisodeRecord:
    """One episode: its steps in (round, team) order and the run summary (outcomes, score gains, experiences used, LLM usage)."""

    steps: tuple[StepRecord, ...]
    summary: dict[str, Any]

    @classmethod
    def from_records(cls, records: Iterable[dict[str, Any]]) -> "EpisodeRecord":
        """From trace lines; a round written twice (crash and resume) keeps its last copy. Needs the summary line."""
        steps: dict[tuple[int, str], dict[str, Any]] = {}
        summary = None
        for rec in records:
            if rec.get("type") == "summary":
                summary = {k: v for k, v in rec.items() if k != "type"}
            elif rec.get("type") == "step":
                steps[(int(rec["round"]), str(rec["team"]))] = rec
        if summary is None:
            raise ValueError("trace has no summary line (the run did not finish); resume it first")
        return cls(steps=tuple(StepRecord.from_dict(steps[k]) for k in sorted(steps)), summary=summary)

    def decisions(self) -> list[StepRecord]:
        """The steps that carry an admission decision."""
        return [s for s in self.steps if s.admission is not None]

"""The training view of episodes, built from the typed episode record (graphs/episode.py).

One *episode* is one run of K parallel teams on one task; one *team
trajectory* is what a single team did in it; a *group* is G episodes of the
same task (the unit Learning to Share normalises advantages over).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from teammind.graphs.episode import EpisodeRecord


@dataclass(frozen=True)
class AdmissionStep:
    """One admission decision of one team, with what credit assignment needs."""

    team: str
    step: int
    admit: bool
    probability: float  # pi(admit | c_t) at decision time
    log_prob: float  # log pi(z_t | c_t)
    entry_id: str | None
    value_tokens: int = 0
    readers: frozenset[str] = frozenset()  # teams other than the writer that read the entry
    reads_by_others: int = 0  # how many times other teams read it
    features: dict[str, Any] = field(default_factory=dict)
    vector: np.ndarray | None = field(default=None, compare=False)  # the policy's exact input at decision time


@dataclass
class TeamTrajectory:
    team: str
    steps: list[AdmissionStep]
    success: bool
    score: float
    env_steps: int  # environment steps; for your own teams, the tool calls it executed (answers from the bank are free)
    finished_first: bool = False
    preempted: bool = False  # stopped unfinished because another team had already succeeded ("first" aggregator)


@dataclass
class Episode:
    task: str
    seed: int
    teams: list[TeamTrajectory]
    success: bool = False  # the episode's outcome (the aggregator's answer)


def episode_from_trace(path: str | Path, task: str = "") -> Episode:
    """Rebuild an episode from a trace file: who read which admitted entry, and each team's outcome."""
    with Path(path).open(encoding="utf-8") as f:
        try:
            record = EpisodeRecord.from_records(json.loads(line) for line in f if line.strip())
        except ValueError as err:
            raise ValueError(f"trace: {path}: {err}") from None
    return episode_from_record(record, task)


def episode_from_record(record: EpisodeRecord, task: str = "") -> Episode:
    """The training view of an episode record: each team's admission decisions with who else read the entry, and outcomes."""
    readers: dict[str, set[str]] = defaultdict(set)
    read_counts: dict[str, int] = defaultdict(int)
    for step in record.steps:
        for entry_id, writer in step.read_writers.items():
            if writer and writer != step.team:
                readers[entry_id].add(step.team)
                read_counts[entry_id] += 1
    by_team: dict[str, list[AdmissionStep]] = defaultdict(list)
    for step in record.steps:
        adm = step.admission
        if adm is None:
            continue
        entry_id = step.entry_id
        by_team[step.team].append(
            AdmissionStep(
                team=step.team, step=step.step, admit=adm.admit, probability=adm.probability, log_prob=adm.log_prob,
                entry_id=entry_id, value_tokens=int(adm.features.get("value_tokens", 0)),
                readers=frozenset(readers.get(entry_id or "", set())), reads_by_others=read_counts.get(entry_id or "", 0),
                features=dict(adm.features), vector=adm.vector,
            )
        )
    summary = record.summary
    teams_summary = summary["teams"]
    # the first to finish: lock-step teams by steps taken, free-running teams by the order they finished
    winners = sorted((t.get("finish_order", t["steps"]), name) for name, t in teams_summary.items() if t["success"])
    first = winners[0][1] if winners else None
    teams = [
        TeamTrajectory(team=name, steps=by_team.get(name, []), success=bool(t["success"]), score=float(t["score"] or 0.0),
                       env_steps=int(t.get("tool_calls", t["steps"])), finished_first=name == first,
                       preempted=not t.get("done", True) and not t.get("error") and not t["success"])
        for name, t in sorted(teams_summary.items())
    ]
    return Episode(task=task or "/".join(summary.get("namespace", [])), seed=int(summary.get("seed", 0)), teams=teams,
                   success=float(summary.get("success", 0.0)) >= 1.0)

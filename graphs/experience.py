"""Episodic experience (MemRL): retrieved when an episode starts, written back when it ends.

An experience is an (intent -> experience text, Q) triplet in the bank's
experience store. The *intent* is what a team knows before acting: the task
and the first thing it sees, compacted to fit a key. The *experience* is one
line of JSON (`EXPERIENCE_VERSION`) that both LLM prompts and scripted agents
can use:

    success: {"v": 1, "outcome": "success", "plan": ["open door to north", ...],
              "steps": 7, "summary": "team-1 succeeded in 7 steps: ..."}
    failure: {"v": 1, "outcome": "failure", "plan": [], "steps": 30,
              "reflection": "no team succeeded in 30 steps; last actions ...; ..."}

A *lesson* is a one-action experience: a step of any team that raised the
score, stored under the action itself (`"put clean white socks in chest of
drawers"`) in the experience namespace's `lessons` sub-namespace. An episode's
intent says what a task looked like at the start; a lesson says what one
action achieved, so an agent can look one up by what it is about to do (a
twc team carrying "clean blue socks" asks for "put clean blue socks in") in
worlds it never saw. Lessons are written only where asked (`write_lessons`),
and episode-start retrieval never returns them (another namespace).

`ExperienceSource` names a store and its ranking for `ParallelTeams`
(your own teams): a run retrieves under its task's first words
(`task_intent`) and hands the hits to every team's `TeamMemory`.

The plan is the winning team's actions; the reflection is structured (what
was tried, where teams ended, errors), so it needs no LLM call. Retrieval is
MemRL's two-phase search (similarity floor, then Q rerank). Write-back is a
separate call so that whoever owns the experience store decides the order of
writes: the RL driver applies them in episode order, which keeps training
deterministic whatever the number of rollout workers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from teammind.agents.environment import INTENT_WORDS
from teammind.agents.memory_tools import EXPERIENCE_VERSION, ExperienceHit
from teammind.memory import Entry, InvalidFieldError, MemoryBank, Origin, RetrievalConfig
from teammind.memory.retrieval import Hit

# A utility estimator for Phase B: (query vector, candidates) -> Q per candidate.
# The Q-network of rl/q_learner.py plugs in here; None uses each entry's own Q.
UtilityFn = Callable[[np.ndarray, Sequence[tuple[Entry, float]]], np.ndarray]

@dataclass(frozen=True)
class ExperienceSource:
    """Where a run's teams find past experiences (MemRL), and how they are ranked.

    bank / namespace: the experience store (kind "experience" entries).
    retrieval: two-phase retrieval; k2=3 keeps prompts short (MemRL retrieves a handful).
    utility: Phase B's Q estimator (a Q-network); None ranks by each entry's own Q.
    """

    bank: MemoryBank
    namespace: tuple[str, ...]
    retrieval: RetrievalConfig = field(default_factory=lambda: RetrievalConfig(k2=3))
    utility: UtilityFn | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "namespace", tuple(self.namespace))
        if not self.namespace or not all(isinstance(p, str) and p for p in self.namespace):
            raise InvalidFieldError("experiences.namespace", f"is {self.namespace!r}", "pass a tuple of non-empty strings, e.g. ('my-app', 'experience')")

    def retrieve(self, intent: str) -> list[ExperienceHit]:
        return retrieve_experiences(self.bank, self.namespace, intent, self.retrieval, self.utility)


def task_intent(task: str) -> str:
    """The experience key of a task given as text: its first words (the bank's key limit)."""
    return " ".join(task.split()[:INTENT_WORDS])


def retrieve_experiences(
    bank: MemoryBank, namespace: Sequence[str], intent: str, config: RetrievalConfig, utility: UtilityFn | None = None
) -> list[ExperienceHit]:
    """Two-phase retrieval over the experience store; `utility` replaces each entry's Q in Phase B."""
    vector = bank.embed([intent])[0]
    hits: list[Hit] = bank.search_by_vector(tuple(namespace), vector, kind="experience", config=config, utility=utility)
    return [
        ExperienceHit(h.entry.id, h.entry.key, h.entry.value, round(h.similarity, 6), round(h.score, 6), round(h.entry.q, 6), h.entry.visits)
        for h in hits
    ]


def experience_record(summary: dict[str, Any], actions: dict[str, list[str]], max_plan: int = 60) -> tuple[str, float]:
    """(experience JSON, outcome reward) for a finished run: the winner's plan, or a structured reflection."""
    teams = summary["teams"]
    if summary["success"] >= 1.0:
        winner = summary["answer_team"]
        plan = list(actions.get(winner, []))[:max_plan]
        text = {
            "v": EXPERIENCE_VERSION, "outcome": "success", "plan": plan, "steps": len(plan),
            "summary": f"{winner} succeeded in {len(plan)} steps with {summary['env_steps']} environment steps over {len(teams)} teams",
        }
        return json.dumps(text, separators=(",", ":")), 1.0
    tried = []
    for t in sorted(teams):
        last = actions.get(t, [])[-3:]
        err = teams[t].get("error")
        score = teams[t].get("score")
        tried.append(f"{t}: {teams[t]['steps']} steps, score {score or 0.0:.2f}, last {last}" + (f", error {err}" if err else ""))
    text = {
        "v": EXPERIENCE_VERSION, "outcome": "failure", "plan": [], "steps": max((teams[t]["steps"] for t in teams), default=0),
        "reflection": "no team succeeded; " + "; ".join(tried),
    }
    return json.dumps(text, separators=(",", ":")), -1.0


def write_back(bank: MemoryBank, namespace: Sequence[str], summary: dict[str, Any]) -> Entry:
    """Store the finished run's experience under its intent (Q starts at 0, MemRL's Q_init)."""
    intent = summary.get("intent")
    if not intent:
        raise ValueError("summary: has no 'intent'; write back only summaries of runs made with experience retrieval")
    text, outcome = experience_record(summary, summary.get("actions", {}))
    origin = Origin(team=summary.get("answer_team", ""), agent="run", step=-1, episode=summary["run_id"])
    entry = Entry.new(namespace, intent, text, kind="experience", origin=origin, id=f"exp-{summary['run_id']}", outcome=outcome)
    bank.add(entry)
    return entry


LESSONS_SUFFIX = "lessons"  # lessons live under (*experience namespace, "lessons")


def lesson_namespace(namespace: Sequence[str]) -> tuple[str, ...]:
    """Where the lessons of an experience namespace live (apart, so episode-start retrieval never sees them)."""
    return (*tuple(namespace), LESSONS_SUFFIX)


def lesson_actions(summary: dict[str, Any]) -> list[str]:
    """Every distinct action that raised a team's score in this run, teams in id order, then step order."""
    out: list[str] = []
    actions, gains = summary.get("actions", {}), summary.get("gains", {})
    for team in sorted(gains):
        for index in gains[team]:
            if 0 <= index < len(actions.get(team, [])) and actions[team][index] not in out:
                out.append(actions[team][index])
    return out


def lesson_id(action: str) -> str:
    """One id per action text: a lesson learned again in another run is not stored twice (ten copies of
    "take handsoap" would crowd "put handsoap in sink" out of a top-k)."""
    return "lesson-" + hashlib.blake2b(" ".join(action.split()).encode(), digest_size=10).hexdigest()


def write_lessons(bank: MemoryBank, namespace: Sequence[str], summary: dict[str, Any]) -> list[Entry]:
    """Store each score-raising action of the run not already known as a one-step success under the action (Q starts at 0)."""
    lessons = lesson_namespace(namespace)
    actions = lesson_actions(summary)
    known = {e.id for e in bank.store_for("experience").get(lessons, [lesson_id(a) for a in actions])}
    entries = []
    for action in actions:
        if lesson_id(action) in known:
            continue
        text = json.dumps({"v": EXPERIENCE_VERSION, "outcome": "success", "plan": [action], "steps": 1,
                           "summary": f"raised the score in run {summary['run_id']}"}, separators=(",", ":"))
        origin = Origin(team="", agent="run", step=-1, episode=summary["run_id"])
        entry = Entry.new(lessons, " ".join(action.split()[:INTENT_WORDS]), text, kind="experience",
                          origin=origin, id=lesson_id(action), outcome=1.0)
        bank.add(entry)
        entries.append(entry)
    return entries


def is_lesson_id(entry_id: str) -> bool:
    return entry_id.startswith("lesson-")

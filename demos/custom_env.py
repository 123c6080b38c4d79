"""A worked example of bringing your own environment (docs/evaluation.md walks through it).

`Lockers`: a row of lockers, one holds a key; the seed decides which. A team
opens lockers one at a time and wins by taking the key. Teams search in
parallel, so a shared note "locker 7 is empty" saves another team a step.

Nothing in teammind names this module. Pass its path wherever an environment
spec goes, and the whole harness takes it:

    teammind run  --env demos.custom_env:Lockers --teams 3 --admission all
    teammind eval --env demos.custom_env:Lockers --seeds 0..19 --epochs 3
    python -c "from rl.envs import make_env; print(make_env('teammind.demos.custom_env:Lockers', n=8).reset(3))"

What a user module provides:

* a factory: an `Environment` subclass or a function returning one
  (keyword arguments of `make_env_factory(spec, **kw)` are passed to it);
* optionally `scripted_agent_factory(spec)`, returning `team id -> Agent`,
  which `--agent scripted` uses (`--agent llm` needs nothing).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from teammind.agents.base import Agent, AgentAction, StepContext
from teammind.agents.environment import Environment, Observation, StepResult

_EMPTY = re.compile(r"locker (\d+) is empty")


class Lockers(Environment):
    """`n` lockers, one key; actions ``open locker <i>`` and, once found, ``take key``."""

    name = "lockers"

    def __init__(self, n: int = 12) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 2:
            raise ValueError(f"n: {n!r} is not a locker count; pass an integer >= 2")
        self.n = n
        self.key_at = self.opened = -1
        self.won = False

    def _obs(self, text: str) -> Observation:
        actions = [f"open locker {i}" for i in range(self.n)]
        if self.opened == self.key_at and not self.won:
            actions.append("take key")
        return Observation(text, tuple(actions), f"Find the key in one of {self.n} lockers and take it.",
                           score=1.0 if self.won else 0.0, done=self.won, success=self.won)

    def reset(self, seed: int) -> Observation:
        self.key_at = random.Random(seed).randrange(self.n)
        self.opened, self.won = -1, False
        return self._obs(f"You stand before {self.n} closed lockers, numbered 0 to {self.n - 1}.")

    def step(self, action: str) -> StepResult:
        if action == "take key" and self.opened == self.key_at:
            self.won = True
            obs = self._obs("You take the key. Done!")
            return StepResult(obs, 1.0, True)
        match = re.fullmatch(r"open locker (\d+)", action)
        if match is None or not 0 <= int(match.group(1)) < self.n:
            return StepResult(self._obs(f"Nothing happens ({action!r} is not an action here)."), 0.0, False)
        self.opened = int(match.group(1))
        found = "You see a key inside." if self.opened == self.key_at else f"Locker {self.opened} is empty."
        return StepResult(self._obs(f"You open locker {self.opened}. {found}"), 0.0, False)

    def score(self) -> float:
        return 1.0 if self.won else 0.0


class LockerSearcher(Agent):
    """Opens lockers in its own team-seeded order, skipping those a teammate's shared note says are empty."""

    name = "locker-searcher"

    def __init__(self, team: str) -> None:
        digits = "".join(ch for ch in team if ch.isdigit())
        self.offset = int(digits) if digits else 0
        self.empty: set[int] = set()

    def observe(self, action: str, observation: Observation) -> None:
        self.empty.update(int(i) for i in _EMPTY.findall(observation.text.lower()))

    def act(self, ctx: StepContext) -> AgentAction:
        valid = ctx.observation.valid_actions
        if "take key" in valid:
            return AgentAction("take key", key="took the key")
        reads = []
        if ctx.memory is not None:  # shared notes are data: only the locker numbers are used
            for hit in ctx.memory.search_memory("locker is empty"):
                text = ctx.memory.read_memory(hit.id)
                if text and _EMPTY.search(text.lower()):
                    reads.append(hit.id)
                    self.empty.update(int(i) for i in _EMPTY.findall(text.lower()))
        n = sum(a.startswith("open locker") for a in valid)
        order = random.Random(self.offset).sample(range(n), n)  # each team its own search order; they overlap
        target = next((i for i in order if i not in self.empty), order[0])
        return AgentAction(f"open locker {target}", reads=reads)


def scripted_agent_factory(spec: str) -> Callable[[str], Agent]:
    """team id -> a fresh `LockerSearcher` (what `--agent scripted` uses for this environment)."""
    return LockerSearcher

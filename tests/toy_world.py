"""A tiny deterministic environment and agent for testing graph mechanics fast.

Corridor of `n` rooms; the coin sits in a room the seed decides. Teams start in
different rooms (by team index) and walk; a team that knows where the coin is
(from its own eyes or from a shared entry it read) walks straight there.
Real-environment tests use TextWorldExpress; this one isolates the graph.
"""

from __future__ import annotations

import json
import random

from teammind.agents.base import Agent, AgentAction, StepContext
from teammind.agents.environment import Environment, Observation, StepResult


class Corridor(Environment):
    name = "corridor"

    def __init__(self, n: int = 12, start: int = 0, fail_at_step: int | None = None) -> None:
        self.n, self.start, self.fail_at_step = n, start, fail_at_step
        self.pos = self.coin = self.steps = 0
        self.won = False

    def _obs(self) -> Observation:
        here = f"You are in room {self.pos}." + (" You see a coin." if self.pos == self.coin and not self.won else "")
        acts = ["go left", "go right"] + (["take coin"] if self.pos == self.coin and not self.won else [])
        return Observation(here, tuple(acts), "Find the coin and take it.", score=1.0 if self.won else 0.0, done=self.won, success=self.won)

    def reset(self, seed: int) -> Observation:
        self.coin = random.Random(seed).randrange(self.n)
        self.pos, self.steps, self.won = self.start % self.n, 0, False
        return self._obs()

    def step(self, action: str) -> StepResult:
        self.steps += 1
        if self.fail_at_step is not None and self.steps >= self.fail_at_step:
            raise RuntimeError("simulated environment crash")
        if action == "go left":
            self.pos = max(0, self.pos - 1)
        elif action == "go right":
            self.pos = min(self.n - 1, self.pos + 1)
        elif action == "take coin" and self.pos == self.coin:
            self.won = True
        obs = self._obs()
        return StepResult(obs, 1.0 if self.won else 0.0, obs.done)

    def score(self) -> float:
        return 1.0 if self.won else 0.0


class CorridorWalker(Agent):
    """Sweeps right then left; goes straight to the coin once it is known (own sight or shared memory)."""

    name = "corridor-walker"

    def __init__(self) -> None:
        self.coin: int | None = None
        self.direction = "go right"
        self.pos = 0

    def reset(self, observation: Observation) -> None:
        self.pos = int(observation.text.split("room ")[1].split(".")[0])
        if "coin" in observation.text:
            self.coin = self.pos

    def observe(self, action: str, observation: Observation) -> None:
        new_pos = int(observation.text.split("room ")[1].split(".")[0])
        if action.startswith("go") and new_pos == self.pos:
            self.direction = "go left" if self.direction == "go right" else "go right"
        self.pos = new_pos
        if "coin" in observation.text:
            self.coin = self.pos

    def act(self, ctx: StepContext) -> AgentAction:
        reads = []
        if self.coin is None and ctx.memory is not None:
            for hit in ctx.memory.search_memory("where is the coin"):
                if "coin in room" in hit.key:
                    value = ctx.memory.read_memory(hit.id)
                    reads.append(hit.id)
                    try:
                        self.coin = int(json.loads(value or "{}")["coin"])
                    except (ValueError, KeyError, TypeError):
                        continue
                    break
        if "take coin" in ctx.observation.valid_actions:
            action = "take coin"
        elif self.coin is not None:
            action = "go right" if self.coin > self.pos else "go left"
        else:
            action = self.direction
        sees = "coin" in ctx.observation.text
        key = f"saw the coin in room {self.pos}" if sees else f"room {self.pos} is empty, {action}"
        value = json.dumps({"coin": self.pos} if sees else {"empty": self.pos})
        return AgentAction(action=action, key=key, value=value, tool=action.split()[0], reads=reads)

"""The small, typed protocol every task environment speaks.

Graphs and agents only see this protocol; adapters over third-party suites
(TextWorldExpress, ...) live in `rl/envs/` and are looked up by name there.
Environments must be deterministic for a seed: checkpoint resume rebuilds an
environment by `reset(seed)` and replaying the actions taken so far.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Observation:
    """What an agent sees: the text, the actions it may take, and the task it is on."""

    text: str
    valid_actions: tuple[str, ...]
    task: str
    score: float = 0.0  # running score in [0, 1]
    done: bool = False
    success: bool = False
    free_text: bool = False
    """False: the action must be one of `valid_actions`. True: any non-empty string is an
    action (answers, tool calls); `valid_actions` then lists the action forms as templates,
    e.g. ``("answer <text>", "calculate <expression>")``, and the environment parses it."""


@dataclass(frozen=True)
class StepResult:
    observation: Observation
    reward: float
    done: bool
    info: dict[str, Any] = field(default_factory=dict)


INTENT_WORDS = 38  # the bank accepts keys of up to 40 words


def intent_text(task: str, observation: str, exits: str = "unknown") -> str:
    """A compact key for "this task, seen from here": task, first sentence, where one can go, then the rest of the view.

    Environments that know their exits (TextWorldExpress rooms) pass them; others key on task and view alone.
    """
    first = observation.strip().split(". ")[0] if observation else ""
    words = f"{task.strip()} | {first} | exits {exits or 'unknown'} | {observation.strip()}".split()
    return " ".join(words[:INTENT_WORDS])


class Environment(ABC):
    """reset(seed) -> Observation; step(action) -> StepResult; score() in [0, 1]."""

    name: str = "environment"
    _steps: int = 0  # subclasses count the steps of the current episode here (reset sets 0)
    _seed: int | None = None  # and keep the seed `reset` received

    @property
    def steps(self) -> int:
        """Steps taken in the current episode."""
        return self._steps

    @steps.setter
    def steps(self, value: int) -> None:  # environments written as `self.steps = 0` keep working
        self._steps = value

    @property
    def seed(self) -> int | None:
        """The seed of the current episode (None before the first reset)."""
        return self._seed

    @seed.setter
    def seed(self, value: int | None) -> None:
        self._seed = value

    @abstractmethod
    def reset(self, seed: int) -> Observation:
        """Start the episode that `seed` decides (the same world for every team of a task)."""

    @abstractmethod
    def step(self, action: str) -> StepResult:
        """Take one action (one of the observation's valid actions)."""

    @abstractmethod
    def score(self) -> float:
        """Final score of the episode so far, in [0, 1]."""

    def success(self) -> bool:
        return self.score() >= 1.0

    def intent(self, task: str, observation: str) -> str:
        """The key experiences of this task are stored and looked up under (see `intent_text`)."""
        return intent_text(task, observation)

    def close(self) -> None:
        """Release processes or files the environment holds."""

    def __enter__(self) -> "Environment":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


EnvFactory = Callable[[], Environment]

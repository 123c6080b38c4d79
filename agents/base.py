"""What an agent is: given the step context, pick the next action and say what the step was.

Each team owns one agent object per episode. `observe` feeds it every
transition (its own, live or replayed after a resume), so an agent's private
state can always be rebuilt from the team's action history.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from teammind.agents.environment import Observation
from teammind.agents.memory_tools import ExperienceHit, MemoryHit

if TYPE_CHECKING:
    from teammind.agents.team_memory import TeamMemory


@dataclass
class LLMUsage:
    """Accounting of LLM calls (summed per team and per run)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0

    def add(self, other: "LLMUsage") -> "LLMUsage":
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.latency_s += other.latency_s
        return self

    @classmethod
    def from_dict(cls, data: dict[str, float]) -> "LLMUsage":
        return cls(int(data.get("llm_calls", 0)), int(data.get("prompt_tokens", 0)), int(data.get("completion_tokens", 0)), float(data.get("llm_latency_s", 0.0)))

    def to_dict(self) -> dict[str, float]:
        return {"llm_calls": self.calls, "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens, "llm_latency_s": self.latency_s}


@dataclass
class StepContext:
    task: str
    observation: Observation
    step_index: int
    max_steps: int
    team: str
    memory: TeamMemory | None  # None when the run has no shared memory
    hits: list[MemoryHit] = field(default_factory=list)  # what the retrieve node found for this step
    history: list[tuple[str, str]] = field(default_factory=list)  # this team's (action, observation) so far
    experiences: list[ExperienceHit] = field(default_factory=list)  # past episodes retrieved at episode start (best first)
    n_teams: int = 1  # teams acting in parallel on this task (lets agents split work between them)
    lessons: Callable[[str], list[ExperienceHit]] | None = None  # query -> one-action lessons of past runs; None = off


@dataclass
class AgentAction:
    """The chosen action plus a cheap key for the step (no extra LLM call)."""

    action: str
    key: str = ""  # one-line summary; empty -> derived from the action and its result
    value: str = ""  # what the bank stores for this step; empty -> the action and its observation
    tool: str = ""  # tool kind for admission features (e.g. the action's verb)
    usage: LLMUsage = field(default_factory=LLMUsage)
    reads: list[str] = field(default_factory=list)  # shared entry ids read to choose this action
    experiences: list[str] = field(default_factory=list)  # experience ids relied on (their Q learns from the outcome)
    error: str | None = None  # set when the agent could not act (e.g. LLM endpoint down)


class Agent(ABC):
    """One acting agent of a team."""

    name: str = "agent"

    @abstractmethod
    def act(self, ctx: StepContext) -> AgentAction:
        """Choose the next action (must be one of ctx.observation.valid_actions)."""

    def observe(self, action: str, observation: Observation) -> None:  # noqa: B027 - optional hook
        """Learn from a transition (called for live and replayed steps)."""

    def reset(self, observation: Observation) -> None:  # noqa: B027 - optional hook
        """Start of an episode."""

    def describe_outcome(self, action: str, observation: Observation) -> tuple[str, str] | None:
        """The bank key and value for the step just taken, written once its result is known.

        Called right after `observe`. An agent that learns something from the
        result (a put that raised or lowered the score) returns it here, so the
        other teams can read it the very next round instead of one step later;
        None keeps the key and value the agent gave with its action.
        """
        return None


def step_key(action: str, result: str, max_words: int = 25) -> str:
    """A cheap key for a step: the action and the first sentence of its result."""
    first = result.strip().split("\n")[0]
    for stop in (". ", "! ", "? "):
        if stop in first:
            first = first.split(stop)[0]
            break
    words = f"{action}: {first}".split()
    return " ".join(words[:max_words])

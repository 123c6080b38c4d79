"""Live objects of a run that do not belong in checkpointed graph state.

Graph state holds only JSON (actions taken, scores, pending proposals), so a
checkpoint can be resumed in a new process. Environments, agents and memory
tools live here and are rebuilt on demand: an environment by `reset(seed)` and
replaying the team's actions, an agent by `observe`-ing the same transitions.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from teammind.agents.base import Agent
from teammind.agents.environment import EnvFactory, Environment, Observation
from teammind.agents.memory_tools import ExperienceHit
from teammind.agents.team_memory import TeamMemory
from teammind.graphs.config import RunConfig
from teammind.graphs.trace import TraceWriter
from teammind.memory import MemoryBank

if TYPE_CHECKING:
    from teammind.graphs.experience import UtilityFn

AgentFactory = Callable[[str], Agent]  # team id -> a fresh agent


@dataclass
class TeamRuntime:
    env: Environment
    agent: Agent
    memory: TeamMemory | None
    observation: Observation
    history: list[tuple[str, str]] = field(default_factory=list)


def observation_dict(obs: Observation) -> dict[str, Any]:
    return {"text": obs.text, "valid_actions": list(obs.valid_actions), "task": obs.task, "score": obs.score, "free_text": obs.free_text}


class RunRuntime:
    """Everything a parallel-teams graph needs besides its state."""

    def __init__(
        self,
        env_factory: EnvFactory,
        agent_factory: AgentFactory,
        config: RunConfig,
        *,
        bank: MemoryBank | None = None,
        run_id: str | None = None,
        task_name: str = "task",
        trace: TraceWriter | None = None,
        on_round: Callable[[int, dict[str, Any]], None] | None = None,
        aggregator_llm: Any = None,
        experience_bank: MemoryBank | None = None,
        utility: UtilityFn | None = None,
    ) -> None:
        if config.memory and bank is None:
            raise ValueError("bank: a run with memory needs a MemoryBank; pass bank=MemoryBank(...) or set memory=False")
        if config.aggregator == "llm" and aggregator_llm is None:
            raise ValueError("aggregator_llm: the llm aggregator needs an LLM client; pass aggregator_llm=LLMClient(...)")
        if config.experience_namespace is not None and experience_bank is None and bank is None:
            raise ValueError("experience_bank: experience retrieval needs a bank; pass experience_bank=MemoryBank(...)")
        self.aggregator_llm = aggregator_llm
        self.experience_bank = experience_bank if experience_bank is not None else bank
        self.utility = utility
        self.env_factory = env_factory
        self.agent_factory = agent_factory
        self.config = config
        self.bank = bank if config.memory else None
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.namespace = (config.tenant, f"{task_name}-s{config.seed}-{self.run_id}")
        self.trace = trace or TraceWriter(None)
        self.on_round = on_round
        self.clock = time.perf_counter()
        self._teams: dict[str, TeamRuntime] = {}
        self._lock = threading.Lock()

    def team(self, team: str, actions: list[str]) -> TeamRuntime:
        """The team's live objects, rebuilt by replaying `actions` if this process has none."""
        with self._lock:
            rt = self._teams.get(team)
        if rt is not None and len(rt.history) == len(actions):
            return rt
        if rt is not None:
            rt.env.close()
        env = self.env_factory()
        obs = env.reset(self.config.seed)
        agent = self.agent_factory(team)
        agent.reset(obs)
        history: list[tuple[str, str]] = []
        for action in actions:
            obs = env.step(action).observation
            agent.observe(action, obs)
            history.append((action, obs.text))
        memory = None
        if self.bank is not None:
            memory = TeamMemory(self.bank, self.namespace, team, self.config.retrieval, admission=self.config.admission,
                                task=obs.task, n_teams=self.config.teams, max_steps=self.config.max_steps, episode=self.run_id)
        rt = TeamRuntime(env=env, agent=agent, memory=memory, observation=obs, history=history)
        with self._lock:
            self._teams[team] = rt
        return rt

    def lesson_search(self) -> Callable[[str], list[ExperienceHit]] | None:
        """query -> lessons (two-phase retrieval in the experience namespace's `lessons`), or None when
        experiences are off. Rollouts only read lessons; the driver writes them (rl/q_learner.py)."""
        namespace, bank = self.config.experience_namespace, self.experience_bank
        if namespace is None or bank is None:
            return None
        from teammind.graphs.experience import lesson_namespace, retrieve_experiences

        lessons = lesson_namespace(namespace)

        def search(query: str) -> list[ExperienceHit]:
            return retrieve_experiences(bank, lessons, query, self.config.experience_retrieval, self.utility)

        return search

    def first_observation(self, team: str) -> Observation:
        return self.team(team, []).observation

    def close(self) -> None:
        with self._lock:
            teams, self._teams = list(self._teams.values()), {}
        for rt in teams:
            try:
                rt.env.close()
            except Exception:  # noqa: BLE001 - closing must not mask the run's result
                pass

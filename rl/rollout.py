"""One rollout = one parallel-teams episode, described by a small picklable spec.

The spec says everything that decides the episode (environment, seed, teams,
admission variant, retrieval variant, sampling seed, whether experiences are
retrieved), so the same spec gives the same episode in any process: that is
what lets Ray workers (rl/workers.py) run specs in any order and still give
the results of one in-process loop. Policy and Q-network weights travel as
plain numpy state dicts (`ray.put` once per update, never pickled files).

`RolloutContext` is what a worker process holds: an in-memory bank for the
episodes' shared step entries (each episode has its own namespace, dropped
afterwards), a handle on the experience store (the job's Chroma server, or a
local bank) that rollouts only *read*, and a cache of the current policy.
Writes to the experience store (Q updates, write-back) are the driver's job,
in episode order (rl/q_learner.py: `learn_from_episode`).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from teammind.agents.base import Agent
from teammind.agents.environment import Environment, Observation, StepResult
from teammind.graphs.config import RunConfig
from teammind.graphs.parallel import run_parallel_teams
from teammind.graphs.runtime import RunRuntime
from teammind.graphs.episode import EpisodeRecord
from teammind.graphs.experience import ExperienceSource
from teammind.graphs.parallel_teams import ParallelTeams
from teammind.graphs.tasks import Task
from teammind.graphs.trace import TraceWriter
from teammind.memory import AdmissionPolicy, AdmitAll, InvalidFieldError, LearnedAdmission, MemoryBank, NoveltyThreshold, RetrievalConfig
from teammind.suites import make_env_factory, scripted_agent_factory
from teammind.suites.registry import load_tasks, team_factory
from teammind.rl.trajectory import Episode, episode_from_record

ADMISSION_VARIANTS = ("none", "all", "novelty", "learned")
RETRIEVAL_VARIANTS = ("similarity", "q")
StateDict = dict[str, np.ndarray]


def workload(config: Any) -> dict[str, str | None]:
    """The user-team fields of a train or eval config (team, tasks, grader), as RolloutSpec keywords."""
    return {"team": config.team, "tasks": config.tasks, "grader": config.grader}


def workload_name(config: Any) -> str:
    """What a config plays, for checkpoints' provenance and titles: the env spec, or your team on its tasks."""
    return config.env if config.team is None else f"{config.team} on {config.tasks}"


def check_workload(team: str | None, tasks: str | None) -> None:
    """Your own team needs its task loader (and the other way round)."""
    if (team is None) != (tasks is None):
        raise InvalidFieldError("tasks", "team and tasks go together", "pass both team=module:factory and tasks=module:loader, or neither")


def retrieval_config(variant: str, *, k2: int = 5) -> RetrievalConfig:
    """`similarity` = MemRL's RAG baseline (lam 0); `q` = Q-reranked (MemRL lam 0.5)."""
    if variant not in RETRIEVAL_VARIANTS:
        raise InvalidFieldError("retrieval", f"is {variant!r}", f"use one of {RETRIEVAL_VARIANTS}")
    return RetrievalConfig(k2=k2, lam=0.0 if variant == "similarity" else 0.5)


@dataclass(frozen=True)
class RolloutSpec:
    """Everything that decides one episode (hashable, picklable, JSON-able)."""

    env: str
    seed: int
    episode_id: str  # unique and deterministic (e.g. "it3-s17-g2"); names the episode's namespace and entries
    teams: int = 3
    max_steps: int = 30
    admission: str = "learned"  # one of ADMISSION_VARIANTS
    retrieval: str = "q"  # one of RETRIEVAL_VARIANTS, for shared steps and experiences
    sample_admission: bool = False  # training samples at temperature 1.2; evaluation takes the argmax
    sample_seed: int = 0
    experience_namespace: tuple[str, ...] | None = None  # retrieve experiences at the start (MemRL); None = off
    agent: str = "scripted"
    novelty_threshold: float = 0.9
    team: str | None = None  # your own team, module:factory[:k=v]; `seed` then indexes the task list of `tasks`
    tasks: str | None = None  # module:loader[:k=v] returning the tasks of `team`
    grader: str | None = None  # module:function[:k=v] for tasks without a grader of their own
    cold_embedding_cache: bool = False  # empty the embedder's cache first, so no variant reuses another's embeddings of this world

    def __post_init__(self) -> None:
        check_workload(self.team, self.tasks)
        if self.admission not in ADMISSION_VARIANTS:
            raise InvalidFieldError("admission", f"is {self.admission!r}", f"use one of {ADMISSION_VARIANTS}")
        if self.retrieval not in RETRIEVAL_VARIANTS:
            raise InvalidFieldError("retrieval", f"is {self.retrieval!r}", f"use one of {RETRIEVAL_VARIANTS}")
        if self.agent not in ("scripted", "llm"):
            raise InvalidFieldError("agent", f"is {self.agent!r}", "use scripted or llm")


@dataclass
class RolloutResult:
    """What the driver needs from one episode."""

    spec: RolloutSpec
    summary: dict[str, Any]
    episode: Episode
    wall_s: float = 0.0

    def decision_batch(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(features, admitted, log-probs) of every decision, in episode/team/step order."""
        rows, admitted, log_probs = [], [], []
        for traj in self.episode.teams:
            for s in traj.steps:
                if s.vector is not None:
                    rows.append(s.vector)
                    admitted.append(s.admit)
                    log_probs.append(s.log_prob)
        if not rows:
            return np.zeros((0, 0), np.float32), np.zeros(0, bool), np.zeros(0, np.float32)
        return np.stack(rows), np.array(admitted, bool), np.array(log_probs, np.float32)


def state_dict_numpy(module: torch.nn.Module) -> StateDict:
    """Weights as numpy arrays (cheap to `ray.put`, no pickled torch objects)."""
    return {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


def weights_digest(state: StateDict) -> str:
    """A short content hash of a state dict (which weights a cached policy holds)."""
    h = hashlib.blake2b(digest_size=12)
    for name in sorted(state):
        h.update(name.encode())
        h.update(np.ascontiguousarray(state[name]).tobytes())
    return h.hexdigest()


def load_state_numpy(module: torch.nn.Module, state: StateDict) -> None:
    module.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})


class RolloutContext:
    """A process's live objects for running specs; one per Ray worker (or one in-process)."""

    def __init__(self, experience_bank: MemoryBank | None = None, llm: Any = None) -> None:
        self.step_bank = MemoryBank.ephemeral()
        self.envs = EnvPool()
        self.experience_bank = experience_bank
        self.llm = llm
        self._policy: LearnedAdmission | None = None
        self._policy_version: tuple[int, str] | None = None
        self._qnet: Any = None
        self._qnet_version: tuple[int, str] | None = None
        self._user_teams: dict[tuple[str | None, ...], tuple[Callable[[Any], Any], list[Task]]] = {}

    def close(self) -> None:
        self.envs.close()
        self.step_bank.close()

    def policy_for(self, spec: RolloutSpec, weights: StateDict | None, version: int) -> AdmissionPolicy | None:
        if spec.admission == "none":
            return None
        if spec.admission == "all":
            return AdmitAll()
        if spec.admission == "novelty":
            return NoveltyThreshold(spec.novelty_threshold)
        if weights is None:
            raise InvalidFieldError("weights", "missing for admission=learned", "pass the policy's state dict")
        key = (version, weights_digest(weights))  # the digest guards against two weight sets sent with one version
        if self._policy is None or self._policy_version != key:
            self._policy, self._policy_version = LearnedAdmission.from_weights(weights), key
        return self._policy

    def utility_for(self, spec: RolloutSpec, qnet_weights: StateDict | None, version: int) -> Any:
        if spec.retrieval != "q" or qnet_weights is None or self.experience_bank is None:
            return None
        from teammind.rl.q_learner import QNet, QUtility

        key = (version, weights_digest(qnet_weights))
        if self._qnet is None or self._qnet_version != key:
            net = QNet(hidden=int(qnet_weights["layers.0.weight"].shape[0]))
            load_state_numpy(net, qnet_weights)
            net.eval()
            self._qnet, self._qnet_version = QUtility(net, self.experience_bank), key
        return self._qnet

    def user_team(self, spec: RolloutSpec) -> tuple[Callable[[Any], Any], list[Task]]:
        """(make_team, tasks) of a spec with your own team, loaded once per process."""
        key = (spec.team, spec.tasks, spec.grader)
        if key not in self._user_teams:
            assert spec.team is not None
            self._user_teams[key] = (team_factory(spec.team), load_tasks(tasks=spec.tasks, grader=spec.grader))
        return self._user_teams[key]

    def _run_user_team(self, spec: RolloutSpec, policy: AdmissionPolicy | None, utility: Any = None) -> RolloutResult:
        """One task of your own team's task list (`spec.seed` is its index) as K parallel teams."""
        make_team, tasks = self.user_team(spec)
        if spec.seed >= len(tasks):
            raise InvalidFieldError("seeds", f"task index {spec.seed} is beyond the {len(tasks)} tasks of {spec.tasks}",
                                    f"use indices 0..{len(tasks) - 1}")
        if tasks[spec.seed].grade is None:
            raise InvalidFieldError("grader", f"task {tasks[spec.seed].id} of {spec.tasks} has no grader; learning needs outcomes",
                                    "return tasks with a grade function from the loader, or pass grader=module:function")
        experiences = None
        if spec.experience_namespace is not None and self.experience_bank is not None:
            experiences = ExperienceSource(self.experience_bank, spec.experience_namespace, retrieval_config(spec.retrieval, k2=3), utility)
        teams = ParallelTeams(make_team, k=spec.teams, bank=self.step_bank if policy is not None else None, admission=policy,
                              aggregator="first", retrieval=retrieval_config(spec.retrieval), max_steps=spec.max_steps,
                              sample_admission=spec.sample_admission, sample_seed=spec.sample_seed, experiences=experiences)
        started = time.perf_counter()
        result = teams.run(tasks[spec.seed], run_id=spec.episode_id)
        if policy is not None:
            self.step_bank.delete_namespace(tuple(result.summary["namespace"]))
        episode = episode_from_record(result.record, task=f"{spec.tasks}#{spec.seed}")
        return RolloutResult(spec=spec, summary=result.summary, episode=episode, wall_s=time.perf_counter() - started)

    def run(self, spec: RolloutSpec, weights: StateDict | None = None, version: int = 0,
            qnet_weights: StateDict | None = None, qnet_version: int = 0) -> RolloutResult:
        """Play one episode; the step namespace is dropped afterwards, the experience store is only read."""
        policy = self.policy_for(spec, weights, version)
        if spec.cold_embedding_cache:
            self.step_bank.embedder.clear_cache()
        if spec.team is not None:
            return self._run_user_team(spec, policy, self.utility_for(spec, qnet_weights, qnet_version))
        retrieval = retrieval_config(spec.retrieval)
        config = RunConfig(
            seed=spec.seed, teams=spec.teams, max_steps=spec.max_steps, memory=policy is not None,
            admission=policy or AdmitAll(), retrieval=retrieval, sample_admission=spec.sample_admission,
            sample_seed=spec.sample_seed, experience_namespace=spec.experience_namespace if self.experience_bank is not None else None,
            experience_retrieval=retrieval_config(spec.retrieval, k2=3),
        )
        trace = TraceWriter(None, keep=True)
        runtime = RunRuntime(
            self.envs.factory(spec.env), agent_factory(spec.agent, spec.env, self.llm), config,
            bank=self.step_bank if policy is not None else None, run_id=spec.episode_id, task_name=spec.env.replace(":", "-"),
            trace=trace, experience_bank=self.experience_bank, utility=self.utility_for(spec, qnet_weights, qnet_version),
        )
        started = time.perf_counter()
        try:
            summary = run_parallel_teams(runtime)
        finally:
            if policy is not None:
                self.step_bank.delete_namespace(runtime.namespace)
        episode = episode_from_record(EpisodeRecord.from_records(trace.records), task=f"{spec.env}#{spec.seed}")
        return RolloutResult(spec=spec, summary=summary, episode=episode, wall_s=time.perf_counter() - started)


class PooledEnv(Environment):
    """An environment borrowed from an `EnvPool`; `close` gives it back instead of stopping it.

    Starting a TextWorldExpress environment launches a JVM and loads the game
    (about 0.5 s); a rollout worker plays thousands of episodes, so it keeps
    its environments and only `reset`s them to the next seed.
    """

    def __init__(self, inner: Environment, pool: "EnvPool", spec: str) -> None:
        self.inner, self.pool, self.spec = inner, pool, spec
        self._returned = False

    def reset(self, seed: int) -> Observation:
        return self.inner.reset(seed)

    def step(self, action: str) -> StepResult:
        return self.inner.step(action)

    def score(self) -> float:
        return self.inner.score()

    def success(self) -> bool:
        return self.inner.success()

    def close(self) -> None:
        if not self._returned:
            self._returned = True
            self.pool.give_back(self.spec, self.inner)


class EnvPool:
    """Idle environments per spec, reused across episodes (reset to the episode's seed)."""

    def __init__(self) -> None:
        self._idle: dict[str, list[Environment]] = {}
        self._lock = threading.Lock()

    def factory(self, spec: str) -> Callable[[], Environment]:
        make = make_env_factory(spec)

        def borrow() -> Environment:
            with self._lock:
                idle = self._idle.get(spec, [])
                inner = idle.pop() if idle else None
            return PooledEnv(inner if inner is not None else make(), self, spec)

        return borrow

    def give_back(self, spec: str, env: Environment) -> None:
        with self._lock:
            self._idle.setdefault(spec, []).append(env)

    def close(self) -> None:
        with self._lock:
            envs = [e for idle in self._idle.values() for e in idle]
            self._idle.clear()
        for env in envs:
            env.close()


def agent_factory(agent: str, env: str, llm: Any = None) -> Any:
    """team id -> a fresh agent: the suite's scripted agent (`teammind.suites.scripted_agent_factory`) or the LLM agent."""
    if agent == "scripted":
        try:
            return scripted_agent_factory(env)
        except ValueError as err:
            raise InvalidFieldError("agent", str(err), "use agent llm, or an environment with a scripted agent") from err
    if llm is None:
        raise InvalidFieldError("llm", "missing for agent=llm", "pass an agents.llm.LLMClient to RolloutContext(llm=...)")
    from teammind.agents.llm_agent import LLMAgent

    def llm_agent(team: str) -> Agent:
        return LLMAgent.for_team(llm, team)

    return llm_agent

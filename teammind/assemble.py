"""From a `RunSpec` to the live objects of a run: admission policy, retrieval, bank, agents, LLM client, runtime.

The CLI, the benches and the demos build runs through here, so one spec always
means one set of objects.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from teammind.memory import AdmissionPolicy, AdmitAll, InvalidFieldError, MemoryBank, NoveltyThreshold, RetrievalConfig
from teammind.specs import RunSpec, check_admission

_NOTED: set[tuple[str, str]] = set()


def parse_admission(admission: str, env: str | None = None) -> AdmissionPolicy | None:
    """An admission word (none, all, novelty[:T], learned[:PATH]) -> policy; None means no shared memory."""
    name, _, arg = check_admission(admission).partition(":")
    if name == "none":
        return None
    if name == "all":
        return AdmitAll()
    if name == "novelty":
        return NoveltyThreshold(float(arg)) if arg else NoveltyThreshold()
    from teammind.memory import LearnedAdmission
    from teammind.suites.registry import LEARNED_FALLBACK, trained_admission_path

    path = Path(arg).expanduser() if arg else trained_admission_path(env)
    if path is None:
        _note_once(("fallback", env or ""), f"note: no admission policy was trained for {env or 'this workload'}, so learned uses the "
                   f"{LEARNED_FALLBACK} rule, which beat the policy trained to transfer on held-out workloads (docs/results.md); "
                   "pass learned:PATH for a policy of yours")
        return parse_admission(LEARNED_FALLBACK)
    if not path.is_file():
        raise InvalidFieldError("admission", f"no admission checkpoint at {path}", "pass learned:PATH to a .safetensors admission policy")
    policy = LearnedAdmission.load(path)
    if env is not None:
        warn_if_off_environment(path, env)
    return policy


def warn_if_off_environment(path: Path, env: str) -> None:
    """Say once on stderr when a learned policy runs on another environment than it was trained on."""
    from teammind.suites.registry import trained_on

    where = trained_on(path)
    if where is None or where == env:
        return
    team, on, tasks = env.partition(" on ")
    command = f"teammind train --team {team} --tasks {tasks}" if on else f"teammind train --env {env}"
    _note_once((str(path), env), f"note: admission policy {path} was trained on {where}, not {env}; it transfers at best "
                                 f"(train one with `{command}`)")


def _note_once(key: tuple[str, str], text: str) -> None:
    """Print `text` on stderr the first time `key` comes up in this process."""
    if key in _NOTED:
        return
    _NOTED.add(key)
    print(text, file=sys.stderr)


def parse_retrieval(retrieval: str) -> RetrievalConfig:
    if retrieval == "similarity":
        return RetrievalConfig(lam=0.0)
    if retrieval == "q":
        return RetrievalConfig()
    raise InvalidFieldError("retrieval", f"unknown value {retrieval!r}", "use similarity or q")


def make_llm_client(llm: str, model: str | None = None, api_key: str | None = None) -> Any:
    """An LLM client for `llm` (embedded starts the local server)."""
    from teammind.agents.llm import LLMClient
    from teammind.agents.llm_server import ensure_llm

    return LLMClient(ensure_llm(llm, model=model, api_key=api_key))


def make_chat_model(llm: str, model: str | None = None, api_key: str | None = None) -> Any:
    """A LangChain chat model for `llm` (embedded starts the local server): the judge of your own teams' answers."""
    from teammind.agents.chat_models import chat_model

    return chat_model(llm, model=model, api_key=api_key)


def make_agent_factory(spec: RunSpec) -> Any:
    """team name -> agent, for the spec's agent kind and team shape."""
    worker = _make_worker_factory(spec)
    if spec.team == "single":
        return worker
    from teammind.agents.orchestrator import OrchestratorWorkerAgent

    planner = make_llm_client(spec.llm, spec.model, spec.api_key)
    return lambda team: OrchestratorWorkerAgent(planner, worker(team))


def _make_worker_factory(spec: RunSpec) -> Any:
    if spec.agent == "scripted":
        from teammind.suites import scripted_agent_factory

        try:
            return scripted_agent_factory(spec.env)
        except ValueError as err:
            raise InvalidFieldError("agent", str(err), "use agent llm, or an environment with a scripted agent") from err
    from teammind.agents.llm_agent import LLMAgent

    client = make_llm_client(spec.llm, spec.model, spec.api_key)
    return lambda team: LLMAgent.for_team(client, team)


def user_team_factory(spec: RunSpec) -> Any:
    """`make_team(memory)` from the spec's module:factory[:k=v,...]."""
    from teammind.suites.registry import team_factory

    return team_factory(spec.team)


def user_tasks(spec: RunSpec) -> list[Any]:
    """The spec's task(s) as `Task`s, graded by the spec's grader where a task has none of its own."""
    from teammind.suites.registry import load_tasks

    return load_tasks(task=spec.task, tasks=spec.tasks, grader=spec.grader)


def open_bank(location: str | None, policy: AdmissionPolicy | None, retrieval: RetrievalConfig) -> tuple[MemoryBank | None, Any]:
    """(bank, temporary folder to clean up or None); no policy = no memory = no bank."""
    if policy is None:
        return None, None
    if location == "memory":
        return MemoryBank.ephemeral(admission=policy, retrieval=retrieval), None
    if location:
        return MemoryBank(location, admission=policy, retrieval=retrieval), None
    tmp = tempfile.TemporaryDirectory(prefix="teammind-bank-")
    return MemoryBank(tmp.name, admission=policy, retrieval=retrieval), tmp


def experience_namespace(env: str) -> tuple[str, ...]:
    """Experiences of one environment spec share a namespace across runs."""
    return ("teammind", "experience", env.replace(":", "-"))


def shipped_utility(bank: MemoryBank) -> Any:
    """The shipped Q-network blended with each experience's own Q (None if no network is shipped)."""
    from teammind.rl.q_learner import QUtility, load_qnet
    from teammind.suites.registry import shipped_qnet_path

    path = shipped_qnet_path()
    return QUtility(load_qnet(path), bank) if path.is_file() else None


def build_runtime(spec: RunSpec, *, bank: MemoryBank | None = None, experience_bank: MemoryBank | None = None,
                  run_id: str | None = None) -> Any:
    """The `RunRuntime` of `spec` over `bank` (None: memory-free teams) and an optional experience store."""
    from teammind.graphs.config import RunConfig
    from teammind.graphs.runtime import RunRuntime
    from teammind.graphs.trace import TraceWriter
    from teammind.suites import make_env_factory

    policy = parse_admission(spec.admission, spec.env)
    retrieval = parse_retrieval(spec.retrieval)
    config = RunConfig(
        seed=spec.seed, teams=spec.teams, max_steps=spec.max_steps, memory=policy is not None,
        admission=policy or AdmitAll(), retrieval=retrieval, aggregator=spec.aggregator,  # type: ignore[arg-type]
        experience_namespace=experience_namespace(spec.env) if experience_bank is not None else None,
        experience_retrieval=RetrievalConfig(k1=10, k2=3, lam=retrieval.lam),
    )
    env_factory = make_env_factory(spec.env)
    return RunRuntime(
        env_factory, make_agent_factory(spec), config, bank=bank, run_id=run_id or spec.run_id,
        task_name=spec.env.replace(":", "-"), trace=TraceWriter(spec.trace),
        aggregator_llm=make_llm_client(spec.llm, spec.model, spec.api_key) if spec.aggregator == "llm" else None,
        experience_bank=experience_bank,
        utility=shipped_utility(experience_bank) if experience_bank is not None and spec.retrieval == "q" else None,
    )

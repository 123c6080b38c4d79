"""The team subgraph: retrieve from the bank -> act, leaving the step's draft for the round's admission.

One invocation is one step of one team. The parallel-teams graph sends every
active team here once per round (LangGraph `Send`, run concurrently) and loops
rounds until the teams are done or out of steps. The step's entry is only
*drafted* here: the round's `admit` node judges every team's draft in one batch
and the `sync` node writes the admitted ones in team order, so every team in a
round reads the bank as it was when the round began and a run is
deterministic for its seed. The round's retrieval usually arrives with the
`Send` (searched in one batch when the previous round ended); a team searches
itself only when it did not.
"""

from __future__ import annotations

import random
import zlib
from operator import or_
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

from teammind.agents.base import AgentAction, LLMUsage, StepContext, step_key
from teammind.agents.environment import Observation
from teammind.agents.memory_tools import ExperienceHit, MemoryHit
from teammind.agents.team_memory import StepDraft
from teammind.graphs.runtime import RunRuntime, observation_dict


class TeamState(TypedDict, total=False):
    """A team's progress; JSON only (checkpointed)."""

    team: str
    actions: list[str]
    steps: int
    done: bool
    success: bool
    score: float
    error: str | None
    proposed: int
    admitted: int
    reads: list[str]
    usage: dict[str, float]
    observation: dict[str, Any]
    pending: dict[str, Any] | None  # this round's draft (key, value, tool), then the admitted entry the sync node writes
    record: dict[str, Any] | None  # this round's trace record
    experiences_used: list[str]  # experience ids the agent relied on
    gains: list[int]  # indices into `actions` of the steps that raised the score (written back as lessons)


def merge_teams(left: dict[str, TeamState] | None, right: dict[str, TeamState] | None) -> dict[str, TeamState]:
    """Reducer: each team's update replaces that team's state (teams never write each other's)."""
    return or_(left or {}, right or {})


class TeamStepState(TypedDict, total=False):
    team: str
    round_index: int
    teams: Annotated[dict[str, TeamState], merge_teams]
    hits: list[dict[str, Any]] | None  # the round's retrieval, searched with the other teams' (None: search here)
    start_experiences: list[dict[str, Any]]  # retrieved once when the episode started (not a parent key: no merge)


def new_team_state(team: str, observation: dict[str, Any]) -> TeamState:
    return TeamState(
        team=team, actions=[], steps=0, done=False, success=False, score=0.0, error=None, proposed=0, admitted=0,
        reads=[], usage=LLMUsage().to_dict(), observation=observation, pending=None, record=None, experiences_used=[],
        gains=[],
    )


def build_team_graph(runtime: RunRuntime) -> Any:
    """Compile the one-step team subgraph bound to a run's live objects."""
    config = runtime.config
    lesson_search = runtime.lesson_search()

    def retrieve(state: TeamStepState) -> dict[str, Any]:
        if state.get("hits") is not None:
            return {}
        team = state["team"]
        ts = state["teams"][team]
        rt = runtime.team(team, ts["actions"])
        if rt.memory is None:
            return {"hits": []}
        hits = rt.memory.search_memory(retrieval_query(ts["observation"]))
        return {"hits": [h.__dict__ for h in hits]}

    def act(state: TeamStepState) -> dict[str, Any]:
        team = state["team"]
        ts = dict(state["teams"][team])
        rt = runtime.team(team, ts["actions"])
        reads_before = len(rt.memory.reads) if rt.memory else 0
        ctx = StepContext(
            task=rt.observation.task, observation=rt.observation, step_index=ts["steps"], max_steps=config.max_steps,
            team=team, memory=rt.memory, hits=[MemoryHit(**h) for h in state.get("hits", [])], history=list(rt.history),
            experiences=[ExperienceHit(**e) for e in state.get("start_experiences", [])], n_teams=config.teams,
            lessons=lesson_search,
        )
        try:
            action = rt.agent.act(ctx)
        except Exception as err:  # noqa: BLE001 - an agent crash ends this team, not the run
            action = AgentAction(action="", error=f"agent crashed: {type(err).__name__}: {err}")
        usage = LLMUsage.from_dict(ts["usage"]).add(action.usage)
        reads = list(rt.memory.reads[reads_before:]) if rt.memory else []
        ts["usage"] = usage.to_dict()
        ts["reads"] = list(ts["reads"]) + reads
        if action.experiences:
            ts["experiences_used"] = sorted(set(ts.get("experiences_used", [])) | set(action.experiences))
        record: dict[str, Any] = {
            "type": "step", "run_id": runtime.run_id, "round": state["round_index"], "team": team, "step": ts["steps"],
            "action": action.action, "key": action.key, "reads": reads, "usage": action.usage.to_dict(), "error": action.error,
            "experiences": list(action.experiences),
        }
        if action.error is None and not _allowed(action.action, rt.observation):
            action.error = f"invalid action {action.action!r} (not among the valid actions)"
        if action.error is not None:
            ts.update(done=True, error=action.error, record={**record, "error": action.error}, pending=None)
            return {"teams": {team: ts}}
        try:
            result = rt.env.step(action.action)
        except Exception as err:  # noqa: BLE001 - a broken environment ends this team with the reason
            ts.update(done=True, error=f"environment failed: {type(err).__name__}: {err}", record=record, pending=None)
            return {"teams": {team: ts}}
        obs = result.observation
        rt.agent.observe(action.action, obs)
        rt.history.append((action.action, obs.text))
        rt.observation = obs
        ts["actions"] = list(ts["actions"]) + [action.action]
        ts["steps"] = ts["steps"] + 1
        score_before = float(ts["score"])
        ts["score"] = float(rt.env.score())
        if ts["score"] > score_before:
            ts["gains"] = [*ts.get("gains", []), ts["steps"] - 1]
        ts["success"] = bool(obs.success)
        ts["done"] = bool(result.done or obs.success or ts["steps"] >= config.max_steps)
        ts["observation"] = observation_dict(obs)
        outcome = rt.agent.describe_outcome(action.action, obs)
        if outcome is not None:
            key, value = outcome
        else:
            key = action.key.strip() or step_key(action.action, obs.text)
            value = action.value or f"action: {action.action}\nobservation: {obs.text}"
        record.update(observation=obs.text[:500], reward=result.reward, score=ts["score"], done=ts["done"], success=ts["success"], key=key)
        ts["record"] = record
        ts["pending"] = {"key": key, "value": value, "tool": action.tool or action.action.split(" ")[0]}
        return {"teams": {team: ts}}

    graph = StateGraph(TeamStepState)
    graph.add_node("retrieve", retrieve)
    graph.add_node("act", act)
    graph.add_edge(START, "retrieve")
    graph.add_edge("retrieve", "act")
    graph.add_edge("act", END)
    return graph.compile()


def retrieval_query(observation: dict[str, Any]) -> str:
    """What a team's step searches the bank for: the task and the first line of what it sees now."""
    text = observation.get("text") or ""
    return f"{observation['task']} {text.splitlines()[0] if text else ''}".strip()


def admission_draft(runtime: RunRuntime, team: str, ts: TeamState) -> tuple[StepDraft, random.Random]:
    """The round's draft of `team` as admission judges it, with the generator its sampled decision draws from."""
    step = ts["steps"] - 1
    pending = ts["pending"] or {}
    rt = runtime.team(team, ts["actions"])
    draft = StepDraft(key=pending["key"], value=pending["value"], tool=pending["tool"], step_index=step,
                      entry_id=f"{runtime.run_id}-{team}-{step}", agent=type(rt.agent).__name__, task=ts["observation"]["task"])
    config = runtime.config
    salt = f"{config.seed}/{team}/{step}" if config.sample_seed == 0 else f"{config.seed}/{config.sample_seed}/{team}/{step}"
    return draft, random.Random(zlib.crc32(salt.encode()))


def _allowed(action: str, observation: Observation) -> bool:
    """A free-text environment parses any non-empty action itself; others take only their listed actions."""
    if observation.free_text:
        return bool(action.strip())
    return action in observation.valid_actions

"""The parallel-teams graph: dispatch -> K teams in lock-step rounds (LangGraph `Send`) -> aggregate.

    dispatch --Send x K--> team (retrieve -> act -> propose) --> sync --Send x active--> team ...
                                                                  \\--> aggregate --> END

Every round the active teams run concurrently (one `Send` each; LangGraph runs
a superstep's tasks in parallel). The sync node then writes the round's
admitted entries to the bank in team order, appends the round to the trace and
decides whether another round is needed. With the SQLite checkpointer, each
superstep is checkpointed: an interrupted run resumes from its thread id.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from teammind.graphs.experience import retrieve_experiences
from teammind.graphs.runtime import RunRuntime, observation_dict
from teammind.graphs.team import TeamState, build_team_graph, merge_teams, new_team_state
from teammind.memory import Entry, EntryNotFoundError

SUMMARY_KEYS = ("success", "env_steps", "llm_calls", "prompt_tokens", "completion_tokens", "wall_s", "admitted", "read_by_other")


class RunState(TypedDict, total=False):
    teams: Annotated[dict[str, TeamState], merge_teams]
    round: int
    wall_s: float
    read_by_other: list[str]  # distinct shared entries read by a team other than their writer
    intent: str  # the episode's experience key (task + first view), when experiences are on
    experiences: list[dict[str, Any]]  # experiences retrieved at the start, best first
    summary: dict[str, Any]


def team_ids(k: int) -> list[str]:
    return [f"team-{i}" for i in range(k)]


def build_parallel_graph(runtime: RunRuntime, checkpointer: BaseCheckpointSaver | None = None) -> Any:
    """Compile the parallel-teams graph for one task, bound to the run's live objects."""
    config = runtime.config

    def dispatch(state: RunState) -> dict[str, Any]:
        if state.get("teams"):
            return {}  # resumed
        teams = {t: new_team_state(t, observation_dict(runtime.first_observation(t))) for t in team_ids(config.teams)}
        out: dict[str, Any] = {"teams": teams, "round": 0, "wall_s": 0.0, "read_by_other": [], "intent": "", "experiences": []}
        if config.experience_namespace is not None and runtime.experience_bank is not None:
            first_team = runtime.team(team_ids(1)[0], [])
            out["intent"] = first_team.env.intent(first_team.observation.task, first_team.observation.text)
            hits = retrieve_experiences(runtime.experience_bank, config.experience_namespace, out["intent"], config.experience_retrieval, runtime.utility)
            out["experiences"] = [h.to_dict() for h in hits]
        runtime.clock = time.perf_counter()
        return out

    def fan_out(state: RunState) -> list[Send] | str:
        teams = state["teams"]
        if config.aggregator == "first" and any(t["success"] for t in teams.values()):
            return "aggregate"
        active = [t for t in sorted(teams) if not teams[t]["done"]]
        if not active:
            return "aggregate"
        experiences = state.get("experiences", [])
        return [Send("team", {"team": t, "round_index": state["round"], "teams": {t: teams[t]}, "start_experiences": experiences}) for t in active]

    def sync(state: RunState) -> dict[str, Any]:
        teams = {t: dict(s) for t, s in state["teams"].items()}
        ordered = sorted(t for t in teams if teams[t].get("record"))
        if runtime.bank is not None:
            entries = [Entry.from_dict(teams[t]["pending"]["entry"]) for t in ordered if teams[t].get("pending")]
            if entries:
                runtime.bank.add(entries)  # ids are deterministic: re-running a round after a crash is idempotent
        read_by_other = set(state.get("read_by_other", []))
        records = []
        for t in ordered:
            record = dict(teams[t]["record"])
            writers = {}
            for entry_id in record.get("reads", []):
                writer = _writer(runtime, entry_id)
                writers[entry_id] = writer
                if writer and writer != t:
                    read_by_other.add(entry_id)
            record["read_writers"] = writers
            records.append(record)
            teams[t]["record"] = None
            teams[t]["pending"] = None
        runtime.trace.write(records)
        now = time.perf_counter()
        wall = state.get("wall_s", 0.0) + (now - runtime.clock)
        runtime.clock = now
        if runtime.on_round is not None:
            runtime.on_round(state["round"], teams)
        return {"teams": teams, "round": state["round"] + 1, "wall_s": wall, "read_by_other": sorted(read_by_other)}

    def aggregate(state: RunState) -> dict[str, Any]:
        summary = summarize(runtime, state)
        runtime.trace.write([{"type": "summary", **summary}])
        return {"summary": summary}

    graph = StateGraph(RunState)
    graph.add_node("dispatch", dispatch)
    graph.add_node("team", build_team_graph(runtime))
    graph.add_node("sync", sync)
    graph.add_node("aggregate", aggregate)
    graph.add_edge(START, "dispatch")
    graph.add_conditional_edges("dispatch", fan_out, ["team", "aggregate"])
    graph.add_edge("team", "sync")
    graph.add_conditional_edges("sync", fan_out, ["team", "aggregate"])
    graph.add_edge("aggregate", END)
    return graph.compile(checkpointer=checkpointer)


def _writer(runtime: RunRuntime, entry_id: str) -> str:
    if runtime.bank is None:
        return ""
    try:
        return runtime.bank.get(runtime.namespace, entry_id).origin.team
    except EntryNotFoundError:
        return ""


def summarize(runtime: RunRuntime, state: RunState) -> dict[str, Any]:
    """The run summary (the keys of `teammind run --json`)."""
    teams = state["teams"]
    config = runtime.config
    ordered = sorted(teams)
    if config.aggregator == "majority":
        votes = Counter(teams[t]["success"] for t in ordered)
        success = votes[True] > votes[False]
        chosen = next((t for t in ordered if teams[t]["success"] == success), ordered[0])
    elif config.aggregator == "llm":
        chosen, aggregator_note = llm_pick(runtime, state)
        success = teams[chosen]["success"]
    elif config.aggregator == "best":
        chosen = max(ordered, key=lambda t: (teams[t]["score"], -teams[t]["steps"]))
        success = teams[chosen]["success"]
    else:  # first successful team (fewest steps; lock-step rounds make that the first to finish)
        winners = sorted((teams[t]["steps"], t) for t in ordered if teams[t]["success"])
        chosen = winners[0][1] if winners else max(ordered, key=lambda t: teams[t]["score"])
        success = bool(winners)
    usage = {k: sum(teams[t]["usage"][k] for t in ordered) for k in ("llm_calls", "prompt_tokens", "completion_tokens")}
    if config.aggregator == "llm":
        usage = {k: usage[k] + aggregator_note["usage"].get(k, 0) for k in usage}
    return {
        "run_id": runtime.run_id,
        "namespace": list(runtime.namespace),
        "seed": config.seed,
        "success": 1.0 if success else 0.0,
        "score": float(teams[chosen]["score"]),
        "answer_team": chosen,
        "env_steps": sum(teams[t]["steps"] for t in ordered),
        "llm_calls": int(usage["llm_calls"]),
        "prompt_tokens": int(usage["prompt_tokens"]),
        "completion_tokens": int(usage["completion_tokens"]),
        "wall_s": round(float(state.get("wall_s", 0.0)), 3),
        "proposed": sum(teams[t]["proposed"] for t in ordered),
        "admitted": sum(teams[t]["admitted"] for t in ordered),
        "read_by_other": len(state.get("read_by_other", [])),
        "reads": sum(len(teams[t]["reads"]) for t in ordered),
        "rounds": int(state.get("round", 0)),
        "admission": config.admission.name if config.memory else "none",
        "teams": {t: {**{k: teams[t][k] for k in ("steps", "success", "score", "error", "admitted", "done")}, "usage": teams[t]["usage"]} for t in ordered},
        "actions": {t: list(teams[t]["actions"]) for t in ordered},
        "gains": {t: list(teams[t].get("gains", [])) for t in ordered},
        "intent": state.get("intent", ""),
        "experiences_retrieved": [e["id"] for e in state.get("experiences", [])],
        "experiences_used": sorted({e for t in ordered for e in teams[t].get("experiences_used", [])}),
        **({"aggregator_error": aggregator_note["error"]} if config.aggregator == "llm" and aggregator_note["error"] else {}),
    }


def llm_pick(runtime: RunRuntime, state: RunState) -> tuple[str, dict[str, Any]]:
    """Ask the aggregator LLM which team's final state answers the task (no scores shown).

    Falls back to the highest-scoring team, with the reason, if the LLM fails or names no team.
    """
    import json

    from teammind.agents.llm import LLMError

    teams = state["teams"]
    ordered = sorted(teams)
    fallback = max(ordered, key=lambda t: (teams[t]["score"], -teams[t]["steps"]))
    lines = []
    for t in ordered:
        s = teams[t]
        last = s["actions"][-1] if s["actions"] else "(none)"
        lines.append(f"{t}: {s['steps']} steps, last action {last!r}, final observation: {s['observation']['text'][:300]!r}")
    task = next(iter(teams.values()))["observation"]["task"]
    schema = {"type": "object", "properties": {"team": {"type": "string", "enum": ordered}}, "required": ["team"]}
    messages = [
        {"role": "system", "content": "You judge which team completed the task. Reply with JSON {\"team\": <team id>}."},
        {"role": "user", "content": f"Task: {task}\n" + "\n".join(lines)},
    ]
    assert runtime.aggregator_llm is not None
    try:
        reply = runtime.aggregator_llm.chat(messages, json_schema=schema, max_tokens=30, team="aggregator")
    except LLMError as err:
        return fallback, {"usage": err.usage.to_dict(), "error": f"aggregator LLM failed: {err.reason}; picked the best score"}
    usage = reply.usage.to_dict()
    try:
        pick = str(json.loads(reply.text)["team"])
    except (ValueError, KeyError, TypeError):
        pick = ""
    if pick not in teams:
        return fallback, {"usage": usage, "error": f"aggregator LLM named no team ({reply.text[:80]!r}); picked the best score"}
    return pick, {"usage": usage, "error": None}


@contextmanager
def sqlite_checkpointer(path: str | Path) -> Iterator[SqliteSaver]:
    """LangGraph's SQLite checkpointer on a file (the folder is created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False)
    try:
        yield SqliteSaver(conn)
    finally:
        conn.close()


def run_parallel_teams(
    runtime: RunRuntime,
    *,
    checkpoint_path: str | Path | None = None,
    resume: bool = False,
    on_update: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run (or resume) one task; returns the summary. Thread id = the runtime's run id."""
    cfg = {"configurable": {"thread_id": runtime.run_id}, "recursion_limit": 4 * runtime.config.max_steps + 20}
    try:
        if checkpoint_path is None:
            graph = build_parallel_graph(runtime)
            return _drive(graph, {}, cfg, on_update)
        with sqlite_checkpointer(checkpoint_path) as saver:
            graph = build_parallel_graph(runtime, saver)
            has_checkpoint = graph.get_state(cfg).values != {}
            if resume and not has_checkpoint:
                raise ValueError(f"resume: no checkpoint for run {runtime.run_id!r} in {checkpoint_path}; drop --resume to start it")
            return _drive(graph, None if (resume or has_checkpoint) else {}, cfg, on_update)
    finally:
        runtime.close()


def _drive(graph: Any, inputs: dict[str, Any] | None, cfg: dict[str, Any], on_update: Callable[[dict[str, Any]], None] | None) -> dict[str, Any]:
    final: dict[str, Any] = {}
    for values in graph.stream(inputs, cfg, stream_mode="values"):
        final = values
        if on_update is not None:
            on_update(values)
    if "summary" not in final:
        final = graph.get_state(cfg).values
    return final["summary"]

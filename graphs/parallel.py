"""The parallel-teams graph: dispatch -> K teams in lock-step rounds (LangGraph `Send`) -> aggregate.

    dispatch --Send x K--> team (retrieve -> act) --> admit --> sync --Send x active--> team ...
                                                                   \--> aggregate --> END

Every round the active teams run concurrently (one `Send` each; LangGraph runs
a superstep's tasks in parallel). The admit node then judges every team's
draft in one batch (one embedding call, one novelty query: `evaluate_many`),
and the sync node writes the admitted entries in team order with the vectors
they were judged by, appends the round to the trace, searches the bank for
every team's next step in one batch and decides whether another round is
needed. With the SQLite checkpointer each superstep is checkpointed, the
round's decisions before its writes: an interrupted run resumes from its
thread id and decides nothing twice.
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
from teammind.agents.memory_tools import MemoryHit
from teammind.graphs.episode import AdmissionRecord, decode_vector, encode_vector
from teammind.graphs.team import TeamState, admission_draft, build_team_graph, merge_teams, new_team_state, retrieval_query
from teammind.memory import Entry, EntryNotFoundError
from teammind.memory.bank import SearchRequest

SUMMARY_KEYS = ("success", "env_steps", "llm_calls", "prompt_tokens", "completion_tokens", "wall_s", "admitted", "read_by_other")


class RunState(TypedDict, total=False):
    teams: Annotated[dict[str, TeamState], merge_teams]
    round: int
    wall_s: float
    read_by_other: list[str]  # distinct shared entries read by a team other than their writer
    intent: str  # the episode's experience key (task + first view), when experiences are on
    experiences: list[dict[str, Any]]  # experiences retrieved at the start, best first
    next_hits: dict[str, list[dict[str, Any]]]  # the next round's retrieval per team, searched in one batch
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
        out["next_hits"] = round_hits(runtime, teams)
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
        hits = state.get("next_hits") or {}
        return [Send("team", {"team": t, "round_index": state["round"], "teams": {t: teams[t]}, "start_experiences": experiences,
                              "hits": hits.get(t)}) for t in active]

    def admit(state: RunState) -> dict[str, Any]:
        """Judge the round's drafts together, against the bank as the round found it; nothing is written yet."""
        teams = state["teams"]
        drafted = sorted(t for t in teams if (teams[t].get("pending") or {}).get("key") is not None)
        if runtime.bank is None or not drafted:
            return {}
        judged = {t: dict(teams[t]) for t in drafted}
        drafts = [admission_draft(runtime, t, judged[t]) for t in drafted]
        memories = [runtime.team(t, judged[t]["actions"]).memory for t in drafted]
        proposals = runtime.bank.evaluate_many([m.candidate(d) for m, (d, _) in zip(memories, drafts)], config.admission,  # type: ignore[union-attr]
                                               sample=config.sample_admission, rngs=[rng for _, rng in drafts])
        for t, proposal in zip(drafted, proposals):
            ts, d = judged[t], proposal.decision
            ts["proposed"] = ts["proposed"] + 1
            ts["admitted"] = ts["admitted"] + (1 if d.admit else 0)
            ts["pending"] = {"entry": proposal.entry.to_dict(), "vector": encode_vector(d.features.key_embedding),
                             "info": {"policy": proposal.policy, "probability": round(float(d.probability), 6)}} if d.admit else None
            ts["record"] = {**(ts.get("record") or {}), "entry_id": proposal.entry.id,
                            "admission": AdmissionRecord.from_decision(config.admission.name, d).to_dict()}
        return {"teams": judged}

    def sync(state: RunState) -> dict[str, Any]:
        teams = {t: dict(s) for t, s in state["teams"].items()}
        ordered = sorted(t for t in teams if teams[t].get("record"))
        if runtime.bank is not None:
            admitted = [teams[t]["pending"] for t in ordered if (teams[t].get("pending") or {}).get("entry")]
            if admitted:  # ids are deterministic: re-running a round after a crash writes the same entries again
                runtime.bank.write_judged([Entry.from_dict(p["entry"]) for p in admitted], [decode_vector(p["vector"]) for p in admitted],
                                          [p["info"] for p in admitted])
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
        return {"teams": teams, "round": state["round"] + 1, "wall_s": wall, "read_by_other": sorted(read_by_other),
                "next_hits": round_hits(runtime, teams)}

    def aggregate(state: RunState) -> dict[str, Any]:
        summary = summarize(runtime, state)
        runtime.trace.write([{"type": "summary", **summary}])
        return {"summary": summary}

    graph = StateGraph(RunState)
    graph.add_node("dispatch", dispatch)
    graph.add_node("team", build_team_graph(runtime))
    graph.add_node("admit", admit)
    graph.add_node("sync", sync)
    graph.add_node("aggregate", aggregate)
    graph.add_edge(START, "dispatch")
    graph.add_conditional_edges("dispatch", fan_out, ["team", "aggregate"])
    graph.add_edge("team", "admit")
    graph.add_edge("admit", "sync")
    graph.add_conditional_edges("sync", fan_out, ["team", "aggregate"])
    graph.add_edge("aggregate", END)
    return graph.compile(checkpointer=checkpointer)


def round_hits(runtime: RunRuntime, teams: dict[str, TeamState]) -> dict[str, list[dict[str, Any]]]:
    """Every active team's retrieval for its next step, searched in one batch against the bank as it is now."""
    if runtime.bank is None:
        return {}
    active = [t for t in sorted(teams) if not teams[t]["done"]]
    requests = [SearchRequest(runtime.namespace, retrieval_query(teams[t]["observation"]), config=runtime.config.retrieval) for t in active]
    found = runtime.bank.search_many(requests) if requests else []
    return {t: [MemoryHit(h.entry.id, h.entry.key, h.score, h.entry.origin.team).__dict__ for h in hits] for t, hits in zip(active, found)}


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

"""The parallel-teams graph: real LangGraph, real bank, a tiny deterministic world (tests/toy_world.py)."""

from __future__ import annotations

import threading

import pytest

from teammind.graphs.config import RunConfig
from teammind.graphs.parallel import SUMMARY_KEYS, run_parallel_teams
from teammind.graphs.runtime import RunRuntime
from teammind.graphs.trace import TraceWriter, load_trace
from teammind.memory import AdmitAll, AdmitNone, InvalidFieldError, MemoryBank
from toy_world import Corridor, CorridorWalker


def _runtime(bank, seed=3, run_id=None, trace=None, env_kwargs=None, agent=CorridorWalker, **cfg):
    return RunRuntime(
        lambda: Corridor(12, **(env_kwargs or {})),
        lambda team: agent(),
        RunConfig(seed=seed, **cfg),
        bank=bank,
        run_id=run_id,
        task_name="corridor",
        trace=trace,
    )


def test_teams_act_concurrently_within_a_round(bank):
    barrier = threading.Barrier(3, timeout=20)

    class Rendezvous(CorridorWalker):
        def act(self, ctx):
            barrier.wait()  # times out (BrokenBarrierError -> team error) unless all 3 teams act at once
            return super().act(ctx)

    summary = run_parallel_teams(_runtime(bank, agent=Rendezvous))
    assert all(t["error"] is None for t in summary["teams"].values())
    assert summary["success"] == 1.0


def test_same_seed_gives_the_same_run(bank, tmp_path):
    runs = []
    for i in range(2):
        path = tmp_path / f"t{i}.jsonl"
        summary = run_parallel_teams(_runtime(bank, trace=TraceWriter(path)))
        steps, _ = load_trace(path)
        runs.append(([(s["team"], s["action"], s["admission"]["admit"]) for s in steps], summary["env_steps"], summary["admitted"]))
    assert runs[0] == runs[1]


def test_trace_records_every_step_with_admission_and_a_summary(bank, tmp_path):
    path = tmp_path / "trace.jsonl"
    summary = run_parallel_teams(_runtime(bank, trace=TraceWriter(path)))
    steps, last = load_trace(path)
    assert len(steps) == summary["env_steps"]
    for s in steps:
        assert {"team", "round", "action", "key", "reads", "usage", "admission"} <= set(s)
        assert 0.0 <= s["admission"]["probability"] <= 1.0 and "max_similarity" in s["admission"]["features"]
    assert last is not None and set(SUMMARY_KEYS) <= set(last)


def test_admitted_steps_land_in_the_task_namespace(bank):
    rt = _runtime(bank)
    summary = run_parallel_teams(rt)
    assert summary["admitted"] == summary["env_steps"] == len(bank.list(rt.namespace))


def test_an_agents_described_outcome_is_the_entry_the_bank_gets(bank):
    class Reporter(CorridorWalker):
        def describe_outcome(self, action, observation):
            return f"after {action}: {observation.text[:20]}", "what the result taught"

    rt = _runtime(bank, agent=Reporter, admission=AdmitAll())
    summary = run_parallel_teams(rt)
    entries = bank.list(rt.namespace)
    assert len(entries) == summary["env_steps"] and all(e.key.startswith(("after go ", "after take ")) for e in entries)
    assert {e.value for e in entries} == {"what the result taught"}


def test_agents_are_told_how_many_teams_share_the_task(bank):
    seen = []

    class Counter(CorridorWalker):
        def act(self, ctx):
            seen.append(ctx.n_teams)
            return super().act(ctx)

    run_parallel_teams(_runtime(bank, agent=Counter, teams=2))
    assert seen and set(seen) == {2}


def test_admit_none_and_memory_off_write_nothing(bank):
    s1 = run_parallel_teams(_runtime(bank, admission=AdmitNone()))
    rt = _runtime(None, memory=False)
    s2 = run_parallel_teams(rt)
    assert s1["admitted"] == 0 and s2["admitted"] == 0 and s2["admission"] == "none"
    assert bank.stats()["entries"] == 0


def test_interrupted_run_resumes_to_the_same_result(tmp_path):
    bank = MemoryBank(tmp_path / "bank")
    reference = run_parallel_teams(_runtime(bank, seed=5))

    crashing = _runtime(bank, seed=5, run_id="resumable", trace=TraceWriter(tmp_path / "t.jsonl"))

    def crash(round_index, teams):
        if round_index == 2:
            raise KeyboardInterrupt("simulated kill")

    crashing.on_round = crash
    with pytest.raises(KeyboardInterrupt):
        run_parallel_teams(crashing, checkpoint_path=tmp_path / "ckpt.sqlite")
    resumed = run_parallel_teams(
        _runtime(bank, seed=5, run_id="resumable", trace=TraceWriter(tmp_path / "t.jsonl")),
        checkpoint_path=tmp_path / "ckpt.sqlite",
        resume=True,
    )
    for key in ("success", "env_steps", "admitted", "rounds", "teams"):
        assert resumed[key] == reference[key], key
    steps, _ = load_trace(tmp_path / "t.jsonl")
    assert len(steps) == resumed["env_steps"]


def test_resume_without_a_checkpoint_is_a_clear_error(bank, tmp_path):
    with pytest.raises(ValueError, match="no checkpoint"):
        run_parallel_teams(_runtime(bank, run_id="nope"), checkpoint_path=tmp_path / "c.sqlite", resume=True)


def test_a_failing_environment_ends_that_team_not_the_run(tmp_path):
    bank = MemoryBank(tmp_path / "bank")
    rt = _runtime(bank, seed=5, env_kwargs={"fail_at_step": 3})
    summary = run_parallel_teams(rt)
    assert all("simulated environment crash" in t["error"] for t in summary["teams"].values())
    assert summary["success"] == 0.0
    assert len(MemoryBank(tmp_path / "bank").list(rt.namespace)) == summary["admitted"] > 0


@pytest.mark.parametrize("aggregator", ["majority", "best"])
def test_other_aggregators_wait_for_all_teams(bank, aggregator):
    summary = run_parallel_teams(_runtime(bank, aggregator=aggregator))
    assert all(t["success"] for t in summary["teams"].values())
    assert summary["success"] == 1.0


def test_bad_run_config_names_the_field():
    with pytest.raises(InvalidFieldError, match="teams"):
        RunConfig(teams=0)
    with pytest.raises(InvalidFieldError, match="aggregator"):
        RunConfig(aggregator="vote")

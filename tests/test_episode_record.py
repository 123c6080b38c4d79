"""The typed episode record: the trace is its serialisation, and admission inputs survive it exactly."""

from __future__ import annotations

import json

import numpy as np

from teammind.graphs.config import RunConfig
from teammind.graphs.episode import AdmissionRecord, EpisodeRecord, StepRecord, decode_vector, encode_vector
from teammind.graphs.parallel import run_parallel_teams
from teammind.graphs.runtime import RunRuntime
from teammind.graphs.trace import TraceWriter
from teammind.memory import AdmitAll
from teammind.memory.admission import FEATURE_DIM
from teammind.rl.trajectory import episode_from_record, episode_from_trace
from toy_world import Corridor, CorridorWalker


def _run(bank, trace):
    runtime = RunRuntime(lambda: Corridor(12), lambda team: CorridorWalker(), RunConfig(seed=3, admission=AdmitAll()),
                         bank=bank, run_id="r1", task_name="corridor", trace=trace)
    return run_parallel_teams(runtime)


def test_vector_encoding_is_exact():
    v = np.random.default_rng(0).standard_normal(FEATURE_DIM).astype(np.float32)
    assert np.array_equal(decode_vector(encode_vector(v)), v)


def test_step_record_round_trips_through_its_dict():
    adm = AdmissionRecord(policy="all", admit=True, probability=1.0, log_prob=0.0, features={"tool": "go"}, vector=np.ones(4, np.float32))
    step = StepRecord(run_id="r", round=2, team="team-1", step=1, action="go east", read_writers={"e1": "team-0"}, entry_id="r-team-1-1",
                      admission=adm)
    back = StepRecord.from_dict(json.loads(json.dumps(step.to_dict())))
    assert back.read_writers == {"e1": "team-0"} and back.reads == ("e1",)
    assert back.admission is not None and np.array_equal(back.admission.vector, adm.vector) and back.entry_id == step.entry_id


def test_every_decision_of_a_run_carries_the_policy_input(bank, tmp_path):
    trace = TraceWriter(tmp_path / "t.jsonl", keep=True)
    _run(bank, trace)
    record = EpisodeRecord.from_records(trace.records)
    assert record.decisions() and all(s.admission.vector.shape == (FEATURE_DIM,) for s in record.decisions())


def test_trace_file_and_memory_give_the_same_training_episode(bank, tmp_path):
    trace = TraceWriter(tmp_path / "t.jsonl", keep=True)
    _run(bank, trace)
    from_memory = episode_from_record(EpisodeRecord.from_records(trace.records))
    from_file = episode_from_trace(tmp_path / "t.jsonl")
    assert from_memory == from_file
    for a, b in zip((s for t in from_memory.teams for s in t.steps), (s for t in from_file.teams for s in t.steps)):
        assert np.array_equal(a.vector, b.vector)


def test_a_trace_without_summary_is_refused(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="summary"):
        EpisodeRecord.from_records([{"type": "step", "round": 0, "team": "team-0", "step": 0, "action": "x"}])

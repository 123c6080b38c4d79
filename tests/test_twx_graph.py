"""The full parallel-teams graph with scripted agents on real TextWorldExpress games."""

from __future__ import annotations

import pytest

pytest.importorskip("textworld_express", reason="needs the envs extra: pip install -e '.[envs]'")

from teammind.suites.twx.scripted import TWXExplorer  # noqa: E402
from teammind.graphs.config import RunConfig  # noqa: E402
from teammind.graphs.parallel import run_parallel_teams  # noqa: E402
from teammind.graphs.runtime import RunRuntime  # noqa: E402
from teammind.graphs.trace import TraceWriter, load_trace  # noqa: E402
from teammind.memory import AdmitAll, MemoryBank  # noqa: E402
from teammind.suites import make_env_factory  # noqa: E402

SEEDS = range(12)


def _run(seed: int, bank: MemoryBank | None, trace=None) -> dict:
    runtime = RunRuntime(
        make_env_factory("twx:coin"), lambda team: TWXExplorer(), RunConfig(seed=seed, memory=bank is not None, admission=AdmitAll()),
        bank=bank, task_name="twx-coin", trace=trace,
    )
    return run_parallel_teams(runtime)


def test_graph_is_deterministic_for_a_seed(tmp_path):
    bank = MemoryBank(tmp_path / "bank")
    runs = []
    for i in range(2):
        summary = _run(6, bank, TraceWriter(tmp_path / f"{i}.jsonl"))
        steps, _ = load_trace(tmp_path / f"{i}.jsonl")
        runs.append((summary["env_steps"], summary["admitted"], summary["read_by_other"], [(s["team"], s["action"]) for s in steps]))
    assert runs[0] == runs[1]


def test_admit_all_memory_needs_fewer_env_steps_than_no_memory(tmp_path):
    bank = MemoryBank(tmp_path / "bank")
    without = [_run(seed, None) for seed in SEEDS]
    with_memory = [_run(seed, bank) for seed in SEEDS]
    assert sum(s["success"] for s in with_memory) >= sum(s["success"] for s in without)
    assert sum(s["env_steps"] for s in with_memory) < sum(s["env_steps"] for s in without)
    assert sum(s["read_by_other"] for s in with_memory) > 0

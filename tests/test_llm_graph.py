"""LLM agents inside the parallel-teams graph: a failing endpoint, and one real embedded-server episode."""

from __future__ import annotations

import json
import threading

import pytest

from _fake_openai import FakeOpenAI, Reply, error, ok
from teammind.agents.llm import LLMConfig
from teammind.agents.llm_agent import LLMAgent
from teammind.graphs.config import RunConfig
from teammind.graphs.parallel import run_parallel_teams
from teammind.graphs.runtime import RunRuntime
from teammind.memory import MemoryBank
from toy_world import Corridor


def test_endpoint_failing_mid_run_ends_teams_with_the_reason_and_keeps_the_bank(tmp_path):
    served = {"n": 0}
    lock = threading.Lock()

    def script(_request: dict) -> Reply:
        with lock:
            served["n"] += 1
            n = served["n"]
        if n <= 6:  # two rounds of three teams, then the endpoint breaks
            return ok(json.dumps({"action": "go right", "note": f"walked right (call {n})"}))
        return error(503, "model server overloaded")

    bank = MemoryBank(tmp_path / "bank")
    with FakeOpenAI(script) as srv:
        config = LLMConfig(base_url=srv.base_url, model="fake", max_retries=1, timeout_s=5)
        runtime = RunRuntime(lambda: Corridor(40), lambda team: LLMAgent(config), RunConfig(seed=1, max_steps=10), bank=bank, task_name="corridor")
        summary = run_parallel_teams(runtime)
    assert summary["success"] == 0.0
    assert summary["env_steps"] == 6
    for team in summary["teams"].values():
        assert team["error"] and "503" in team["error"]
    reopened = MemoryBank(tmp_path / "bank")
    assert len(reopened.list(runtime.namespace)) == summary["admitted"] == 6
    assert summary["llm_calls"] >= 6 and summary["prompt_tokens"] > 0


def test_one_short_episode_with_the_embedded_llm_server(tmp_path, run_py):
    pytest.importorskip("llama_cpp", reason="needs the local-llm extra: pip install -e '.[local-llm]'")
    out = tmp_path / "summary.json"
    run_py(
        "-m", "teammind.cli", "run", "--env", "twx:coin", "--seed", "1", "--teams", "2", "--max-steps", "2",
        "--agent", "llm", "--llm", "embedded", "--admission", "all", "--json", str(out), "--quiet", timeout=600,
    )
    summary = json.loads(out.read_text())
    assert summary["llm_calls"] >= 2 and summary["prompt_tokens"] > 0 and summary["completion_tokens"] > 0
    assert summary["env_steps"] >= 2
    assert all(t["error"] is None for t in summary["teams"].values())

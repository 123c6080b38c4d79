"""The worked example of a user environment (demos/custom_env.py) goes through the whole harness by path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from teammind.demos.custom_env import Lockers, LockerSearcher
from teammind.graphs.config import RunConfig
from teammind.graphs.parallel import run_parallel_teams
from teammind.graphs.runtime import RunRuntime
from teammind.memory import AdmitAll, MemoryBank
from teammind.suites import make_env, make_env_factory, scripted_agent_factory

ROOT = Path(__file__).resolve().parents[1]
SPEC = "teammind.demos.custom_env:Lockers"


def test_user_environment_is_found_by_its_import_path_with_keyword_options():
    env = make_env(SPEC, n=5)
    obs = env.reset(seed=2)
    assert isinstance(env, Lockers) and len([a for a in obs.valid_actions if a.startswith("open")]) == 5


def test_user_environment_scripted_agent_is_found_next_to_it():
    assert scripted_agent_factory(SPEC) is LockerSearcher


def test_bad_locker_count_names_the_field():
    with pytest.raises(ValueError, match=r"^n: "):
        make_env(SPEC, n=1)


def _steps(seed: int, bank: MemoryBank | None) -> int:
    runtime = RunRuntime(make_env_factory(SPEC), scripted_agent_factory(SPEC),
                         RunConfig(seed=seed, memory=bank is not None, admission=AdmitAll()), bank=bank, task_name="lockers")
    summary = run_parallel_teams(runtime)
    assert summary["success"] == 1.0
    return summary["env_steps"]


def test_shared_notes_save_lockers_over_seeds(tmp_path):
    bank = MemoryBank(tmp_path / "bank")
    alone = [_steps(s, None) for s in range(1, 9)]
    shared = [_steps(s, bank) for s in range(1, 9)]
    assert all(b <= a for a, b in zip(alone, shared)) and sum(shared) < sum(alone)


@pytest.mark.timeout(300)
def test_eval_cli_takes_the_user_environment(tmp_path):
    out = tmp_path / "eval.json"
    proc = subprocess.run(
        [sys.executable, "-m", "teammind.cli", "eval", "--env", SPEC, "--seeds", "0..1", "--variants", "none", "all",
         "--epochs", "2", "--json", str(out), "--quiet"],
        capture_output=True, text=True, timeout=280, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert [r["variant"] for r in data["rows"]] == ["none", "all"] and data["rows"][0]["success"] == 1.0
    assert {r["variant"] for r in data["retrieval_rows"]} == {"similarity", "q"}

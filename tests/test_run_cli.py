"""Smoke tests of `teammind run` and the parallel-teams demo as subprocesses, tiny sizes."""

from __future__ import annotations

import json

from teammind.graphs.parallel import SUMMARY_KEYS


def test_run_writes_the_documented_summary_json(tmp_path, run_py):
    out = tmp_path / "s.json"
    proc = run_py("-m", "teammind.cli", "run", "--env", "twx:coin", "--seed", "2", "--teams", "3", "--admission", "novelty",
                  "--json", str(out), "--trace", str(tmp_path / "trace.jsonl"))
    summary = json.loads(out.read_text())
    assert set(SUMMARY_KEYS) <= set(summary)
    assert 0.0 <= summary["success"] <= 1.0 and summary["env_steps"] > 0 and summary["llm_calls"] == 0
    assert "success" in proc.stdout  # the summary table
    assert (tmp_path / "trace.jsonl").read_text().count('"type": "step"') == summary["env_steps"]


def test_run_resumes_from_a_checkpoint_by_run_id(tmp_path, run_py):
    args = ["-m", "teammind.cli", "run", "--env", "twx:coin", "--seed", "4", "--admission", "all", "--bank", str(tmp_path / "bank"),
            "--checkpoint", str(tmp_path / "c.sqlite"), "--run-id", "r1", "--quiet"]
    run_py(*args, "--json", str(tmp_path / "a.json"))
    run_py(*args, "--resume", "--json", str(tmp_path / "b.json"))  # finished run: resume returns the same summary
    a, b = (json.loads((tmp_path / n).read_text()) for n in ("a.json", "b.json"))
    assert a["env_steps"] == b["env_steps"] and a["success"] == b["success"]


def test_bad_arguments_name_the_flag_and_the_fix(run_py):
    bad = run_py("-m", "teammind.cli", "run", "--admission", "sometimes", check=False)
    assert bad.returncode == 2 and "--admission" in bad.stderr and "Fix:" in bad.stderr
    bad = run_py("-m", "teammind.cli", "run", "--env", "twx:chess", check=False)
    assert bad.returncode == 2 and "chess" in bad.stderr
    bad = run_py("-m", "teammind.cli", "run", "--resume", check=False)
    assert bad.returncode == 2 and "--checkpoint" in bad.stderr


def test_parallel_teams_demo_runs(run_py):
    out = run_py("-m", "teammind.demos.parallel_teams", "--seed", "1", "--no-llm").stdout
    assert "admission = novelty" in out and "env_steps" in out

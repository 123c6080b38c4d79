"""Smoke test of bench/memory_ops.py: it runs end to end on real components and reports sane numbers.

Checks behaviour (the JSON's shape, positive numbers, goals evaluated), never
timings: those depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "memory_ops.py"


def _positive(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


@pytest.mark.timeout(120)
def test_memory_ops_quick(tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    md = tmp_path / "x.md"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out), "--path", str(tmp_path / "bank"), "--md", str(md)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(out.read_text())
    assert not list(tmp_path.glob("x.json*.tmp")), "atomic write left a temp file"

    for key in ("machine", "params", "writes", "admission", "retrieval", "goals", "all_goals_met", "total_s", "contention"):
        assert key in report, key
    m = report["machine"]
    for key in ("cpu_count", "torch", "chromadb", "python"):
        assert m[key], key
    assert report["params"] == {**report["params"], "sizes": [1000], "write_n": 300, "queries": 30, "quick": True}
    assert report["params"]["client"] == "PersistentClient"

    w = report["writes"]
    assert w["n"] == 300
    assert 15 <= w["key_words_min"] <= w["key_words_max"] <= 25
    for key in ("add_entries_per_s", "embed_entries_per_s", "chroma_entries_per_s", "add_s", "embed_s", "chroma_s"):
        assert _positive(w[key]), (key, w[key])

    a = report["admission"]
    assert set(a["decide_us"]) == {"AdmitAll", "NoveltyThreshold", "LearnedAdmission"}
    assert set(a["propose_ms"]) == set(a["decide_us"])
    for group in ("decide_us", "propose_ms", "propose_stages_ms"):
        for name, stats in a[group].items():
            assert _positive(stats["p50"]) and stats["p95"] >= stats["p50"], (group, name, stats)
    assert a["propose_ms"]["AdmitAll"]["admitted"] == 30  # admit-all admits every proposal

    r = report["retrieval"]
    assert list(r["sizes"]) == ["1000"]
    s = r["sizes"]["1000"]
    assert s["size"] == 1000 and s["fill"]["added"] == 1000
    for key in ("bare_chroma_query_ms", "search_by_vector_ms", "search_ms"):
        assert s[key]["n"] == 30 and _positive(s[key]["p50"]) and s[key]["p95"] >= s[key]["p50"], key
    assert _positive(s["overhead_ratio_p50"]) and _positive(s["overhead_ratio_p95"])
    assert s["fill"]["rate_curve"] and s["fill"]["rate_curve"][-1]["size"] == 1000
    for key in ("embed_entries_per_s", "chroma_entries_per_s", "serial_entries_per_s"):
        assert _positive(s["write_split_after"][key]), key
    assert s["mean_hits"] > 0  # queries resemble stored keys, so Phase A keeps candidates

    assert report["goals"], "no goals evaluated"
    for name, g in report["goals"].items():
        assert isinstance(g["met"], bool) and _positive(g["value"]), (name, g)
    assert report["all_goals_met"] == all(g["met"] for g in report["goals"].values())

    table = md.read_text()
    assert table.startswith("| metric |") and "search_by_vector" in table
    assert "search_by_vector" in proc.stdout  # the rich table was printed


@pytest.mark.timeout(400)
def test_ray_scaling_bench_runs_and_finds_identical_results(tmp_path: Path) -> None:
    out = tmp_path / "ray.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ray_scaling.py"), "--episodes", "2", "--repeats", "1", "--max-steps", "4",
         "--torch-threads", "1", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=380,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["summaries_identical"] is True
    assert [r["workers"] for r in report["rows"]] == [1, 2] and all(_positive(r["episodes_per_s_median"]) for r in report["rows"])


@pytest.mark.timeout(300)
def test_suite_bench_writes_rows_for_every_variant_and_the_charts(tmp_path: Path) -> None:
    pytest.importorskip("textworld_express", reason="needs the envs extra")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "suite.py"), "twx", "--quick", "--agents", "scripted", "--only", "twx:coin",
         "--out", str(tmp_path), "--quiet"],
        capture_output=True, text=True, timeout=280, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((tmp_path / "suite.json").read_text())
    assert [r["variant"] for r in data["rows"]] == ["none", "all", "novelty", "learned"]
    assert {r["variant"] for r in data["retrieval_rows"]} == {"similarity", "q"}
    assert all(r["env"] == "twx:coin" and r["agent"] == "scripted" and len(r["seeds"]) == 2 for r in data["rows"])
    assert data["rows"][0]["env_steps_ratio_to_none"] == 1.0
    assert (tmp_path / "suite.png").stat().st_size > 10_000
    assert (tmp_path / "twx-coin-scripted" / "eval.json").is_file()


def test_suite_bench_rejects_an_unknown_cell() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "suite.py"), "twx", "--only", "twx:chess"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and "--only" in proc.stderr and "twx:coin" in proc.stderr


@pytest.mark.timeout(300)
def test_retrieval_stream_bench_writes_a_summary_and_resumes_from_finished_sets(tmp_path: Path) -> None:
    pytest.importorskip("reasoning_gym", reason="needs the envs extra")
    cmd = [sys.executable, str(ROOT / "bench" / "retrieval_stream.py"), "--seed-sets", "0..1", "--epochs", "2", "--out", str(tmp_path), "--quiet"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=280, cwd=ROOT)
    assert first.returncode == 0, first.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    (only,) = summary["seed_sets"]
    assert only["seeds"] == "0..1" and len(only["q"]["success_by_epoch"]) == 2 and len(only["similarity"]["hard_success_by_epoch"]) <= 2
    assert summary["last_epoch_delta_mean"] == only["last_epoch_delta"]
    assert (tmp_path / "retrieval_easy_hard.png").stat().st_size > 10_000
    played = (tmp_path / "0-1" / "eval.json").stat().st_mtime_ns
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)  # the finished set is read back
    assert again.returncode == 0, again.stderr[-3000:]
    assert (tmp_path / "0-1" / "eval.json").stat().st_mtime_ns == played


@pytest.mark.timeout(300)
def test_retrieval_stream_bench_plays_your_own_team_on_reasoning_gyms_task_list(tmp_path: Path) -> None:
    pytest.importorskip("reasoning_gym", reason="needs the envs extra")
    cmd = [sys.executable, str(ROOT / "bench" / "retrieval_stream.py"), "--workload", "arc-team", "--seed-sets", "0..1", "--epochs", "2",
           "--out", str(tmp_path), "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=280, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["workload"] == "arc-team" and summary["team"].endswith(":arc_team")
    assert json.loads((tmp_path / "0-1" / "eval.json").read_text())["config"]["tasks"].endswith("dataset=arc_1d,n=4")
    assert (tmp_path / "retrieval_arc_team.png").is_file()


def test_retrieval_stream_bench_refuses_a_missing_q_network(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "retrieval_stream.py"), "--qnet", str(tmp_path / "none.safetensors")],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and "--qnet" in proc.stderr


def test_retrieval_stream_bench_refuses_a_bad_seed_set() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "retrieval_stream.py"), "--seed-sets", "5..2"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and "--seed-sets" in proc.stderr


@pytest.mark.timeout(300)
def test_admission_bound_bench_plays_every_rule_on_the_same_seeds(tmp_path: Path) -> None:
    pytest.importorskip("textworld_express", reason="needs the envs extra")
    out = tmp_path / "bound.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "admission_bound.py"), "--env", "twx:coin", "--seeds", "0..1", "--max-steps", "8",
         "--rules", "none", "move", "all", "--out", str(out)],
        capture_output=True, text=True, timeout=280, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    none, move, every = report["rules"]
    assert [r["seed"] for r in move["per_seed"]] == [r["seed"] for r in every["per_seed"]] == [0, 1]
    assert none["rule"] == "none" and move["rule"] == "move" and every["rule"] == "all"
    assert none["admitted"] == 0 and report["fewest_steps"] != "none"  # the bound is over rules that share
    assert move["admitted"] <= every["admitted"] and every["admitted"] == every["env_steps"]  # all admits every step
    assert every["winner_steps"]["move"] > 0


def test_admission_bound_bench_refuses_an_empty_rule() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "admission_bound.py"), "--rules", ","],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and "--rules" in proc.stderr


def _load_bench(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_admission_bench_ratio_interval_is_exact_when_every_world_has_the_same_ratio() -> None:
    ci = _load_bench("admission_learning").paired_ratio_ci
    none = {"1": 100.0, "2": 40.0, "3": 180.0}
    runs = [{k: v / 2 for k, v in none.items()}, {k: v / 2 for k, v in none.items()}]
    lo, hi = ci(runs, none, [1, 2, 3])
    assert lo == pytest.approx(0.5) and hi == pytest.approx(0.5)


def test_admission_bench_ratio_interval_widens_with_world_to_world_spread() -> None:
    ci = _load_bench("admission_learning").paired_ratio_ci
    none = {str(s): 100.0 for s in range(20)}
    learned = [{str(s): (40.0 if s % 2 else 60.0) for s in range(20)}]
    lo, hi = ci(learned, none, list(range(20)))
    assert 0.4 < lo < 0.5 < hi < 0.6


def test_admission_bound_splits_the_winners_steps_and_counts_distinct_wrong_puts() -> None:
    breakdown = _load_bench("admission_bound").step_breakdown
    actions = {
        "team-0": ["take cup", "put cup in sink", "take cup", "move east", "open cupboard", "put cup in cupboard"],
        "team-1": ["take cup", "put cup in sink", "take cup", "put cup in shelf", "take cup", "look"],
    }
    assert breakdown(actions, "team-0") == {"take_first": 1, "put_right": 1, "put_wrong": 1, "take_back": 1, "move": 1,
                                            "open": 1, "other": 0, "wrong_facts": 2, "winner_wrong": 1}


def test_embed_cache_bench_finds_the_same_steps_with_the_cache_on_and_off(tmp_path: Path) -> None:
    pytest.importorskip("textworld_express", reason="needs the envs extra")
    out = tmp_path / "cache.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "embed_cache.py"), "--env", "twx:coin", "--seeds", "0..1", "--max-steps", "6",
         "--repeats", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=280, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["same_steps"] is True and len(report["env_steps"]) == 2
    assert _positive(report["median_s"]["off"]) and _positive(report["median_s"]["on"])


def test_lessons_curve_bench_plays_every_warm_up_count_on_the_same_worlds(tmp_path: Path) -> None:
    pytest.importorskip("textworld_express", reason="needs the envs extra")
    out = tmp_path / "curve.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "lessons_curve.py"), "--env", "twx:coin", "--seeds", "0..1", "--warm-up-counts", "0", "2",
         "--max-steps", "6", "--out", str(out)],
        capture_output=True, text=True, timeout=280, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert [p["warm_up_worlds"] for p in report["points"]] == [0, 2]
    assert report["points"][0]["lessons"] == 0 and report["points"][1]["lessons"] > 0  # the warm-up worlds raised a score
    assert all(set(p["steps_by_seed"]) == set(report["none_steps_by_seed"]) == {"0", "1"} for p in report["points"])
    assert out.with_suffix(".png").is_file()


def test_lessons_curve_bench_refuses_a_negative_count() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "lessons_curve.py"), "--warm-up-counts", "-1"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2 and "--warm-up-counts" in proc.stderr

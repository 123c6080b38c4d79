"""`teammind eval` and rl/evaluate.py: side-by-side rows, the retrieval stream, flag errors, the run folder. Tiny sizes."""

from __future__ import annotations

import json

import pytest

from teammind.graphs.parallel import SUMMARY_KEYS
from teammind.memory import LearnedAdmission, MemoryBank
from teammind.rl.evaluate import EvalConfig, admission_specs, load_admission_weights, q_success_correlation, run_evaluation, stream_specs
from teammind.rl.rollout import ADMISSION_VARIANTS
from teammind.rl.workers import RolloutPool

ENV, TEAMS, MAX_STEPS, SEEDS = "twx:coin", 2, 6, (0, 1)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return LearnedAdmission(seed=0).save(tmp_path_factory.mktemp("ckpt") / "admission.safetensors")


@pytest.fixture(scope="module")
def admission_report(checkpoint):
    config = EvalConfig(env=ENV, seeds=SEEDS, teams=TEAMS, max_steps=MAX_STEPS, run_name="test-admission")
    with RolloutPool(0) as pool:
        return run_evaluation(config, pool, admission_weights=load_admission_weights(checkpoint))


def eval_cli(capsys, *argv: str) -> tuple[int, str]:
    """Run `teammind eval` in this process: (exit code, stderr), whether argparse or the command refused."""
    from teammind.cli import main

    try:
        code = main(["eval", *argv])
    except SystemExit as stop:
        code = int(stop.code)
    return code, capsys.readouterr().err


def test_rows_have_every_summary_metric_with_std_and_the_ratios(admission_report):
    rows = admission_report.rows
    assert [r["variant"] for r in rows] == list(ADMISSION_VARIANTS)
    ratios = {"env_steps_ratio_to_none", "llm_calls_ratio_to_none", "wall_s_ratio_to_none", "admitted_ratio_to_all"}
    for r in rows:
        assert {"variant", "seeds", *SUMMARY_KEYS, *(f"{k}_std" for k in SUMMARY_KEYS), *ratios} <= set(r)
    by = {r["variant"]: r for r in rows}
    assert by["none"]["env_steps_ratio_to_none"] == 1.0 and by["none"]["admitted"] == 0.0
    assert by["all"]["admitted_ratio_to_all"] == 1.0 and by["all"]["admitted"] > 0
    assert by["none"]["llm_calls_ratio_to_none"] is None  # scripted agents make no LLM calls: no ratio to a zero


def test_variants_play_the_same_seeds_interleaved_per_seed(admission_report):
    episodes = [(r["seed"], r["variant"]) for r in admission_report.per_seed]
    assert episodes == [(s, v) for s in SEEDS for v in ADMISSION_VARIANTS]
    assert all(r["seeds"] == list(SEEDS) for r in admission_report.rows)


def test_retrieval_stream_writes_experiences_back_and_updates_q():
    bank = MemoryBank.ephemeral()
    config = EvalConfig(env=ENV, seeds=SEEDS, teams=TEAMS, max_steps=8, variants=(), retrieval_variants=("similarity", "q"),
                        epochs=2, run_name="test-stream")
    with RolloutPool(0, experience_bank=bank) as pool:
        report = run_evaluation(config, pool, experience_bank=bank)
    for variant in ("similarity", "q"):
        stored = bank.list(config.experience_namespace(variant), kind="experience")
        assert len(stored) == len(SEEDS) * config.epochs  # every episode written back, in its variant's own namespace
        assert any(e.visits > 0 and e.q != 0.0 for e in stored)  # experiences used in epoch 2 moved their Q
    second = [r for r in report.per_seed if r["epoch"] == 2]
    assert second and all(r["experiences_retrieved"] for r in second)
    row = report.retrieval_rows[0]
    assert len(row["success_by_epoch"]) == 2 and row["last_epoch_success"] == row["success_by_epoch"][-1]
    assert {"q_success_r", "q_success_n", "experiences_stored", *SUMMARY_KEYS, *(f"{k}_std" for k in SUMMARY_KEYS)} <= set(row)


def test_q_success_correlation_is_pearson_and_says_why_when_undefined():
    outcomes = {"a": [1.0, 1.0], "b": [0.0], "c": [1.0, 0.0]}
    assert q_success_correlation(outcomes, {"a": 0.5, "b": -0.3, "c": 0.1})["q_success_r"] == pytest.approx(1.0, abs=0.01)
    too_few = q_success_correlation({"a": [1.0]}, {"a": 0.3})
    assert too_few["q_success_r"] is None and too_few["q_success_n"] == 1 and "need" in too_few["q_success_note"]
    constant = q_success_correlation({k: [1.0] for k in "abc"}, {"a": 0.1, "b": 0.2, "c": 0.3})
    assert constant["q_success_r"] is None and "success rate" in constant["q_success_note"]


@pytest.mark.parametrize("seeds", ["5..1", "a,b", "1,1", "--seeds=-2..3", ""])
def test_bad_seeds_exit_2_naming_the_flag(capsys, seeds):
    argv = [seeds] if seeds.startswith("--") else ["--seeds", seeds]
    code, err = eval_cli(capsys, *argv, "--variants", "none")
    assert code == 2 and "--seeds" in err


@pytest.mark.parametrize("variants", [["none", "sometimes"], ["none", "none"]])
def test_bad_variants_exit_2_naming_the_flag(capsys, variants):
    code, err = eval_cli(capsys, "--seeds", "0..1", "--variants", *variants)
    assert code == 2 and "--variants" in err


def test_missing_checkpoint_exits_2_naming_the_flag_and_the_fix(capsys, tmp_path, monkeypatch):
    code, err = eval_cli(capsys, "--seeds", "0..1", "--checkpoint", str(tmp_path / "nope.safetensors"))
    assert code == 2 and "--checkpoint" in err and "Fix:" in err
    from teammind.suites import registry

    monkeypatch.setattr(registry, "shipped_admission_path", lambda env=None: tmp_path / "not-shipped.safetensors")
    code, err = eval_cli(capsys, "--seeds", "0..1")  # learned is a default variant: the shipped policy must exist
    assert code == 2 and "--checkpoint" in err and "teammind train" in err


def test_stream_flags_turn_the_stream_on_and_refuse_a_one_epoch_stream(capsys):
    from teammind.commands.eval import resolve_stream

    assert resolve_stream(None, None) == ((), 1)
    assert resolve_stream(4, None) == (("similarity", "q"), 4)
    assert resolve_stream(None, ["q"]) == (("q",), 3)
    code, err = eval_cli(capsys, "--seeds", "0..1", "--variants", "none", "--retrieval-variants", "q", "--epochs", "1")
    assert code == 2 and "--epochs" in err


def test_cli_writes_the_run_folder_and_json(tmp_path, run_py, checkpoint):
    out, js = tmp_path / "run", tmp_path / "eval.json"
    proc = run_py("-m", "teammind.cli", "eval", "--env", ENV, "--seeds", "0..1", "--teams", str(TEAMS), "--max-steps", str(MAX_STEPS),
                  "--checkpoint", str(checkpoint), "--epochs", "2", "--lessons-from", "5..6", "--out", str(out), "--json", str(js), "--quiet")
    for name in ("eval.json", "per_seed.jsonl", "admission.png", "retrieval.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    data = json.loads(js.read_text())
    assert set(data) == {"rows", "retrieval_rows", "per_seed", "config"} and data == json.loads((out / "eval.json").read_text())
    assert [r["variant"] for r in data["rows"]] == list(ADMISSION_VARIANTS)
    assert [r["variant"] for r in data["retrieval_rows"]] == ["similarity", "q"]
    assert len((out / "per_seed.jsonl").read_text().splitlines()) == 2 * 4 + 2 * 2 * 2
    assert "learned" in proc.stdout and "success by epoch" in proc.stdout  # both tables printed
    assert data["config"]["lessons"]["warm_up_seeds"] == [5, 6] and "lessons of warm-up seeds 5,6" in proc.stdout
    assert all("lessons_used_per_episode" in r for r in data["rows"])


def test_every_admission_episode_starts_with_a_cold_embedder_cache_and_the_stream_keeps_it_warm():
    config = EvalConfig(seeds=(0, 1), variants=("none", "all", "novelty"), retrieval_variants=("similarity", "q"), epochs=2)
    assert all(spec.cold_embedding_cache for spec in admission_specs(config))
    assert not any(spec.cold_embedding_cache for spec in stream_specs(config, 1))


def test_a_cold_cache_episode_empties_the_embedder_cache_and_plays_the_same_episode(monkeypatch):
    from teammind.rl.rollout import RolloutContext, RolloutSpec

    context = RolloutContext()
    try:
        embedder = context.step_bank.embedder
        cleared: list[int] = []
        real_clear = embedder.clear_cache
        monkeypatch.setattr(embedder, "clear_cache", lambda: (cleared.append(len(embedder._cache)), real_clear()))
        warm = context.run(RolloutSpec(env="twx:coin", seed=4, episode_id="warm", teams=1, max_steps=10, admission="all"))
        assert cleared == [] and len(embedder._cache) > 0
        cold = context.run(RolloutSpec(env="twx:coin", seed=4, episode_id="cold", teams=1, max_steps=10, admission="all",
                                       cold_embedding_cache=True))
    finally:
        context.close()
    assert len(cleared) == 1 and cleared[0] > 0
    assert cold.summary["env_steps"] == warm.summary["env_steps"] and cold.summary["admitted"] == warm.summary["admitted"]

"""Training loop: checkpoints round-trip, a kill -9 resumes to the same end, the CLI runs as a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from teammind.memory import InvalidFieldError
from teammind.rl.checkpoint import CheckpointDir, load_optimizer, save_optimizer
from teammind.rl.train import MixPart, TrainConfig, task_seeds

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--env", "twx:coin", "--episodes", "12", "--group", "2", "--tasks-per-iteration", "1", "--max-steps", "6",
        "--eval-seeds", "0..0", "--eval-every", "2", "--quiet"]


def teammind(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "teammind.cli", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kw)


def finish(proc: subprocess.Popen, timeout: float = 400) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out


def comparable_metrics(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in ("wall_s", "wall_s_std", "episodes_per_s")} for r in rows]


def test_optimizer_state_round_trips_through_safetensors(tmp_path):
    net = torch.nn.Linear(4, 1)
    opt = torch.optim.AdamW(net.parameters(), lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        net(torch.ones(2, 4)).sum().backward()
        opt.step()
    save_optimizer(opt, tmp_path / "opt.safetensors")
    fresh = torch.optim.AdamW(torch.nn.Linear(4, 1).parameters(), lr=0.5)
    load_optimizer(fresh, tmp_path / "opt.safetensors")
    a, b = opt.state_dict(), fresh.state_dict()
    assert a["param_groups"] == b["param_groups"]
    for i in a["state"]:
        for name in a["state"][i]:
            assert torch.equal(torch.as_tensor(a["state"][i][name]), torch.as_tensor(b["state"][i][name]))


def test_an_unfinished_checkpoint_is_never_the_latest(tmp_path):
    ckpts = CheckpointDir(tmp_path)
    done = ckpts.begin(1)
    ckpts.commit(done, 1, {"iteration": 1})
    ckpts.begin(2)  # a job killed while writing iteration 2 leaves only a temporary folder
    assert ckpts.latest() == tmp_path / "checkpoints" / "it-000001"
    assert json.loads((ckpts.latest() / "state.json").read_text())["iteration"] == 1


def test_task_sampling_depends_only_on_seed_and_iteration():
    cfg = TrainConfig()
    assert task_seeds(cfg, 7) == task_seeds(cfg, 7)
    assert all(part == 0 and cfg.train_seeds[0] <= s <= cfg.train_seeds[1] for part, s in task_seeds(cfg, 3))


def test_a_mix_draws_each_task_from_its_own_parts_training_seeds():
    mix = (MixPart(env="twx:coin", train_seeds=(0, 9), eval_seeds=(10,)),
           MixPart(env="twx:twc", train_seeds=(100, 109), eval_seeds=(110,)))
    cfg = TrainConfig(mix=mix, tasks_per_iteration=4)
    drawn = task_seeds(cfg, 2)
    assert drawn == task_seeds(cfg, 2)
    assert {part for part, _ in drawn} == {0, 1}
    assert all(mix[part].train_seeds[0] <= s <= mix[part].train_seeds[1] for part, s in drawn)


def test_eval_seeds_overlapping_training_seeds_are_rejected():
    with pytest.raises(InvalidFieldError, match="eval_seeds"):
        TrainConfig(train_seeds=(0, 100), eval_seeds=(5,))


def test_train_cli_writes_metrics_curves_and_checkpoints(tmp_path):
    out = finish(teammind("train", *TINY, "--out", str(tmp_path / "run")))
    run = tmp_path / "run"
    for name in ("config.json", "metrics.jsonl", "curves.png", "admission.safetensors", "last.safetensors", "qnet.safetensors", "selected.json"):
        assert (run / name).is_file(), name
    assert (run / "curves.png").stat().st_size > 10_000
    rows = comparable_metrics(run)
    assert [r["iteration"] for r in rows if r["type"] == "train"] == list(range(1, 7))
    assert {r["variant"] for r in rows if r["type"] == "eval"} == {"none", "all", "learned"}
    assert json.loads((run / "checkpoints" / "latest.json").read_text())["iteration"] == 6
    assert "learned" in out


def test_train_refuses_to_overwrite_a_run_without_resume(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text("{}")
    proc = teammind("train", *TINY, "--out", str(tmp_path / "run"))
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert "--resume" in out


def test_killed_training_resumes_and_ends_like_an_uninterrupted_run(tmp_path):
    straight = teammind("train", *TINY, "--out", str(tmp_path / "straight"))
    finish(straight)

    victim = teammind("train", *TINY, "--out", str(tmp_path / "killed"))
    latest = tmp_path / "killed" / "checkpoints" / "latest.json"
    deadline = time.time() + 300
    while time.time() < deadline:
        if latest.is_file() and json.loads(latest.read_text())["iteration"] >= 2:
            break
        if victim.poll() is not None:
            pytest.fail("the job finished before it could be killed; make it longer")
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert json.loads(latest.read_text())["iteration"] < 6

    finish(teammind("train", *TINY, "--out", str(tmp_path / "killed"), "--resume"))

    for name in ("last.safetensors", "admission.safetensors"):
        a = load_file(str(tmp_path / "straight" / name))
        b = load_file(str(tmp_path / "killed" / name))
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), (name, k)
    assert comparable_metrics(tmp_path / "straight") == comparable_metrics(tmp_path / "killed")
    assert np.isfinite([r["loss"] for r in comparable_metrics(tmp_path / "killed") if r["type"] == "train"]).all()


def test_train_admission_demo_and_admission_bench_run_with_tiny_sizes(tmp_path):
    run = tmp_path / "demo"
    out = finish(subprocess.Popen([sys.executable, "-m", "teammind.demos.train_admission", "--episodes", "4", "--max-steps", "4",
                                   "--eval-seeds", "0..0", "--quiet", "--out", str(run)], cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True))
    assert (run / "curves.png").is_file() and "learning curves" in out
    result = tmp_path / "bench.json"
    finish(subprocess.Popen([sys.executable, "bench/admission_learning.py", "--runs", str(run), "--seeds", "0..1", "--lessons-from", "2..3",
                             "--out", str(result)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    report = json.loads(result.read_text())
    assert set(report["baselines"]) == {"none", "all", "novelty", "lessons only"}
    learned = report["learned"]  # one training run: its mean is that run's row, with no spread
    assert learned["success_std_over_training_seeds"] == 0.0 and learned["success"] in (0.0, 0.5, 1.0)
    assert learned["env_steps_ratio_to_none"] == pytest.approx(learned["env_steps"] / report["baselines"]["none"]["env_steps"])
    assert report["lessons_from"] == [2, 3] and report["baselines"]["all"]["lessons"]["warm_up_seeds"] == [2, 3]
    assert set(report["baselines"]["none"]["steps_by_seed"]) == {"0", "1"}
    lo, hi = report["learned"]["env_steps_ratio_to_none_ci95"]
    assert 0 < lo <= hi
    assert result.with_suffix(".png").is_file()


def test_model_selection_keeps_admit_alls_steps_before_it_saves_entries(tmp_path):
    from teammind.rl.train import Training

    training = Training(TrainConfig(eval_seeds=(0,)), tmp_path, progress=False, log=lambda _: None)
    baselines = [{"type": "eval", "iteration": 0, "variant": "none", "success": 1.0, "env_steps": 114.0, "admitted": 0.0},
                 {"type": "eval", "iteration": 0, "variant": "all", "success": 1.0, "env_steps": 62.0, "admitted": 62.0}]
    training.metrics_path.write_text("".join(json.dumps(b) + "\n" for b in baselines))

    def evaluated(iteration: int, env_steps: float, admitted: float) -> int:
        training._select({"iteration": iteration, "success": 1.0, "env_steps": env_steps, "admitted": admitted})
        return training.best["iteration"]

    assert evaluated(1, 62.0, 62.0) == 1  # admit-all's steps: kept until something saves entries
    assert evaluated(2, 61.5, 29.0) == 2  # same steps, 47% of the entries
    assert evaluated(3, 99.5, 6.8) == 2  # within the 40% budget but slower: a collapse, not kept
    assert evaluated(4, 63.0, 22.7) == 4  # within the budget and within 2% of admit-all's steps
    assert evaluated(5, 61.5, 24.0) == 5  # within both, fewer steps
    assert evaluated(6, 0.5 * 62.0, 0.0) == 5  # admits nothing: never selected
    assert (tmp_path / "best.safetensors").is_file()

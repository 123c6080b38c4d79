"""The checkpoints shipped in the package load, are small, and work without a path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from teammind.memory import LearnedAdmission
from teammind.memory.admission import FEATURE_DIM
from teammind.suites.registry import shipped_admission_path, shipped_qnet_path
from teammind.suites.twx.checkpoints import ADMISSION, HERE
from teammind.rl.q_learner import QNET_INPUT, load_qnet

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_checkpoints_are_small_safetensors_with_provenance():
    for path in (shipped_admission_path(), shipped_admission_path("twx:twc"), shipped_qnet_path()):
        assert path.is_file() and path.suffix == ".safetensors"
        assert path.stat().st_size < 400_000
    provenance = json.loads((HERE / "provenance.json").read_text())
    assert "teammind train" in provenance["admission"]["command"] and "teammind train" in provenance["qnet"]["command"]
    assert "--env twx:twc" in provenance["admission_by_game"]["twc"]["command"]


def test_a_game_with_its_own_shipped_policy_gets_it_and_others_get_the_default():
    twc = shipped_admission_path("twx:twc")
    assert twc != ADMISSION and twc.name == "twx_twc_admission.safetensors"
    assert shipped_admission_path("twx:twc:") == twc  # a spec with (empty) options names the same game
    for env in ("twx:coin", "twx:cookingworld", "rg:arc_1d", "sciworld:find-animal", "teammind.demos.custom_env:make", None):
        assert shipped_admission_path(env) == ADMISSION
    assert LearnedAdmission.load(twc).net.layers[0].in_features == FEATURE_DIM


def test_shipped_policy_and_qnet_load_with_this_versions_feature_sizes():
    policy = LearnedAdmission.load(shipped_admission_path())
    assert policy.net.layers[0].in_features == FEATURE_DIM
    assert load_qnet(shipped_qnet_path()).layers[0].in_features == QNET_INPUT


def test_run_with_learned_admission_needs_no_path(tmp_path):
    out = tmp_path / "summary.json"
    proc = subprocess.run([sys.executable, "-m", "teammind.cli", "run", "--env", "twx:coin", "--seed", "2", "--max-steps", "6",
                           "--admission", "learned", "--retrieval", "q", "--experiences", str(tmp_path / "exp"), "--quiet",
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(out.read_text())
    assert summary["admission"] == "learned" and summary["intent"]


def test_eval_on_twc_defaults_to_the_twc_policy(tmp_path):
    out = tmp_path / "eval.json"
    proc = subprocess.run([sys.executable, "-m", "teammind.cli", "eval", "--env", "twx:twc", "--seeds", "0", "--max-steps", "3",
                           "--variants", "learned", "--quiet", "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["config"]["checkpoint"] == str(shipped_admission_path("twx:twc"))

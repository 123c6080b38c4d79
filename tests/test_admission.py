"""Admission: baselines behave as documented; the learned policy round-trips through safetensors."""

import random
from dataclasses import replace

import numpy as np
import pytest

from teammind.memory import AdmitAll, AdmitNone, InvalidFieldError, LearnedAdmission, NoveltyThreshold, StepCandidate, make_policy
from teammind.memory.admission import FEATURE_DIM

NS = ("tenant", "task")
TASK = "find the key and open the chest"


def _cand(key, **kw):
    return StepCandidate(NS, TASK, key, f"output of: {key}", tool=key.split()[0], **kw)


def test_admit_all_writes_every_step_and_admit_none_writes_nothing(bank):
    assert bank.propose(_cand("opened the drawer"), AdmitAll()).admitted
    assert not bank.propose(_cand("looked under the bed"), AdmitNone()).admitted
    assert [e.key for e in bank.list(NS)] == ["opened the drawer"]


def test_novelty_threshold_rejects_a_near_duplicate_and_admits_a_new_step(bank):
    policy = NoveltyThreshold(0.9)
    first = bank.propose(_cand("opened the kitchen drawer and found a key"), policy)
    dup = bank.propose(_cand("opened the kitchen drawer and found the key"), policy)
    new = bank.propose(_cand("walked into the garden and saw a shed"), policy)
    assert first.admitted and not dup.admitted and new.admitted
    assert dup.decision.features.max_similarity >= 0.9
    assert len(bank.list(NS)) == 2


def test_features_carry_progress_tokens_and_error(bank):
    p = bank.propose(_cand("tried to open the chest", error=True, step_index=15, max_steps=30, n_teams=3), AdmitNone())
    f = p.decision.features
    assert f.error and f.step_fraction == 0.5 and f.value_tokens == p.entry.tokens > 0
    assert f.vector().shape == (FEATURE_DIM,)
    assert np.isclose(np.linalg.norm(f.key_embedding), 1.0, atol=1e-3)


def test_learned_policy_round_trips_through_safetensors(tmp_path, bank):
    policy = LearnedAdmission(seed=1)
    f = bank.propose(_cand("opened the drawer"), AdmitNone()).decision.features
    path = policy.save(tmp_path / "admission.safetensors")
    loaded = LearnedAdmission.load(path)
    assert loaded.admit_probability(f) == pytest.approx(policy.admit_probability(f))
    assert not list(tmp_path.glob("*.tmp"))


def test_a_scalar_policy_ignores_the_text_and_round_trips_with_its_feature_set(tmp_path, bank):
    policy = LearnedAdmission(seed=2, features="scalar", init_admit_bias=0.0)
    f = bank.propose(_cand("opened the drawer"), AdmitNone()).decision.features
    other_text = replace(f, task_embedding=-f.task_embedding, key_embedding=np.roll(f.key_embedding, 7))
    assert policy.admit_probability(other_text) == pytest.approx(policy.admit_probability(f))
    assert policy.admit_probability(replace(f, max_similarity=0.99)) != pytest.approx(policy.admit_probability(f))
    loaded = LearnedAdmission.load(policy.save(tmp_path / "scalar.safetensors"))
    assert loaded.features == "scalar" and loaded.admit_probability(f) == pytest.approx(policy.admit_probability(f))
    rebuilt = LearnedAdmission.from_weights({k: v.numpy() for k, v in policy.net.state_dict().items()})
    assert rebuilt.features == "scalar" and rebuilt.admit_probability(f) == pytest.approx(policy.admit_probability(f))


def test_an_unknown_feature_set_is_refused():
    with pytest.raises(InvalidFieldError) as err:
        LearnedAdmission(features="words")
    assert err.value.field == "features"


def test_learned_policy_starts_near_admit_all_and_samples_in_training(bank):
    policy = LearnedAdmission(seed=0)
    f = bank.propose(_cand("opened the drawer"), AdmitNone()).decision.features
    assert 0.7 < policy.admit_probability(f) < 0.97
    rng = random.Random(0)
    decisions = {policy.decide(f, sample=True, rng=rng).admit for _ in range(100)}
    assert decisions == {True, False}
    d = policy.decide(f)
    assert d.admit and d.log_prob == pytest.approx(np.log(d.probability))


def test_loading_a_missing_checkpoint_says_what_to_do(tmp_path):
    with pytest.raises(InvalidFieldError, match="no checkpoint"):
        LearnedAdmission.load(tmp_path / "nope.safetensors")


def test_make_policy_parses_specs():
    assert isinstance(make_policy("all"), AdmitAll)
    assert make_policy("novelty:0.8").threshold == 0.8
    with pytest.raises(InvalidFieldError, match="unknown policy"):
        make_policy("admit-some")

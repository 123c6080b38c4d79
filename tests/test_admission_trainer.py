"""The admission trainer learns: on a synthetic task it comes to admit useful steps and reject useless ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from teammind.memory import LearnedAdmission
from teammind.memory.admission import FEATURE_DIM
from teammind.rl.admission_trainer import AdmissionTrainer, TrainerConfig


def _batch(rng: np.random.Generator, n: int = 256) -> tuple[np.ndarray, np.ndarray]:
    x = np.zeros((n, FEATURE_DIM), np.float32)
    x[:, :16] = rng.normal(0, 1, size=(n, 16))  # 15 distractor features beside the one that matters
    useful = x[:, 0] > 0  # a step is worth sharing iff feature 0 is positive
    return x, useful


def _accuracy(policy: LearnedAdmission, x: np.ndarray, useful: np.ndarray) -> float:
    with torch.no_grad():
        p = torch.sigmoid(policy.net(torch.as_tensor(x))).numpy()
    return float(((p >= 0.5) == useful).mean())


@pytest.mark.parametrize(("clip", "epochs"), [(None, 1), (0.2, 1), (0.2, 4)])
def test_policy_gradient_learns_to_admit_useful_steps_only(clip, epochs):
    rng = np.random.default_rng(0)
    policy = LearnedAdmission(seed=0)
    trainer = AdmissionTrainer(policy, TrainerConfig(lr=3e-3, lambda_sparse=0.0, clip=clip, epochs=epochs))
    x_test, useful_test = _batch(np.random.default_rng(99), 2000)
    before = _accuracy(policy, x_test, useful_test)
    for _ in range(150):
        x, useful = _batch(rng)
        with torch.no_grad():
            logits = policy.net(torch.as_tensor(x)) / policy.temperature
            p = torch.sigmoid(logits).numpy()
        admitted = rng.random(len(p)) < p  # sampled at temperature 1.2, as in training
        reward = np.where(admitted, np.where(useful, 1.0, -1.0), 0.0)
        advantages = reward - reward.mean()
        old = np.where(admitted, np.log(p), np.log(1 - p))
        trainer.update(x, admitted, advantages, old_log_probs=old)
    after = _accuracy(policy, x_test, useful_test)
    assert before < 0.6 < 0.9 < after


def test_sparsity_term_lowers_the_admit_rate_when_advantages_are_zero():
    rng = np.random.default_rng(1)
    policy = LearnedAdmission(seed=1)
    trainer = AdmissionTrainer(policy, TrainerConfig(lambda_sparse=1.0))
    x, _ = _batch(rng)
    first = trainer.update(x, np.ones(len(x), bool), np.zeros(len(x)))["p_admit"]
    for _ in range(30):
        last = trainer.update(x, np.ones(len(x), bool), np.zeros(len(x)))["p_admit"]
    assert last < first


def test_bad_batches_are_rejected_with_the_field_named():
    trainer = AdmissionTrainer(LearnedAdmission(seed=0))
    x = np.zeros((2, FEATURE_DIM), np.float32)
    with pytest.raises(ValueError, match="advantages"):
        trainer.update(x, np.array([True, False]), np.array([np.nan, 0.0]))
    with pytest.raises(ValueError, match="equal non-zero lengths"):
        trainer.update(x, np.array([True]), np.array([1.0, 0.0]))


def test_several_epochs_per_batch_need_a_ratio_clip():
    with pytest.raises(ValueError, match="epochs"):
        TrainerConfig(epochs=4)
    with pytest.raises(ValueError, match="epochs"):
        TrainerConfig(epochs=0, clip=0.2)
    trainer = AdmissionTrainer(LearnedAdmission(seed=0), TrainerConfig(epochs=3, clip=0.2))
    x, _ = _batch(np.random.default_rng(2), 8)
    with pytest.raises(ValueError, match="old_log_probs"):
        trainer.update(x, np.ones(8, bool), np.ones(8))


def test_more_epochs_learn_more_from_one_batch():
    x, useful = _batch(np.random.default_rng(3), 512)
    admitted = np.ones(len(x), bool)
    advantages = np.where(useful, 1.0, -1.0)
    old = np.full(len(x), np.log(0.84))
    gaps = []
    for epochs in (1, 4):
        policy = LearnedAdmission(seed=0)
        AdmissionTrainer(policy, TrainerConfig(lr=3e-3, lambda_sparse=0.0, clip=0.2, epochs=epochs)).update(x, admitted, advantages, old)
        with torch.no_grad():
            p = torch.sigmoid(policy.net(torch.as_tensor(x))).numpy()
        gaps.append(p[useful].mean() - p[~useful].mean())
    assert 0 < gaps[0] < gaps[1]

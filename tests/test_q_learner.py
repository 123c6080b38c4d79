"""Q learning: TD targets, bank updates, the visit-count blend, and a Q-network that fits returns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from teammind.memory import InvalidFieldError
from teammind.memory.embeddings import EMBEDDING_DIM
from teammind.rl.q_learner import QNet, QNetTrainer, blend, learn_from_episode, qnet_features, td_target, update_used_entries


def test_td_target_adds_discounted_next_value():
    assert td_target(1.0, 0.5, gamma=0.9) == pytest.approx(1.45)
    assert td_target(-1.0, 0.5, gamma=0.0) == -1.0
    with pytest.raises(InvalidFieldError, match="reward"):
        td_target(float("nan"), 0.0)


def test_update_used_entries_moves_q_toward_the_td_target(bank):
    ns = ("t", "task")
    e = bank.add_experience(ns, "open the chest", "plan")
    new = update_used_entries(bank, ns, [e.id], reward=0.0, next_max_q=1.0, gamma=0.5, alpha=0.3)
    assert new[e.id] == pytest.approx(0.3 * 0.5)


def test_a_failure_pulls_used_experiences_toward_the_failure_reward(bank):
    ns = ("t", "task")
    used = [bank.add_experience(ns, f"open the chest {i}", "plan").id for i in range(2)]
    failed = {"success": 0.0, "experiences_used": used[:1], "intent": ""}
    assert learn_from_episode(bank, ns, failed)["reward"] == -1.0  # MemRL's default
    assert learn_from_episode(bank, ns, {**failed, "experiences_used": used[1:]}, failure_reward=0.0)["reward"] == 0.0
    q = {e.id: e.q for e in bank.store_for("experience").get(ns, used)}
    assert q[used[0]] == pytest.approx(-0.3) and q[used[1]] == 0.0  # alpha 0.3 toward -1; toward 0 from 0


def test_eval_config_refuses_a_failure_reward_outside_minus_one_to_zero():
    from teammind.rl.evaluate import EvalConfig

    assert EvalConfig(failure_reward=0).failure_reward == 0
    with pytest.raises(InvalidFieldError, match="failure_reward"):
        EvalConfig(failure_reward=0.5)


def test_blend_trusts_the_entry_more_as_visits_grow():
    assert blend(1.0, 0, -1.0) == -1.0
    assert blend(1.0, 2, -1.0) == 0.0
    assert blend(1.0, 98, -1.0) == pytest.approx(0.96)


def test_qnet_learns_which_entries_pay_off():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    query = rng.normal(size=EMBEDDING_DIM)
    good, bad = rng.normal(size=EMBEDDING_DIM), rng.normal(size=EMBEDDING_DIM)
    x, y = [], []
    for _ in range(200):
        is_good = rng.random() < 0.5
        entry = (good if is_good else bad) + rng.normal(scale=0.1, size=EMBEDDING_DIM)
        x.append(qnet_features(query, entry, 0.5, 1, 1))
        y.append(1.0 if is_good else -1.0)
    trainer = QNetTrainer(QNet(), lr=3e-3)
    first = trainer.fit(np.array(x), np.array(y), epochs=1)
    last = trainer.fit(np.array(x), np.array(y), epochs=100)
    pred = trainer.predict(np.array([qnet_features(query, good, 0.5, 1, 1), qnet_features(query, bad, 0.5, 1, 1)]))
    assert last < first and pred[0] > 0.5 > -0.5 > pred[1]

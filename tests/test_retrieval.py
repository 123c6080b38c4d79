"""Two-phase retrieval: Phase A floor/top-k1, Phase B Q rerank (MemRL)."""

import random

import numpy as np
import pytest

from teammind.memory import InvalidFieldError, RetrievalConfig, calibrate_delta
from teammind.memory.retrieval import rerank_scores, zscore

NS = ("tenant", "task")
KEYS = [
    "opened the red chest in the attic with the brass key",
    "opened the red chest in the attic",
    "looked at the red chest in the attic",
    "walked up the stairs to the attic",
]
QUERY = "open the red chest in the attic"
SIM_ONLY = RetrievalConfig(k1=10, k2=4, delta=0.0, lam=0.0)
RERANK = RetrievalConfig(k1=10, k2=4, delta=0.0, lam=0.5)


def _fill(bank, qs):
    return [bank.add(e) and e for e in (__import__("teammind.memory", fromlist=["Entry"]).Entry.new(NS, k, "v", q=q) for k, q in zip(KEYS, qs))]


def test_q_rerank_changes_the_order_against_pure_similarity(bank):
    entries = _fill(bank, [0.0, 0.0, 0.0, 0.0])
    sim_order = [h.entry.id for h in bank.search(NS, QUERY, config=SIM_ONLY)]
    least_similar = sim_order[-1]
    bank.update_q(NS, [least_similar], reward=1.0, alpha=1.0)
    bank.update_q(NS, sim_order[:1], reward=-1.0, alpha=1.0)
    assert [h.entry.id for h in bank.search(NS, QUERY, config=SIM_ONLY)] == sim_order
    reranked = [h.entry.id for h in bank.search(NS, QUERY, config=RERANK)]
    assert reranked != sim_order
    assert reranked.index(least_similar) < sim_order.index(least_similar)
    assert len(entries) == 4


@pytest.mark.parametrize("q", [0.0, 0.7])
def test_equal_q_leaves_the_similarity_order_alone(bank, q):
    _fill(bank, [q] * 4)
    sim = bank.search(NS, QUERY, config=SIM_ONLY)
    rer = bank.search(NS, QUERY, config=RERANK)
    assert [h.entry.id for h in rer] == [h.entry.id for h in sim]
    assert [h.similarity for h in sim] == sorted((h.similarity for h in sim), reverse=True)


def test_phase_a_floor_returns_nothing_below_delta(bank):
    _fill(bank, [0.0] * 4)
    assert bank.search(NS, "quarterly tax filing deadline for companies", config=RetrievalConfig(delta=0.5)) == []


def test_top_k2_of_top_k1_is_returned(bank):
    _fill(bank, [0.0] * 4)
    assert len(bank.search(NS, QUERY, config=RetrievalConfig(k1=3, k2=2, delta=0.0))) == 2


def test_epsilon_one_returns_a_random_subset_of_candidates(bank):
    _fill(bank, [0.0] * 4)
    cfg = RetrievalConfig(k1=4, k2=2, delta=0.0, epsilon=1.0)
    seen = {tuple(h.entry.id for h in bank.search(NS, QUERY, config=cfg, rng=random.Random(s))) for s in range(12)}
    assert len(seen) > 1


def test_zscore_of_constant_is_zero_and_clip_bounds_q():
    assert np.all(zscore(np.array([3.0, 3.0, 3.0])) == 0)
    scores = rerank_scores(np.array([0.5] * 10), np.array([0.0] * 9 + [1e6]), lam=1.0)
    assert scores.max() <= 3.0


@pytest.mark.parametrize(
    "kwargs,field", [({"k1": 0}, "k1"), ({"k1": 3, "k2": 5}, "k2"), ({"lam": 1.5}, "lam"), ({"epsilon": -0.1}, "epsilon"), ({"delta": float("nan")}, "delta")]
)
def test_bad_retrieval_config_names_the_field(kwargs, field):
    with pytest.raises(InvalidFieldError) as err:
        RetrievalConfig(**kwargs)
    assert err.value.field == field


def test_calibrate_delta_is_the_pairwise_similarity_quantile():
    x = np.eye(4)
    x[1] = [1, 1, 0, 0]
    delta = calibrate_delta(x, quantile=0.8)
    assert 0.0 <= delta <= 0.71


def test_entries_tied_at_the_k1_boundary_are_chosen_by_id_not_by_insertion_order(bank):
    from teammind.memory import Entry

    for i in (5, 4, 3, 2, 1):  # the same key five times, written largest id first
        bank.add(Entry.new(NS, KEYS[1], "v", id=f"tie-{i}"))
    hits = bank.search(NS, KEYS[1], config=RetrievalConfig(k1=2, k2=2, delta=0.0, lam=0.0))
    assert [h.entry.id for h in hits] == ["tie-1", "tie-2"]

"""Small namespaces are searched exactly from the ledger; one that outgrows the threshold moves to a Chroma collection
and answers the same; the per-process vector cache follows every write."""

import pytest

from teammind.memory import MemoryBank, RetrievalConfig
from teammind.memory.vectors import top_matches

NS = ("tenant", "big")
ALL = RetrievalConfig(k1=6, k2=6, delta=-1.0, lam=0.0)
KEYS = [f"step {i} opened door {i % 7} in room {i % 5} with tool {i % 3}" for i in range(40)]


@pytest.fixture
def small_threshold():
    from hash_embedder import HashEmbedder

    bank = MemoryBank.ephemeral(embedder=HashEmbedder(), index_threshold=20)
    yield bank
    bank.close()


def _ids(bank, query, config=ALL):
    return [h.entry.id for h in bank.search(NS, query, config=config)]


def test_a_namespace_past_the_threshold_gets_a_collection_and_the_same_answers(small_threshold, bank):
    for b in (small_threshold, bank):
        for i, key in enumerate(KEYS):
            b.add_step(NS, key, "v", id=f"e{i:02d}")
    assert small_threshold.ledger.state(NS).collection is not None
    assert bank.ledger.state(NS).collection is None
    for q in ("opened door 3 in room 2", "tool 1 room 4", "step 17"):
        assert _ids(small_threshold, q) == _ids(bank, q)


def test_writes_and_deletes_reach_the_collection_before_the_next_query(small_threshold):
    for i, key in enumerate(KEYS):
        small_threshold.add_step(NS, key, "v", id=f"e{i:02d}")
    small_threshold.delete(NS, ["e03"])
    small_threshold.update(NS, "e10", key="a brand new kitchen sink")
    assert small_threshold.ledger.pending() == []
    assert "e03" not in _ids(small_threshold, KEYS[3])
    assert _ids(small_threshold, "a brand new kitchen sink")[0] == "e10"


def test_deleting_a_big_namespace_drops_its_collections(small_threshold):
    for i, key in enumerate(KEYS):
        small_threshold.add_step(NS, key, "v")
    small_threshold.delete_namespace(("tenant",))
    assert [c.name for c in small_threshold.chroma().list_collections()] == []
    assert small_threshold.namespaces() == []


def test_the_cache_sees_writes_made_through_another_bank_on_the_same_ledger(tmp_path):
    from hash_embedder import HashEmbedder

    a = MemoryBank(tmp_path / "bank", embedder=HashEmbedder())
    b = MemoryBank(tmp_path / "bank", embedder=HashEmbedder())
    a.add_step(NS, "opened the red door", "v", id="x")
    assert [h.entry.id for h in b.search(NS, "opened the red door", config=ALL)] == ["x"]  # b caches the namespace
    a.add_step(NS, "opened the blue door", "v", id="y")
    a.delete(NS, ["x"])
    assert [h.entry.id for h in b.search(NS, "opened the red door", config=ALL)] == ["y"]


def test_ties_at_the_cut_are_all_kept_so_the_bank_can_order_them_by_id():
    import numpy as np

    matches = top_matches(["c", "a", "b", "d"], np.array([0.5, 0.9, 0.5, 0.1]), 2)
    assert [m[0] for m in matches] == ["a", "c", "b"]


def test_a_namespace_deleted_and_written_again_is_not_served_from_the_old_cache(bank):
    bank.add_step(NS, "opened the red door", "v", id="x")
    assert [h.entry.id for h in bank.search(NS, "opened the red door", config=ALL)] == ["x"]
    bank.delete_namespace(NS)
    bank.add_step(NS, "walked into the garden", "v", id="x")
    hits = bank.search(NS, "opened the red door", config=ALL)
    assert [h.entry.key for h in hits] == ["walked into the garden"] and hits[0].similarity < 0.9

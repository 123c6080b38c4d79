"""10,000 namespaces in one bank: every search, read and listing stays inside the namespace it names."""

import random

import pytest

from teammind.memory import Entry, MemoryBank, RetrievalConfig

N = 10_000
TOPICS = ("invoice", "password", "recipe", "flight", "doctor", "garden", "salary", "birthday")


@pytest.fixture(scope="module")
def crowded():
    from hash_embedder import HashEmbedder

    bank = MemoryBank.ephemeral(embedder=HashEmbedder())
    entries = [
        Entry.new(("users", f"u{i}", "memories"), f"user {i} note about the {TOPICS[i % len(TOPICS)]} secret", f"secret-{i}", id=f"m{i}")
        for i in range(N)
    ]
    bank.add(entries)  # one batch: one ledger transaction per 128 entries
    yield bank
    bank.close()


def test_a_search_never_returns_another_tenants_item(crowded):
    config = RetrievalConfig(k1=10, k2=10, delta=-1.0)  # no similarity floor: everything in reach is returned
    for i in random.Random(0).sample(range(N), 200):
        ns = ("users", f"u{i}", "memories")
        hits = crowded.search(ns, f"the {TOPICS[i % len(TOPICS)]} secret", config=config)
        assert [(h.entry.namespace, h.entry.value) for h in hits] == [(ns, f"secret-{i}")]


def test_a_prefix_search_sees_only_the_namespaces_under_it(crowded):
    hits = crowded.search(("users", "u42"), "the recipe secret", include_descendants=True, config=RetrievalConfig(delta=-1.0))
    assert {h.entry.namespace for h in hits} == {("users", "u42", "memories")}


def test_get_does_not_cross_namespaces_with_the_same_id_shape(crowded):
    assert crowded.get(("users", "u7", "memories"), "m7").value == "secret-7"
    assert crowded.ledger.get(("users", "u8", "memories"), ["m7"]) == {}


def test_listing_is_served_by_the_index(crowded):
    assert len(crowded.namespaces(("users",))) == N
    assert crowded.namespaces(("users", "u123")) == [("users", "u123", "memories")]
    assert crowded.namespaces(("users", "u12345")) == []


def test_deleting_one_tenant_leaves_the_other_9999(crowded):
    assert crowded.delete_namespace(("users", "u5")) == 1
    assert crowded.namespaces(("users", "u5")) == []
    assert crowded.get(("users", "u50", "memories"), "m50").value == "secret-50"
    assert len(crowded.namespaces(("users",))) == N - 1

"""The embedder's cache of single texts: exact, bounded, and never shared by reference."""

from __future__ import annotations

import numpy as np
import pytest

from teammind.memory.embeddings import Embedder, get_embedder


@pytest.fixture()
def counting(monkeypatch):
    """A small-cache embedder whose model calls are counted (the model is the process-wide one)."""
    embedder = Embedder(cache_size=2)
    calls: list[list[str]] = []
    encode = embedder._model.encode

    def counted(texts, **kwargs):
        calls.append(list(texts))
        return encode(texts, **kwargs)

    monkeypatch.setattr(embedder._model, "encode", counted)
    return embedder, calls


def test_a_cached_vector_is_exactly_what_encoding_again_gives() -> None:
    uncached = Embedder(cache_size=0)
    cached = get_embedder()
    text = "where is the coin"
    first = cached.encode([text])
    again = cached.encode([text])
    assert np.array_equal(first, again)
    assert np.array_equal(again, uncached.encode([text]))


def test_a_repeated_single_text_does_not_run_the_model_again(counting) -> None:
    embedder, calls = counting
    embedder.encode(["in the pantry"])
    embedder.encode_one("in the pantry")
    assert calls == [["in the pantry"]]


def test_batches_of_several_texts_are_neither_cached_nor_served_from_the_cache(counting) -> None:
    embedder, calls = counting
    embedder.encode(["a", "b"])
    embedder.encode(["a"])
    embedder.encode(["a", "b"])
    assert calls == [["a", "b"], ["a"], ["a", "b"]]


def test_the_least_recently_used_text_is_evicted_first(counting) -> None:
    embedder, calls = counting
    for text in ("one", "two", "one", "three", "one", "two"):
        embedder.encode([text])
    assert calls == [["one"], ["two"], ["three"], ["two"]]  # "two" was the oldest when "three" came in


def test_changing_a_returned_vector_does_not_change_the_cache(counting) -> None:
    embedder, _ = counting
    vector = embedder.encode(["kitchen"])
    vector[0, :] = 0.0
    assert np.linalg.norm(embedder.encode(["kitchen"])[0]) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "64"])
def test_a_bad_cache_size_is_refused_with_the_field_and_the_fix(bad) -> None:
    with pytest.raises(ValueError, match="cache_size.*0 for no cache"):
        Embedder(cache_size=bad)


def test_clear_cache_makes_the_next_encode_run_the_model(counting) -> None:
    embedder, calls = counting
    embedder.encode(["hallway"])
    embedder.clear_cache()
    embedder.encode(["hallway"])
    assert calls == [["hallway"], ["hallway"]]


def test_encode_many_gives_exactly_the_single_text_vectors() -> None:
    import sys

    sys.path.insert(0, "bench")
    from memory_ops import TextGen

    texts = TextGen(0, "write").keys(40) + ["where is the coin", "take coin", "where is the coin"]
    fresh = Embedder(cache_size=0)
    singles = np.stack([fresh.encode([t])[0] for t in texts])
    assert np.array_equal(Embedder(cache_size=64).encode_many(texts), singles)


def test_encode_many_serves_cached_texts_and_batches_the_rest(counting) -> None:
    embedder, calls = counting
    embedder.encode(["in the pantry"])
    embedder.encode_many(["in the pantry", "on the table", "in the garden"])
    assert calls[0] == ["in the pantry"] and sorted(t for c in calls[1:] for t in c) == ["in the garden", "on the table"]

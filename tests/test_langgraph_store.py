"""BankStore: the memory bank behind LangGraph's BaseStore API (real Chroma, real embedder)."""

from __future__ import annotations

import asyncio
from datetime import timezone
from typing import TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore, GetOp, ListNamespacesOp, PutOp, SearchOp
from langgraph.store.memory import InMemoryStore

from teammind.memory import AdmitNone, BankStore, InvalidFieldError, MemoryBank, NoveltyThreshold, RetrievalConfig


@pytest.fixture
def store() -> BankStore:
    s = BankStore(ephemeral=True)
    yield s
    s.close()


def test_put_then_get_returns_the_value_with_utc_timestamps(store: BankStore) -> None:
    store.put(("users", "42"), "prefs", {"theme": "dark", "size": 14, "tags": ["a", "b"]})
    item = store.get(("users", "42"), "prefs")
    assert item is not None
    assert (item.namespace, item.key) == (("users", "42"), "prefs")
    assert item.value == {"theme": "dark", "size": 14, "tags": ["a", "b"]}
    assert item.created_at.tzinfo == timezone.utc and item.updated_at >= item.created_at
    assert store.get(("users", "42"), "missing") is None
    assert store.get(("users", "43"), "prefs") is None


def test_overwrite_keeps_created_at_and_moves_updated_at(store: BankStore) -> None:
    store.put(("users", "42"), "prefs", {"theme": "dark"})
    first = store.get(("users", "42"), "prefs")
    store.put(("users", "42"), "prefs", {"theme": "light"})
    second = store.get(("users", "42"), "prefs")
    assert second.value == {"theme": "light"}
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at


def test_put_none_deletes_the_item(store: BankStore) -> None:
    store.put(("docs",), "a", {"text": "keep me"})
    store.put(("docs",), "b", {"text": "delete me"})
    store.batch([PutOp(("docs",), "b", None)])
    assert store.get(("docs",), "b") is None
    store.delete(("docs",), "a")
    assert store.get(("docs",), "a") is None
    assert store.search(("docs",)) == []
    assert store.list_namespaces() == []  # an emptied namespace is no longer listed


def test_long_values_are_embedded_in_windows_that_cover_every_word(store: BankStore) -> None:
    long_text = " ".join(f"word{i}" for i in range(200))
    store.put(("docs",), "long", {"text": long_text})
    assert store.get(("docs",), "long").value == {"text": long_text}
    entry = store.bank.get(("docs",), "long")
    assert entry.key.split() == long_text.split()[: store.bank.limits.max_key_words]
    covered = {w for text in entry.texts for w in text.split()}
    assert covered == set(long_text.split()) and all(len(t.split()) <= store.bank.limits.max_key_words for t in entry.texts)


def test_a_long_item_is_found_by_text_far_past_its_first_words(store: BankStore) -> None:
    filler = " ".join(f"filler{i}" for i in range(120))
    store.put(("docs",), "manual", {"text": f"{filler} the kubernetes pod was evicted under memory pressure"})
    store.put(("docs",), "other", {"text": "a recipe for lemon cake with sugar and flour"})
    hits = store.search(("docs",), query="kubernetes pod evicted under memory pressure")
    assert hits and hits[0].key == "manual"


def test_search_with_query_ranks_the_relevant_item_first(store: BankStore) -> None:
    ns = ("team", "notes")
    store.put(ns, "coffee", {"text": "The user drinks oat milk flat whites every morning"})
    store.put(ns, "numpy", {"text": "ImportError: numpy is missing, fix with pip install numpy"})
    store.put(ns, "weather", {"text": "It will rain in Lisbon tomorrow afternoon"})
    results = store.search(ns, query="how do I fix the numpy import error?")
    assert results and results[0].key == "numpy"
    assert isinstance(results[0].score, float)
    assert all(a.score >= b.score for a, b in zip(results, results[1:]))


def test_search_with_filter_keeps_only_matching_items(store: BankStore) -> None:
    ns = ("team", "issues")
    store.put(ns, "i1", {"text": "deploy to production failed on the database migration", "kind": "bug", "prio": 3})
    store.put(ns, "i2", {"text": "deploy to production needs a rollback plan", "kind": "task", "prio": 1})
    store.put(ns, "i3", {"text": "deploy to production times out in the health check", "kind": "bug", "prio": 1})
    assert {r.key for r in store.search(ns, filter={"kind": "bug"})} == {"i1", "i3"}
    assert {r.key for r in store.search(ns, filter={"prio": {"$gte": 2}})} == {"i1"}
    assert {r.key for r in store.search(ns, filter={"kind": {"$ne": "bug"}})} == {"i2"}
    ranked = store.search(ns, query="production deploy problems", filter={"kind": "bug"})
    assert {r.key for r in ranked} == {"i1", "i3"} and all(r.score is not None for r in ranked)


def test_ranked_search_with_filter_looks_past_the_first_k1_candidates() -> None:
    bank = MemoryBank(ephemeral=True, retrieval=RetrievalConfig(k1=2, k2=2))
    store = BankStore(bank)
    ns = ("team", "deploys")
    for i in range(6):
        store.put(ns, f"d{i}", {"text": f"deploy number {i} of the web service to production", "env": "prod" if i else "staging"})
    results = store.search(ns, query="deploy the web service to production", filter={"env": "staging"})
    assert [r.key for r in results] == ["d0"]
    assert len(store.search(ns, query="deploy the web service to production", limit=5)) == 5


def test_search_without_query_lists_newest_updated_first_with_offset_and_limit(store: BankStore) -> None:
    for k in ("a", "b", "c"):
        store.put(("docs",), k, {"text": k})
    store.put(("docs",), "a", {"text": "a again"})
    assert [r.key for r in store.search(("docs",))] == ["a", "c", "b"]
    assert [r.key for r in store.search(("docs",), limit=1, offset=1)] == ["c"]


def test_search_never_returns_another_tenants_items(store: BankStore) -> None:
    text = {"text": "the customer's API key rotation schedule is every 30 days"}
    store.put(("acme", "memories"), "secret", text)
    store.put(("acme-corp", "memories"), "secret", text)
    store.put(("globex", "memories"), "secret", text)
    for results in (
        store.search(("acme",), query="API key rotation schedule"),
        store.search(("acme",)),
        store.search(("acme",), filter={"text": text["text"]}),
    ):
        assert [r.namespace for r in results] == [("acme", "memories")]
    assert store.get(("acme", "memories"), "secret") is not None
    assert store.get(("acme",), "secret") is None  # a prefix is not the item's namespace
    assert {r.namespace for r in store.search((), query="API key rotation schedule")} == {
        ("acme", "memories"),
        ("acme-corp", "memories"),
        ("globex", "memories"),
    }


def test_list_namespaces_matches_inmemorystore_for_prefix_suffix_and_max_depth(store: BankStore) -> None:
    reference = InMemoryStore()
    for ns in [("users", "1", "memories"), ("users", "2", "memories"), ("users", "2", "prefs"), ("orgs", "x", "memories")]:
        for s in (store, reference):
            s.put(ns, "k", {"text": "hello " + "/".join(ns)})
    cases = [
        {},
        {"prefix": ("users",)},
        {"suffix": ("memories",)},
        {"prefix": ("users", "*", "prefs")},
        {"prefix": ("users",), "suffix": ("memories",)},
        {"max_depth": 2},
        {"prefix": ("users",), "max_depth": 1},
        {"limit": 2, "offset": 1},
    ]
    for kwargs in cases:
        assert store.list_namespaces(**kwargs) == reference.list_namespaces(**kwargs), kwargs
    assert store.list_namespaces(max_depth=2) == [("orgs", "x"), ("users", "1"), ("users", "2")]


def test_admit_none_stores_nothing() -> None:
    store = BankStore(ephemeral=True, admission=AdmitNone())
    store.put(("team",), "step", {"text": "ran the test suite, 3 failures in test_io.py"})
    assert store.get(("team",), "step") is None
    assert store.search(("team",)) == []
    assert store.list_namespaces() == []


def test_novelty_threshold_rejects_a_duplicate() -> None:
    store = BankStore(ephemeral=True, admission=NoveltyThreshold(0.9))
    value = {"text": "ran the test suite, 3 failures in test_io.py"}
    store.put(("team",), "first", value)
    store.put(("team",), "again", value)
    store.put(("team",), "other", {"text": "the staging database password was rotated yesterday"})
    assert store.get(("team",), "first") is not None
    assert store.get(("team",), "again") is None
    assert store.get(("team",), "other") is not None


def test_novelty_threshold_lets_an_existing_item_be_updated() -> None:
    store = BankStore(ephemeral=True, admission=NoveltyThreshold(0.9))
    store.put(("team",), "status", {"text": "ran the test suite, 3 failures in test_io.py"})
    store.put(("team",), "status", {"text": "ran the test suite, 2 failures in test_io.py"})
    assert store.get(("team",), "status").value == {"text": "ran the test suite, 2 failures in test_io.py"}


@pytest.mark.integration  # ranks by meaning: needs MiniLM
def test_abatch_returns_results_in_op_order(store: BankStore) -> None:
    ns = ("users", "7")
    assert asyncio.run(store.abatch([PutOp(ns, "a", {"text": "likes tea"}), GetOp(ns, "a")])) == [None, None]  # reads see pre-batch state
    results = asyncio.run(
        store.abatch([GetOp(ns, "a"), SearchOp(("users",), query="what does the user drink?"), ListNamespacesOp(), GetOp(ns, "zz")])
    )
    assert results[0].value == {"text": "likes tea"}
    assert [r.key for r in results[1]] == ["a"]
    assert results[2] == [ns]
    assert results[3] is None
    assert asyncio.run(store.aget(ns, "a")).value == {"text": "likes tea"}


def test_stategraph_nodes_write_and_read_through_the_injected_store(store: BankStore) -> None:
    class State(TypedDict, total=False):
        user: str
        note: str
        recalled: list[str]

    def remember(state: State, runtime: Runtime) -> dict:
        runtime.store.put(("users", state["user"], "memories"), "drink", {"text": state["note"]})
        return {}

    def recall(state: State, *, store: BaseStore) -> dict:
        hits = store.search(("users", state["user"]), query="what does the user like to drink?")
        return {"recalled": [h.value["text"] for h in hits]}

    builder = StateGraph(State)
    builder.add_node("remember", remember)
    builder.add_node("recall", recall)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", "recall")
    builder.add_edge("recall", END)
    graph = builder.compile(store=store)
    out = graph.invoke({"user": "u1", "note": "The user likes to drink green tea"})
    assert out["recalled"] == ["The user likes to drink green tea"]
    assert graph.invoke({"user": "u2", "note": "The user likes to drink espresso"})["recalled"] == ["The user likes to drink espresso"]


def test_a_folder_store_persists_across_instances(tmp_path) -> None:
    first = BankStore(path=tmp_path / "bank")
    first.put(("users", "1"), "prefs", {"theme": "dark"})
    created = first.get(("users", "1"), "prefs").created_at
    first.close()
    second = BankStore(path=tmp_path / "bank")
    item = second.get(("users", "1"), "prefs")
    assert item.value == {"theme": "dark"} and item.created_at == created
    assert second.list_namespaces() == [("users", "1")]


@pytest.mark.parametrize(
    "kwargs, field",
    [({}, "bank"), ({"path": "x", "ephemeral": True}, "bank"), ({"port": 8000}, "port"), ({"ephemeral": True, "index_fields": "text"}, "index_fields")],
)
def test_constructor_needs_exactly_one_location(kwargs: dict, field: str) -> None:
    with pytest.raises(InvalidFieldError) as err:
        BankStore(**kwargs)
    assert err.value.field == field and "Fix:" in str(err.value)


def test_put_index_chooses_the_embedded_fields_and_false_keeps_the_item_out_of_ranked_search(store: BankStore) -> None:
    ns = ("docs",)
    store.put(ns, "titled", {"title": "Kubernetes pod eviction", "body": "notes on cooking pasta"}, index=["title"])
    store.put(ns, "hidden", {"text": "Kubernetes pod eviction under memory pressure"}, index=False)
    assert store.bank.get(ns, "titled").key == "Kubernetes pod eviction"
    assert [r.key for r in store.search(ns, query="why was my kubernetes pod evicted?")] == ["titled"]
    assert store.get(ns, "hidden").value == {"text": "Kubernetes pod eviction under memory pressure"}
    assert {r.key for r in store.search(ns)} == {"titled", "hidden"}


def _q(store: BankStore, ns: tuple[str, ...], key: str) -> float:
    return store.bank.get(ns, key).q


def test_record_outcome_moves_q_of_the_named_items_toward_the_reward(store: BankStore) -> None:
    ns = ("users", "42", "solved")
    store.put(ns, "a", {"text": "train leaves at 3pm travelling 60 km per hour"})
    store.put(ns, "b", {"text": "a recipe for lemon cake"})
    alpha = store.bank.alpha
    assert store.record_outcome(ns, ["a"], 1.0) == pytest.approx({"a": alpha})
    assert store.record_outcome(ns, ["a"], -1.0, alpha=0.5) == pytest.approx({"a": alpha + 0.5 * (-1.0 - alpha)})
    assert _q(store, ns, "a") == pytest.approx(alpha + 0.5 * (-1.0 - alpha))
    assert store.bank.get(ns, "a").visits == 2
    assert _q(store, ns, "b") == 0.0  # items not named are untouched
    assert store.get(ns, "a").value == {"text": "train leaves at 3pm travelling 60 km per hour"}  # the value is untouched
    assert store.record_outcome(ns, [], 1.0) == {}


def test_record_outcome_reranks_later_searches(store: BankStore) -> None:
    ns = ("users", "42", "solved")
    store.put(ns, "bus", {"text": "how many apples does Tom have after buying more apples at the market"})
    store.put(ns, "pears", {"text": "how many pears does Ann have after buying more pears at the shop"})
    store.put(ns, "eggs", {"text": "how many eggs does a farmer collect from his hens each week"})
    store.put(ns, "weather", {"text": "the weather in Lisbon tomorrow afternoon"})
    query = "how many apples does Tom have after buying apples?"
    before = [r.key for r in store.search(ns, query=query)]
    assert before[0] == "bus"
    helpful = before[1]
    for _ in range(3):
        store.record_outcome(ns, ["bus"], -1.0)
        store.record_outcome(ns, [helpful], 1.0)
    after = [r.key for r in store.search(ns, query=query)]
    assert after[0] == helpful and after.index("bus") > 0


def test_record_outcome_on_a_missing_key_updates_nothing(store: BankStore) -> None:
    from teammind.memory import EntryNotFoundError

    ns = ("users", "42")
    store.put(ns, "a", {"text": "kept"})
    with pytest.raises(EntryNotFoundError, match="nope"):
        store.record_outcome(ns, ["a", "nope"], 1.0)
    with pytest.raises(EntryNotFoundError):
        store.record_outcome(("users", "43"), ["a"], 1.0)  # another tenant's namespace does not see the item
    assert _q(store, ns, "a") == 0.0
    with pytest.raises(InvalidFieldError) as err:
        store.record_outcome(ns, "a", 1.0)
    assert err.value.field == "keys"
    with pytest.raises(InvalidFieldError) as err:
        store.record_outcome((), ["a"], 1.0)
    assert err.value.field == "namespace"
    with pytest.raises(InvalidFieldError) as err:
        store.record_outcome(ns, ["a"], float("nan"))
    assert err.value.field == "reward"


def test_arecord_outcome_is_the_async_twin(store: BankStore) -> None:
    ns = ("users", "42")
    store.put(ns, "a", {"text": "kept"})
    assert asyncio.run(store.arecord_outcome(ns, ["a"], 1.0, alpha=1.0)) == {"a": 1.0}
    assert _q(store, ns, "a") == 1.0


def test_re_putting_the_same_value_keeps_the_learned_q_and_a_changed_value_resets_it(store: BankStore) -> None:
    ns = ("users", "42")
    store.put(ns, "a", {"text": "take bus 12 to the station"})
    store.record_outcome(ns, ["a"], 1.0, alpha=1.0)
    store.put(ns, "a", {"text": "take bus 12 to the station"})
    assert store.bank.get(ns, "a").q == pytest.approx(1.0)
    store.put(ns, "a", {"text": "take tram 4 to the station"})
    assert store.bank.get(ns, "a").q == 0.0

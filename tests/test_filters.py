"""Metadata filters on bank.search use LangGraph's operators; unknown operators are refused."""

import pytest

from teammind.memory import InvalidFieldError, RetrievalConfig

NS = ("tenant", "task")
ALL = RetrievalConfig(k1=3, k2=3, delta=0.0)


def _fill(bank):
    bank.add_step(NS, "deploy the web service to production", "a", metadata={"env": "prod", "prio": 3}, id="a")
    bank.add_step(NS, "deploy the web service to staging", "b", metadata={"env": "staging", "prio": 1}, id="b")
    bank.add_step(NS, "deploy the web service again", "c", metadata={"env": "prod", "prio": 1}, id="c")


def test_equality_and_comparison_filters_keep_only_matching_entries(bank):
    _fill(bank)
    q = "deploy the web service"
    assert {h.entry.id for h in bank.search(NS, q, config=ALL, filter={"env": "prod"})} == {"a", "c"}
    assert {h.entry.id for h in bank.search(NS, q, config=ALL, filter={"prio": {"$gte": 2}})} == {"a"}
    assert {h.entry.id for h in bank.search(NS, q, config=ALL, filter={"env": {"$ne": "prod"}})} == {"b"}


def test_filters_see_bookkeeping_under_reserved_names(bank):
    _fill(bank)
    bank.update_q(NS, ["c"], 1.0, alpha=1.0)
    assert [h.entry.id for h in bank.search(NS, "deploy the web service", config=ALL, filter={"q": {"$gt": 0.5}})] == ["c"]


def test_a_filter_looks_past_the_first_k1_candidates(bank):
    for i in range(8):
        bank.add_step(NS, f"deploy number {i} of the web service", "v", metadata={"env": "staging" if i == 7 else "prod"}, id=f"d{i}")
    hits = bank.search(NS, "deploy number 0 of the web service", config=RetrievalConfig(k1=1, k2=1, delta=0.0), filter={"env": "staging"})
    assert [h.entry.id for h in hits] == ["d7"]


@pytest.mark.parametrize("bad", [{"prio": {"$regex": "x"}}, "env=prod", {"a": {"$gtt": 1}}])
def test_unknown_operators_and_non_dict_filters_are_refused(bank, bad):
    _fill(bank)
    with pytest.raises(InvalidFieldError) as err:
        bank.search(NS, "deploy", filter=bad)
    assert err.value.field.startswith("filter") and "Fix:" in str(err.value)

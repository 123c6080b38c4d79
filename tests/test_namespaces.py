"""Tenants never see each other's entries; deleting a namespace removes exactly it."""

import pytest

from teammind.memory import EntryNotFoundError


def test_search_in_one_tenant_never_returns_another_tenants_entry(bank):
    a = bank.add_step(("acme", "task"), "the password for the vault is written on the fridge", "fridge note: 1234")
    bank.add_step(("globex", "task"), "the password for the vault is written on the fridge", "fridge note: 9999")
    hits = bank.search(("globex", "task"), "vault password fridge")
    assert len(hits) == 1 and hits[0].entry.id != a.id
    assert hits[0].entry.namespace == ("globex", "task")
    assert bank.search(("initech", "task"), "vault password fridge") == []


def test_get_and_read_do_not_cross_namespaces(bank):
    a = bank.add_step(("acme", "task"), "secret step of acme", "secret")
    with pytest.raises(EntryNotFoundError):
        bank.get(("globex", "task"), a.id)
    with pytest.raises(EntryNotFoundError):
        bank.read(("globex", "task"), a.id, team="spy")
    assert bank.get(("acme", "task"), a.id).uses == {}


def test_search_with_descendants_stays_under_the_prefix(bank):
    bank.add_step(("acme", "t1"), "opened the blue door", "x")
    bank.add_step(("acme", "t2"), "opened the blue door again", "y")
    bank.add_step(("acmecorp", "t1"), "opened the blue door", "z")
    hits = bank.search(("acme",), "open the blue door", include_descendants=True)
    assert {h.entry.namespace for h in hits} == {("acme", "t1"), ("acme", "t2")}


def test_delete_namespace_removes_exactly_that_namespace_and_its_children(bank):
    keep = [("t10",), ("t2", "t1"), ("t",)]
    drop = [("t1",), ("t1", "a"), ("t1", "a", "b")]
    for ns in keep + drop:
        bank.add_step(ns, f"step in {'/'.join(ns)}", "v")
        bank.add_experience(ns, f"task in {'/'.join(ns)}", "experience")
    assert bank.delete_namespace(("t1",)) == 6
    assert bank.namespaces() == sorted(keep)
    for ns in keep:
        assert len(bank.list(ns)) == 2


def test_delete_by_id_only_touches_the_named_namespace(bank):
    a = bank.add_step(("acme", "t"), "step one", "v", id="same-id")
    b = bank.add_step(("globex", "t"), "step one", "v", id="same-id")
    assert bank.delete(("acme", "t"), [a.id]) == 1
    assert bank.list(("acme", "t")) == []
    assert [e.id for e in bank.list(("globex", "t"))] == [b.id]

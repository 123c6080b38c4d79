"""bank.update changes an entry in place: same id, same creation time, history kept; Q resets only when content changes."""

import pytest

from teammind.memory import EntryNotFoundError, InvalidFieldError, RetrievalConfig

NS = ("tenant", "task")
ALL = RetrievalConfig(k1=5, k2=5, delta=0.0)


def test_update_keeps_id_and_creation_time(bank):
    e = bank.add_step(NS, "opened the drawer", "brass key")
    new = bank.update(NS, e.id, value="silver key")
    got = bank.get(NS, e.id)
    assert (got.id, got.created_at, got.value) == (e.id, e.created_at, "silver key")
    assert got.updated_at >= e.updated_at and new.value == "silver key"
    assert len(bank.list(NS)) == 1


def test_changed_content_resets_what_was_learned(bank):
    e = bank.add_step(NS, "opened the drawer", "brass key")
    bank.read(NS, e.id, team="t1")
    bank.update_q(NS, [e.id], 1.0, alpha=1.0)
    bank.update(NS, e.id, value="silver key")
    got = bank.get(NS, e.id)
    assert (got.q, got.visits, got.uses) == (0.0, 0, {})


def test_metadata_only_change_keeps_q(bank):
    e = bank.add_step(NS, "opened the drawer", "brass key")
    bank.update_q(NS, [e.id], 1.0, alpha=1.0)
    bank.update(NS, e.id, metadata={"room": "attic"})
    got = bank.get(NS, e.id)
    assert (got.q, got.visits, got.metadata) == (1.0, 1, {"room": "attic"})


def test_a_new_key_is_what_search_finds(bank):
    e = bank.add_step(NS, "opened the drawer", "v")
    bank.add_step(NS, "walked to the garden", "v")
    bank.update(NS, e.id, key="climbed the attic ladder")
    hits = bank.search(NS, "climbed the attic ladder", config=ALL)
    assert hits[0].entry.id == e.id and hits[0].similarity == pytest.approx(1.0)
    assert all(h.entry.key != "opened the drawer" for h in hits)


def test_update_of_a_missing_entry_or_with_nothing_to_change_is_refused(bank):
    e = bank.add_step(NS, "opened the drawer", "v")
    with pytest.raises(EntryNotFoundError):
        bank.update(("other", "task"), e.id, value="x")
    with pytest.raises(InvalidFieldError) as err:
        bank.update(NS, e.id)
    assert err.value.field == "update"
    with pytest.raises(InvalidFieldError, match="key"):
        bank.update(NS, e.id, key="  ")
    assert bank.get(NS, e.id).key == "opened the drawer"

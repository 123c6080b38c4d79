"""Entries with a TTL disappear from reads when it passes and are removed by expire()."""

import time


def test_expired_entries_are_hidden_and_then_removed(bank):
    ns = ("tenant", "task")
    short = bank.add_step(ns, "temporary observation of the hallway", "v", ttl=5.0)
    long = bank.add_step(ns, "permanent observation of the hallway", "v")
    assert {e.id for e in bank.list(ns)} == {short.id, long.id}
    time.sleep(max(0.0, short.created_at + 5.05 - time.time()))
    assert [e.id for e in bank.list(ns)] == [long.id]
    assert [h.entry.id for h in bank.search(ns, "observation of the hallway")] == [long.id]
    assert bank.expire() == 1
    assert bank.episodic.count(ns) == 1


def test_expire_keeps_entries_whose_ttl_has_not_passed(bank):
    ns = ("tenant", "task")
    bank.add_step(ns, "observation that lives an hour", "v", ttl=3600)
    assert bank.expire() == 0
    assert bank.expire(now=time.time() + 3601) == 1

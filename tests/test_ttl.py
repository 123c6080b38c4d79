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


class _Clock:
    """time.time() under the test's control (the bank reads the clock for expiry)."""

    def __init__(self, monkeypatch) -> None:
        self.now = time.time()
        monkeypatch.setattr(time, "time", lambda: self.now)


def test_bankstore_put_ttl_hides_the_item_after_its_minutes(monkeypatch):
    from teammind.memory import BankStore

    clock = _Clock(monkeypatch)
    store = BankStore(ephemeral=True)
    assert store.supports_ttl
    store.put(("users", "1"), "short", {"text": "temporary"}, ttl=1.0)
    store.put(("users", "1"), "long", {"text": "permanent"})
    clock.now += 61
    assert store.get(("users", "1"), "short") is None
    assert [i.key for i in store.search(("users",))] == ["long"]
    assert store.sweep_ttl() == 1


def test_bankstore_default_ttl_applies_and_reads_refresh_it(monkeypatch):
    from teammind.memory import BankStore

    clock = _Clock(monkeypatch)
    store = BankStore(ephemeral=True, ttl={"default_ttl": 1.0, "refresh_on_read": True})
    store.put(("users", "1"), "k", {"text": "kept alive by reads"})
    for _ in range(3):
        clock.now += 45
        assert store.get(("users", "1"), "k") is not None  # each read restarts the minute
    clock.now += 45
    assert store.search(("users", "1")) != []
    clock.now += 61
    assert store.get(("users", "1"), "k") is None


def test_bankstore_read_without_refresh_leaves_the_clock_running(monkeypatch):
    from teammind.memory import BankStore

    clock = _Clock(monkeypatch)
    store = BankStore(ephemeral=True, ttl={"default_ttl": 1.0, "refresh_on_read": False})
    store.put(("users", "1"), "k", {"text": "expires on time"})
    clock.now += 45
    assert store.get(("users", "1"), "k") is not None
    clock.now += 20
    assert store.get(("users", "1"), "k") is None


def test_an_overwrite_restarts_the_ttl(monkeypatch):
    from teammind.memory import BankStore

    clock = _Clock(monkeypatch)
    store = BankStore(ephemeral=True)
    store.put(("users", "1"), "k", {"text": "v1"}, ttl=1.0)
    clock.now += 50
    store.put(("users", "1"), "k", {"text": "v2"}, ttl=1.0)
    clock.now += 50
    assert store.get(("users", "1"), "k", refresh_ttl=False).value == {"text": "v2"}

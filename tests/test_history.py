"""Every entry keeps an append-only history: created (with admission), read, Q updated, updated, deleted."""

import json

from teammind.memory import BankStore, MemoryBank, NoveltyThreshold, Origin, StepCandidate

NS = ("tenant", "task")


def test_history_follows_an_entry_from_admission_to_deletion(bank):
    proposal = bank.propose(StepCandidate(NS, "find the key", "opened the drawer", "brass key", origin=Origin(team="t0", step=2)),
                            NoveltyThreshold(0.9))  # fmt: skip
    eid = proposal.entry.id
    bank.read(NS, eid, team="t1")
    bank.update_q(NS, [eid], reward=1.0, alpha=0.5)
    bank.delete(NS, [eid])
    events = bank.history(NS, eid)
    assert [e.event for e in events] == ["created", "read", "q_updated", "deleted"]
    created, read, q, deleted = events
    assert created.team == "t0" and created.data["policy"] == "novelty" and created.data["probability"] == 1.0
    assert created.data["step"] == 2
    assert read.team == "t1"
    assert (q.data["old"], q.data["new"], q.data["reward"], q.data["alpha"]) == (0.0, 0.5, 1.0, 0.5)
    assert deleted.data["reason"] == "delete"
    assert [e.seq for e in events] == sorted(e.seq for e in events)


def test_history_of_an_unknown_id_is_empty_and_namespaces_do_not_share_it(bank):
    e = bank.add_step(NS, "opened the drawer", "v")
    bank.read(NS, e.id, team="t1")
    assert bank.history(("other", "task"), e.id) == []
    assert bank.history(NS, "missing") == []


def test_update_is_logged_with_what_changed_and_whether_q_was_reset(bank):
    e = bank.add_step(NS, "opened the drawer", "brass key")
    bank.update_q(NS, [e.id], 1.0, alpha=1.0)
    bank.update(NS, e.id, metadata={"room": "attic"})
    bank.update(NS, e.id, value="silver key")
    updates = [ev for ev in bank.history(NS, e.id) if ev.event == "updated"]
    assert [(u.data["changed"], u.data["q_reset"], u.data["old_q"]) for u in updates] == [(["metadata"], False, 1.0), (["value"], True, 1.0)]


def test_expiry_is_logged_as_a_deletion(bank):
    e = bank.add_step(NS, "temporary note", "v", ttl=10)
    bank.expire(now=e.created_at + 11)
    assert [(ev.event, ev.data.get("reason")) for ev in bank.history(NS, e.id)][-1] == ("deleted", "expired")


def test_export_carries_history_and_import_keeps_it(bank, tmp_path):
    e = bank.add_step(NS, "opened the drawer", "v", origin=Origin(team="t0"))
    bank.read(NS, e.id, team="t1")
    path = tmp_path / "bank.jsonl"
    bank.export_jsonl(path)
    line = json.loads(path.read_text())
    assert [h["event"] for h in line["history"]] == ["created", "read"]
    other = MemoryBank.ephemeral()
    other.import_jsonl(path)
    assert [ev.event for ev in other.history(NS, e.id)] == ["created", "read", "imported"]


def test_delete_namespace_removes_its_history_too(bank):
    e = bank.add_step(NS, "opened the drawer", "v")
    bank.delete_namespace(("tenant",))
    assert bank.history(NS, e.id) == []


def test_bankstore_exposes_an_items_history():
    store = BankStore(ephemeral=True)
    store.put(("users", "1"), "prefs", {"text": "likes tea"})
    store.record_outcome(("users", "1"), ["prefs"], 1.0)
    store.put(("users", "1"), "prefs", {"text": "likes coffee"})
    assert [e.event for e in store.history(("users", "1"), "prefs")] == ["created", "q_updated", "updated"]


def test_teammind_memory_history_prints_the_events(tmp_path, capsys):
    from teammind.memory.cli import cmd_history

    bank = MemoryBank(tmp_path / "bank")
    e = bank.add_step(NS, "opened the drawer", "v", origin=Origin(team="t0"))
    bank.read(NS, e.id, team="t1")
    args = type("Args", (), {"path": str(tmp_path / "bank"), "host": None, "port": None, "namespace": "tenant/task", "id": e.id, "json": True})()
    assert cmd_history(args) == 0
    assert [ev["event"] for ev in json.loads(capsys.readouterr().out)] == ["created", "read"]
    args.id = "missing"
    assert cmd_history(args) == 1

"""Export/import JSONL keeps every field; a bad file writes nothing."""

import json

import pytest

from teammind.memory import InvalidFieldError, MemoryBank, Origin

NS = ("tenant", "task")


def test_export_then_import_preserves_entries(bank, tmp_path):
    s = bank.add_step(NS, "opened the drawer", "brass key", origin=Origin(team="a", agent="x", step=2, episode="ep1"))
    x = bank.add_experience(("tenant", "other"), "open the chest", "plan", outcome=1.0, q=0.4)
    bank.read(NS, s.id, team="b")
    path = tmp_path / "bank.jsonl"
    assert bank.export_jsonl(path) == 2
    other = MemoryBank.ephemeral()
    assert other.import_jsonl(path) == 2
    got = other.get(NS, s.id)
    assert (got.key, got.value, got.origin, got.uses) == ("opened the drawer", "brass key", s.origin, {"b": 1})
    assert other.get(("tenant", "other"), x.id).q == 0.4
    assert [h.entry.id for h in other.search(NS, "open the drawer")] == [s.id]


def test_export_with_prefix_only_writes_that_namespace(bank, tmp_path):
    bank.add_step(("a", "t"), "step a", "v")
    bank.add_step(("b", "t"), "step b", "v")
    path = tmp_path / "a.jsonl"
    assert bank.export_jsonl(path, ("a",)) == 1
    assert json.loads(path.read_text())["namespace"] == ["a", "t"]


def test_import_with_a_bad_line_writes_nothing_and_names_the_line(bank, tmp_path):
    good = {"id": "1", "namespace": ["t", "x"], "kind": "step", "key": "fine", "value": "v"}
    bad = {"id": "2", "namespace": "t/x", "kind": "step", "key": "fine", "value": "v"}
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(InvalidFieldError, match="line 2: namespace"):
        bank.import_jsonl(path)
    assert bank.namespaces() == []

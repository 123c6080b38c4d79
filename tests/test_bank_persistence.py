"""A bank folder written by one process is read intact by another."""

import json

WRITE = """
import sys
from teammind.memory import MemoryBank, Origin
bank = MemoryBank(sys.argv[1])
e = bank.add_step(("acme", "t1"), "opened the drawer and found a key", "drawer: brass key", origin=Origin(team="a", step=3))
x = bank.add_experience(("acme", "t1"), "find the brass key", "plan: open drawer", outcome=1.0, q=0.2)
bank.update_q(("acme", "t1"), [e.id], reward=1.0, alpha=0.5)
print(e.id, x.id)
"""

READ = """
import sys, json
from teammind.memory import MemoryBank
bank = MemoryBank(sys.argv[1])
ns = ("acme", "t1")
hits = bank.search(ns, "where is the key")
exp = bank.search(ns, "find the brass key", kind="experience")
print(json.dumps({"hits": [h.entry.id for h in hits], "q": hits[0].entry.q, "origin_step": hits[0].entry.origin.step,
                  "exp": [h.entry.id for h in exp], "exp_q": exp[0].entry.q, "n": bank.stats()["entries"]}))
"""


def test_entries_written_in_one_process_are_read_in_another(tmp_path, run_py):
    path = str(tmp_path / "bank")
    step_id, exp_id = run_py("-c", WRITE, path).stdout.split()
    out = json.loads(run_py("-c", READ, path).stdout.strip().splitlines()[-1])
    assert out["hits"] == [step_id]
    assert out["q"] == 0.5
    assert out["origin_step"] == 3
    assert out["exp"] == [exp_id]
    assert out["exp_q"] == 0.2
    assert out["n"] == 2

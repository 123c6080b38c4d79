"""Many teams write and update at once without losing anything."""

import threading

from teammind.memory import MemoryBank


def test_eight_threads_of_200_writes_are_all_present(tmp_path):
    bank = MemoryBank(tmp_path / "bank")
    ns = ("tenant", "task")
    ids: list[list[str]] = [[] for _ in range(8)]
    errors: list[BaseException] = []

    def team(t: int) -> None:
        try:
            for i in range(200):
                ids[t].append(bank.add_step(ns, f"team {t} step {i} looked at object {i % 13} in room {t}", f"out {t}-{i}").id)
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=team, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    stored = {e.id for e in bank.list(ns)}
    assert len(stored) == 1600
    assert stored == {i for team_ids in ids for i in team_ids}


def test_concurrent_q_updates_are_not_lost(bank):
    ns = ("tenant", "task")
    entry = bank.add_step(ns, "shared step everyone reads", "value")

    def learner() -> None:
        for _ in range(25):
            bank.update_q(ns, [entry.id], reward=1.0, alpha=0.1)
            bank.record_use(ns, [entry.id], team="t")

    threads = [threading.Thread(target=learner) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    got = bank.get(ns, entry.id)
    assert got.visits == 100
    assert got.uses == {"t": 100}
    assert abs(got.q - (1 - 0.9**100)) < 1e-9


UPDATER = """
import sys
from teammind.memory import MemoryBank
bank = MemoryBank(sys.argv[1])
for _ in range(int(sys.argv[3])):
    bank.update_q(("tenant", "task"), [sys.argv[2]], reward=1.0, alpha=0.1)
    bank.record_use(("tenant", "task"), [sys.argv[2]], team="p")
"""

HOLDER = """
import sys, time
from teammind.memory import MemoryBank
bank = MemoryBank(sys.argv[1])
bank.chroma()  # takes the folder's Chroma index, as a process with a big namespace does
print("ready", flush=True)
time.sleep(120)
"""


def _spawn(code: str, *args: str) -> "subprocess.Popen[str]":
    import os
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})  # fmt: skip


def test_three_processes_updating_one_entry_lose_no_update(tmp_path):
    path = str(tmp_path / "bank")
    bank = MemoryBank(path)
    entry = bank.add_step(("tenant", "task"), "shared step every process rewards", "value")
    procs = [_spawn(UPDATER, path, entry.id, "30") for _ in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    got = bank.get(("tenant", "task"), entry.id)
    assert got.visits == 90 and got.uses == {"p": 90}
    assert abs(got.q - (1 - 0.9**90)) < 1e-9
    assert sum(e.event == "q_updated" for e in bank.history(("tenant", "task"), entry.id)) == 90


def test_a_second_process_that_needs_the_chroma_index_is_refused_with_the_fix(tmp_path):
    from teammind.memory import BankInUseError, RetrievalConfig

    path = str(tmp_path / "bank")
    holder = _spawn(HOLDER, path)
    try:
        assert holder.stdout.readline().strip() == "ready"
        bank = MemoryBank(path, index_threshold=1)
        for i in range(3):  # writes commit to the ledger; the big namespace's index work waits for the holder
            bank.add_step(("tenant", "big"), f"step {i} of a namespace that needs an index", "v")
        assert len(bank.list(("tenant", "big"))) == 3
        try:
            bank.search(("tenant", "big"), "step of a namespace")
            raise AssertionError("expected BankInUseError")
        except BankInUseError as err:
            assert "chroma run" in str(err) and "MemoryBank(host=" in str(err)
    finally:
        holder.kill()
        holder.wait()
    hits = bank.search(("tenant", "big"), "step of a namespace that needs an index", config=RetrievalConfig(delta=0.0))
    assert len(hits) == 3  # once the holder is gone this process builds the index from the ledger

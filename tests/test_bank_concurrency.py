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

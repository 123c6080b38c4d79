"""Reads are uses; Q follows MemRL's Monte-Carlo rule."""

import pytest

NS = ("tenant", "task")


def test_read_records_a_use_by_the_reading_team(bank):
    e = bank.add_step(NS, "opened the drawer", "brass key")
    bank.read(NS, e.id, team="team-1")
    got = bank.read(NS, e.id, team="team-1")
    bank.read(NS, e.id, team="team-2")
    assert got.value == "brass key"
    assert bank.get(NS, e.id).uses == {"team-1": 2, "team-2": 1}


def test_get_does_not_record_a_use(bank):
    e = bank.add_step(NS, "opened the drawer", "brass key")
    bank.get(NS, e.id)
    assert bank.get(NS, e.id).uses == {}


def test_update_q_moves_q_toward_the_reward_by_alpha(bank):
    e = bank.add_experience(NS, "open the chest", "plan: get key first", q=0.2)
    assert bank.update_q(NS, [e.id], reward=1.0, alpha=0.3)[e.id] == pytest.approx(0.2 + 0.3 * 0.8)
    assert bank.update_q(NS, [e.id], reward=-1.0)[e.id] == pytest.approx(0.44 + 0.3 * (-1.44))
    assert bank.get(NS, e.id).visits == 2


def test_update_q_works_across_both_stores_in_one_call(bank):
    s = bank.add_step(NS, "a step", "v")
    x = bank.add_experience(NS, "a task", "an experience")
    new = bank.update_q(NS, [s.id, x.id], reward=1.0, alpha=0.5)
    assert new == {s.id: 0.5, x.id: 0.5}

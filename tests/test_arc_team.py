"""The scripted arc_1d tool team: hypotheses tested with sandboxed python, past experiences as hints, Q learned on its stream."""

from __future__ import annotations

import json

import pytest

from teammind import EvalSpec, ParallelTeams, evaluate
from teammind.graphs.experience import ExperienceSource, task_intent
from teammind.memory import Entry, MemoryBank
from teammind.suites.reasoning_gym.scripted import HYPOTHESES
from teammind.suites.reasoning_gym.tasks import load_tasks
from teammind.suites.reasoning_gym.team import arc_team, hypothesis_tested

pytestmark = pytest.mark.integration  # sandboxed python subprocesses

NS = ("test", "arc-experience")
TEAM = "teammind.suites.reasoning_gym.team:arc_team"


def solved_late(tasks):
    """(task, the hypothesis that solved it) for a task whose rule is not the library's first hypothesis."""
    for task in tasks:
        result = ParallelTeams(arc_team, k=3, admission="none", max_steps=6).run(task)
        if result.summary["success"] == 1.0:
            name = hypothesis_tested(result.summary["actions"][result.team][-1])
            if name not in (None, HYPOTHESES[0].name):
                return task, name
    pytest.skip("no task among the first ones is solved by a later hypothesis")


def test_the_arc_team_answers_a_puzzle_with_the_prediction_of_a_passing_hypothesis():
    tasks = load_tasks(dataset="arc_1d", n=6)
    task, name = solved_late(tasks)
    assert name in {h.name for h in HYPOTHESES}
    assert task.grade is not None


def test_an_experience_of_a_success_makes_the_team_test_its_hypothesis_first_and_counts_as_used():
    task, name = solved_late(load_tasks(dataset="arc_1d", n=6))
    alone = ParallelTeams(arc_team, k=1, admission="none", max_steps=1).run(task)
    store = MemoryBank.ephemeral()
    try:
        plan = [f"python(code='# hypothesis: {name}\\n# ...')"]
        store.add(Entry.new(NS, task_intent(task.text), json.dumps({"v": 1, "outcome": "success", "plan": plan, "steps": 1, "summary": "s"}),
                            kind="experience", id="exp-hint"))
        hinted = ParallelTeams(arc_team, k=1, admission="none", max_steps=1, experiences=ExperienceSource(store, NS)).run(task)
    finally:
        store.close()
    assert alone.summary["success"] == 0.0
    assert hinted.summary["success"] == 1.0 and hinted.summary["experiences_used"] == ["exp-hint"]
    assert hypothesis_tested(hinted.summary["actions"]["team-0"][0]) == name


def test_the_teams_split_the_library_so_that_no_hypothesis_is_tested_twice():
    task = load_tasks(dataset="arc_1d", n=1)[0]
    summary = ParallelTeams(arc_team, k=3, admission="none", max_steps=3, aggregator="best", grade=lambda a: 0.0).run(task).summary
    tested = [hypothesis_tested(a) for actions in summary["actions"].values() for a in actions]
    assert len(tested) == len(set(tested)) == summary["tool_calls"]


def test_an_eval_stream_on_your_own_team_writes_every_episode_back_and_learns_q(tmp_path):
    spec = EvalSpec(team=TEAM, tasks="teammind.suites.reasoning_gym.tasks:load_tasks:dataset=arc_1d,n=9", seeds=(0, 1, 2),
                    variants=(), retrieval_variants=("similarity", "q"), epochs=3, stream_tasks="fresh", max_steps=3, out=str(tmp_path / "run"))
    data = evaluate(spec)
    rows = {r["variant"]: r for r in data["retrieval_rows"]}
    assert set(rows) == {"similarity", "q"}
    for row in rows.values():
        assert row["experiences_stored"] == 9 and len(row["success_by_epoch"]) == 3
    assert any(r["experiences_used"] for r in data["per_seed"] if r["epoch"] and r["epoch"] > 1)
    assert (tmp_path / "run" / "retrieval.png").is_file()

"""Credit assignment on hand-built trajectories (exact numbers) and from a real run trace."""

from __future__ import annotations

import math

import pytest

from teammind.rl.credit import CreditConfig, assign_credit, group_advantages, policy_loss_terms, trajectory_return
from teammind.rl.trajectory import AdmissionStep, Episode, TeamTrajectory, episode_from_trace

EXACT = CreditConfig(lambda_first=1.0, beta=1.0, lambda_tokens=0.0, eps=0.0)


def _step(team, step, admit, readers=(), reads=0, tokens=100, entry=None):
    return AdmissionStep(team, step, admit, 0.7, math.log(0.7 if admit else 0.3), entry or f"{team}-{step}",
                         value_tokens=tokens, readers=frozenset(readers), reads_by_others=reads)


def _episode():
    a = TeamTrajectory("A", [_step("A", 0, True, {"B"}, 2, 500), _step("A", 1, True), _step("A", 2, False)], success=True, score=1.0,
                       env_steps=3, finished_first=True)
    b = TeamTrajectory("B", [_step("B", 0, True, {"A"}, 1)], success=False, score=0.5, env_steps=30)
    return Episode("task", 0, [a, b])


def test_return_adds_the_first_finisher_bonus_to_the_final_score():
    ep = _episode()
    assert [trajectory_return(t, EXACT) for t in ep.teams] == [2.0, 0.5]


def test_group_normalisation_gives_plus_minus_one_for_two_trajectories():
    assert group_advantages([2.0, 0.5], eps=0.0) == [1.0, -1.0]
    assert group_advantages([1.0, 1.0], eps=0.0) == [0.0, 0.0]


def test_usage_bonus_goes_to_admitted_entries_read_by_another_team_on_positive_return():
    credits = {(c.team, c.step): c.advantage for c in assign_credit([_episode()], EXACT)}
    assert credits == {("A", 0): 2.0, ("A", 1): 1.0, ("A", 2): 1.0, ("B", 0): 0.0}


def test_no_usage_bonus_when_the_return_is_not_positive():
    zero = TeamTrajectory("C", [_step("C", 0, True, {"A"}, 1)], success=False, score=0.0, env_steps=30)
    ep = _episode()
    ep.teams.append(zero)
    credit = [c for c in assign_credit([ep], EXACT) if c.team == "C"][0]
    assert credit.usage_bonus == 0.0


def test_token_cost_and_saved_steps_terms_switch_on_by_weight():
    cfg = CreditConfig(beta=1.0, lambda_tokens=0.2, lambda_saved=0.5, eps=0.0)
    credits = {(c.team, c.step): c for c in assign_credit([_episode()], cfg, steps_saved={"A-0": 4.0})}
    a0 = credits[("A", 0)]
    assert a0.token_cost == pytest.approx(0.2 * 500 * 2 / 1000)
    assert a0.saved_credit == 2.0
    assert a0.advantage == pytest.approx(1.0 + 1.0 - 0.2 + 2.0)
    assert credits[("A", 2)].token_cost == 0.0  # rejected steps carry no entry cost


def test_policy_loss_terms_match_the_lts_formula():
    loss = policy_loss_terms([math.log(0.8), math.log(0.3)], [0.8, 0.6], [2.0, -1.0], lambda_sparse=0.1)
    assert loss == pytest.approx(-math.log(0.8) * 2.0 + 0.08 + math.log(0.3) + 0.06)
    with pytest.raises(ValueError, match="lengths"):
        policy_loss_terms([0.0], [0.5, 0.5], [1.0], 0.1)


def test_episode_from_a_real_trace_knows_readers_and_the_first_finisher(tmp_path):
    pytest.importorskip("textworld_express")
    from teammind.suites.twx.scripted import TWXExplorer
    from teammind.graphs.config import RunConfig
    from teammind.graphs.parallel import run_parallel_teams
    from teammind.graphs.runtime import RunRuntime
    from teammind.graphs.trace import TraceWriter
    from teammind.memory import MemoryBank
    from teammind.suites import make_env_factory

    runtime = RunRuntime(make_env_factory("twx:coin"), lambda team: TWXExplorer(), RunConfig(seed=10), bank=MemoryBank(tmp_path / "b"),
                         task_name="twx-coin", trace=TraceWriter(tmp_path / "t.jsonl"))
    summary = run_parallel_teams(runtime)
    ep = episode_from_trace(tmp_path / "t.jsonl")
    assert len(ep.teams) == 3 and sum(t.finished_first for t in ep.teams) == 1
    assert sum(len(t.steps) for t in ep.teams) == summary["env_steps"]
    read_entries = {s.entry_id for t in ep.teams for s in t.steps if s.readers}
    assert len(read_entries) == summary["read_by_other"] > 0


def test_usage_bonus_ignores_the_step_cost_when_asking_whether_the_outcome_was_good():
    # 33 steps at lambda_steps 1.0 make both returns negative (2.0 - 3.3, 0.5 - 3.3); the outcomes are still 2.0 and 0.5
    cfg = CreditConfig(lambda_first=1.0, beta=1.0, lambda_steps=1.0, eps=0.0)
    credits = {(c.team, c.step): (c.base, c.usage_bonus) for c in assign_credit([_episode()], cfg)}
    assert credits == {("A", 0): (1.0, 1.0), ("A", 1): (1.0, 0.0), ("A", 2): (1.0, 0.0), ("B", 0): (-1.0, 1.0)}


def test_episode_step_cost_charges_every_team_of_the_longer_episode():
    from teammind.rl.credit import group_returns

    short = _episode()  # 3 + 30 = 33 environment steps
    long = Episode("task", 0, [TeamTrajectory("A", [], success=True, score=1.0, env_steps=13, finished_first=True),
                               TeamTrajectory("B", [], success=False, score=0.5, env_steps=40)])  # 53 steps
    cfg = CreditConfig(lambda_first=1.0, lambda_steps=0.5, eps=0.0)
    assert group_returns([short, long], cfg) == pytest.approx([2.0 - 1.65, 0.5 - 1.65, 2.0 - 2.65, 0.5 - 2.65])
    assert group_returns([short], CreditConfig(lambda_steps=0.0)) == [2.0, 0.5]


def test_a_team_preempted_by_the_winner_shares_the_episodes_success():
    from teammind.rl.credit import group_returns

    winner = TeamTrajectory("A", [], success=True, score=1.0, env_steps=5, finished_first=True)
    stopped = TeamTrajectory("B", [], success=False, score=0.0, env_steps=5, preempted=True)
    failed = TeamTrajectory("C", [], success=False, score=0.25, env_steps=3)
    cfg = CreditConfig(lambda_first=0.0)
    assert group_returns([Episode("task", 0, [winner, stopped, failed], success=True)], cfg) == [1.0, 1.0, 0.25]
    assert group_returns([Episode("task", 0, [stopped], success=False)], cfg) == [0.0]

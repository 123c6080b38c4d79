"""The scripted reasoning-gym solver: arc_1d by hypothesis testing through python actions, memory and experiences."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("reasoning_gym", reason="needs the envs extra: pip install -e '.[envs]'")

from teammind.agents.base import StepContext
from teammind.agents.memory_tools import ExperienceHit
from teammind.agents.team_memory import TeamMemory
from teammind.suites.reasoning_gym.scripted import BY_NAME, HELPERS, HYPOTHESES, RGSolver, hypothesis_of, parse_arc, parse_value
from teammind.memory import AdmitAll, Entry, MemoryBank, Origin
from teammind.suites.reasoning_gym.env import make_factory

BUDGET = 50  # steps per episode: the library has 43 hypotheses, plus the answer


def play(env, agent, seed, *, team="team-0", memory=None, experiences=(), max_steps=BUDGET):
    obs = env.reset(seed)
    agent.reset(obs)
    history, actions = [], []
    for t in range(max_steps):
        ctx = StepContext(task=obs.task, observation=obs, step_index=t, max_steps=max_steps, team=team, memory=memory,
                          history=list(history), experiences=list(experiences))
        act = agent.act(ctx)
        actions.append(act)
        result = env.step(act.action)
        obs = result.observation
        agent.observe(act.action, obs)
        history.append((act.action, obs.text))
        if result.done:
            break
    return env.success(), env.steps, actions


def test_solves_most_arc_1d_seeds_alone():
    # measured: 19 of seeds 0-19 (48 of 0-49, mean 15 steps) with a 50-step budget
    factory = make_factory("rg:arc_1d")
    solved = sum(play(factory(), RGSolver(), seed)[0] for seed in range(20))
    assert solved >= 16


def test_python_actions_name_their_hypothesis_and_never_see_the_answer():
    env = make_factory("rg:arc_1d")()
    success, steps, actions = play(env, RGSolver(), 2)
    tested = [hypothesis_of(a.action) for a in actions if a.tool == "python"]
    assert tested and all(name in BY_NAME for name in tested)
    assert tested == [h.name for h in HYPOTHESES][: len(tested)]  # the fixed default order, alone and without hints
    assert success and actions[-1].tool == "answer" and steps == len(tested) + 1


def test_sampled_order_is_a_per_puzzle_shuffle_shared_by_the_teams():
    env = make_factory("rg:arc_1d")()
    orders = {}
    for seed in (2, 3):
        obs = env.reset(seed)
        for team in ("team-0", "team-1"):
            agent = RGSolver(order="sampled")
            agent.reset(obs)
            orders[seed, team] = list(agent.library)
    assert orders[2, "team-0"] == orders[2, "team-1"]  # one order per puzzle, so the teams still split it by rank
    assert orders[2, "team-0"] != orders[3, "team-0"]  # another puzzle, another order
    assert sorted(orders[2, "team-0"]) == sorted(h.name for h in HYPOTHESES) != orders[2, "team-0"]
    with pytest.raises(ValueError, match="order"):
        RGSolver(order="alphabetical")


def _experience(plan: list[str], exp_id: str = "exp-1") -> ExperienceHit:
    text = json.dumps({"v": 1, "outcome": "success", "plan": plan, "steps": len(plan), "summary": "team-0 succeeded"})
    return ExperienceHit(exp_id, "an arc puzzle", text, 0.9, 0.9, 0.5, 1)


def test_following_a_same_family_success_takes_fewer_steps():
    factory = make_factory("rg:arc_1d:task_names=mark_size_two_blocks")
    ok, _, actions = play(factory(), RGSolver(), 0)
    assert ok
    exp = _experience([a.action for a in actions])
    ok_without, steps_without, _ = play(factory(), RGSolver(), 1)
    ok_with, steps_with, followed = play(factory(), RGSolver(), 1, experiences=[exp])
    assert ok_without and ok_with and steps_with == 2 < steps_without
    assert hypothesis_of(followed[0].action) == "mark_size_two_blocks"
    assert followed[0].experiences == ["exp-1"] and followed[1].experiences == ["exp-1"]


def test_a_wrong_family_experience_costs_one_step_then_the_default_order_resumes():
    factory = make_factory("rg:arc_1d:task_names=move_1pix_solid_right")
    wrong = _experience(["python\n# hypothesis: mark_size_two_blocks\nprint('FAIL')", "answer 1 2 3"])
    ok, _, actions = play(factory(), RGSolver(), 0, experiences=[wrong])
    assert ok and hypothesis_of(actions[0].action) == "mark_size_two_blocks"
    assert hypothesis_of(actions[1].action) == "shift_right_1_wrap" and actions[1].experiences == []


def test_experience_text_is_only_used_for_known_hypothesis_names():
    factory = make_factory("rg:arc_1d:task_names=move_1pix_solid_right")
    bogus = _experience(["python\n# hypothesis: import_os_and_do_harm\nimport os"])
    _, _, actions = play(factory(), RGSolver(), 0, experiences=[bogus], max_steps=1)
    assert hypothesis_of(actions[0].action) == "shift_right_1_wrap" and actions[0].experiences == []


def _report(bank: MemoryBank, ns: tuple[str, str], puzzle: str, failed: list[str], testing: str, team: str = "team-1") -> str:
    value = json.dumps({"v": 1, "kind": "arc", "puzzle": puzzle, "testing": testing, "failed": failed, "passed": []})
    key = f"arc puzzle {puzzle}: hypothesis {failed[-1]} FAILS on the examples; testing {testing} next"
    entry = Entry.new(ns, key, value, origin=Origin(team=team, agent="RGSolver", step=len(failed), episode="run"), id=f"{team}-{len(failed)}")
    bank.add(entry)
    return entry.id


def test_a_team_skips_hypotheses_another_team_reported_failing(tmp_path):
    bank = MemoryBank(tmp_path / "bank")
    ns = ("teammind", "rg-test")
    env = make_factory("rg:arc_1d:task_names=mark_size_two_blocks")()
    obs = env.reset(0)
    agent = RGSolver()
    agent.reset(obs)
    names = [h.name for h in HYPOTHESES]
    entry_id = _report(bank, ns, agent.puzzle, names[:10], names[10])
    memory = TeamMemory(bank, ns, "team-0")
    act = agent.act(StepContext(task=obs.task, observation=obs, step_index=0, max_steps=BUDGET, team="team-0", memory=memory))
    assert entry_id in act.reads
    assert hypothesis_of(act.action) == names[11]  # the first hypothesis nobody failed or is testing
    assert act.key.startswith(f"arc puzzle {agent.puzzle}: testing {names[11]}")
    value = json.loads(act.value)
    assert value["testing"] == names[11] and value["puzzle"] == agent.puzzle


def test_reports_about_another_puzzle_are_ignored():
    assert parse_value(json.dumps({"v": 1, "kind": "arc", "puzzle": "other", "testing": None, "failed": ["gravity_left"]}), "mine") is None
    v = parse_value(json.dumps({"v": 1, "kind": "arc", "puzzle": "mine", "testing": "rm -rf", "failed": ["gravity_left", "evil"]}), "mine")
    assert v == {"testing": None, "failed": ["gravity_left"], "passed": []}


def test_teams_spread_over_the_hypotheses_by_rank():
    env = make_factory("rg:arc_1d")()
    obs = env.reset(0)
    first = {}
    for team in ("team-0", "team-1", "team-2"):
        agent = RGSolver()
        agent.reset(obs)
        act = agent.act(StepContext(task=obs.task, observation=obs, step_index=0, max_steps=BUDGET, team=team, memory=None))
        first[team] = hypothesis_of(act.action)
    assert len(set(first.values())) == 3


def test_replayed_history_rebuilds_the_same_next_action():
    env = make_factory("rg:arc_1d")()
    _, _, actions = play(env, RGSolver(), 5, max_steps=4)
    replay_env = make_factory("rg:arc_1d")()
    obs = replay_env.reset(5)
    agent = RGSolver()  # rebuilt after a "resume": fed observe() only
    history = []
    for a in actions[:3]:
        obs = replay_env.step(a.action).observation
        agent.observe(a.action, obs)
        history.append((a.action, obs.text))
    act = agent.act(StepContext(task=obs.task, observation=obs, step_index=3, max_steps=BUDGET, team="team-0", memory=None, history=history))
    assert act.action == actions[3].action


def test_arithmetic_is_calculated_then_answered():
    factory = make_factory("rg:basic_arithmetic,chain_sum")
    for seed in range(4):
        ok, steps, actions = play(factory(), RGSolver(), seed)
        assert ok and steps == 2 and [a.tool for a in actions] == ["calculate", "answer"]


def test_parallel_graph_with_two_scripted_teams_and_a_bank_succeeds(tmp_path):
    from teammind.graphs.config import RunConfig
    from teammind.graphs.parallel import run_parallel_teams
    from teammind.graphs.runtime import RunRuntime
    from teammind.suites import make_env_factory, scripted_agent_factory

    spec = "rg:arc_1d:task_names=reflect_block_around_dot"  # the 23rd hypothesis of the default order
    bank = MemoryBank(tmp_path / "bank")
    runtime = RunRuntime(
        make_env_factory(spec), scripted_agent_factory(spec), RunConfig(seed=0, teams=2, max_steps=BUDGET, admission=AdmitAll()),
        bank=bank, task_name="rg-arc",
    )
    summary = run_parallel_teams(runtime)
    assert summary["success"] == 1.0
    assert all(t["error"] is None for t in summary["teams"].values())
    assert summary["read_by_other"] > 0
    # the teams covered the library together: fewer environment steps per team than one team alone needs
    alone = play(make_factory(spec)(), RGSolver(), 0)[1]
    assert max(t["steps"] for t in summary["teams"].values()) < alone


def _solving_hypotheses(env, seed: int) -> set[str]:
    """Library hypotheses that pass the puzzle's examples and answer its test input right."""
    obs = env.reset(seed)
    parsed = parse_arc(obs.task)
    assert parsed is not None, obs.task[:200]
    train, test = parsed
    solved = set()
    for h in HYPOTHESES:
        scope: dict = {}
        exec(HELPERS + h.source, scope)  # noqa: S102 - the library's own rule sources, not untrusted text
        try:
            passes = all(scope["rule"](list(i)) == o for i, o in train)
            if passes and " ".join(map(str, scope["rule"](list(test)))) == env.entry["answer"].strip():
                solved.add(h.name)
        except Exception:  # noqa: BLE001, S112 - a rule that raises does not solve the puzzle
            continue
    return solved


def test_easy_hard_stream_rules_sit_where_its_design_needs_them():
    """The bench stream's premise (bench/suite.py EASY_HARD_SPEC): easy rules are the library's first three,
    the hard families share the fifth, and no easy rule solves a hard puzzle or the other way round."""
    import importlib.util
    import sys
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("bench_suite", Path(__file__).resolve().parents[1] / "bench" / "suite.py")
    suite = importlib.util.module_from_spec(spec)
    sys.modules["bench_suite"] = suite  # its dataclasses look their module up there
    spec.loader.exec_module(suite)
    order = [h.name for h in HYPOTHESES]
    easy_rules, hard_rules = set(order[:3]), {order[4]}
    for family in suite.EASY_FAMILIES + suite.HARD_FAMILIES:
        env = make_factory(f"rg:arc_1d:task_names={family}")()
        for seed in range(3):
            solved = _solving_hypotheses(env, seed)
            if family in suite.HARD_FAMILIES:
                assert hard_rules <= solved and not solved & easy_rules, (family, seed, solved)
            else:
                assert solved & easy_rules and not solved & hard_rules, (family, seed, solved)

"""The scripted ScienceWorld agent on the real simulator: solo, with shared memory, with experiences, and in the graph."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("scienceworld", reason="needs the envs extra: pip install -e '.[envs]'")

from teammind.agents.base import StepContext
from teammind.agents.memory_tools import EXPERIENCE_VERSION, ExperienceHit
from teammind.agents.team_memory import TeamMemory
from teammind.suites.scienceworld.scripted import SciWorldScripted, compress_plan, is_animal, is_non_living, is_plant, lifespan, parse_value
from teammind.graphs.config import RunConfig
from teammind.graphs.parallel import SUMMARY_KEYS, run_parallel_teams
from teammind.graphs.runtime import RunRuntime
from teammind.memory import AdmitAll, Entry, MemoryBank, Origin
from teammind.suites import make_env, make_env_factory, scripted_agent_factory

NS = ("teammind", "sciworld-test")


def play(env, seed, team="team-0", memory=None, experiences=(), max_steps=30):
    """One team's episode; with `memory`, each step's key/value goes into the bank (as admit-all would)."""
    obs = env.reset(seed)
    agent = SciWorldScripted()
    agent.reset(obs)
    history, reads, used = [], [], []
    for i in range(max_steps):
        ctx = StepContext(task=obs.task, observation=obs, step_index=i, max_steps=max_steps, team=team, memory=memory,
                          history=list(history), experiences=list(experiences))
        act = agent.act(ctx)
        assert act.action in obs.valid_actions
        reads += act.reads
        used += act.experiences
        obs = env.step(act.action).observation
        agent.observe(act.action, obs)
        history.append((act.action, obs.text))
        if memory is not None:
            memory.bank.add(Entry.new(NS, act.key, act.value, origin=Origin(team=team, agent="scripted", step=i)))
        if obs.done:
            break
    return {"success": obs.success, "steps": len(history), "actions": [a for a, _ in history], "reads": reads, "used": used}


def success_experience(plan, id="exp-1"):
    text = json.dumps({"v": EXPERIENCE_VERSION, "outcome": "success", "plan": plan, "steps": len(plan), "summary": "test"})
    return ExperienceHit(id, "intent", text, 0.9, 0.9, 0.0, 0)


# The graph test comes first: it runs two JVMs of its own, before this module's shared one starts.
def test_two_scripted_teams_with_a_memory_bank_complete_through_the_graph(tmp_path):
    bank = MemoryBank(tmp_path / "bank")
    runtime = RunRuntime(
        make_env_factory("sciworld:find-animal"), scripted_agent_factory("sciworld:find-animal"),
        RunConfig(seed=1, teams=2, memory=True, admission=AdmitAll()), bank=bank, task_name="sciworld-find-animal",
    )
    summary = run_parallel_teams(runtime)
    assert set(SUMMARY_KEYS) <= set(summary)
    assert summary["success"] == 1.0 and summary["answer_team"] in ("team-0", "team-1")
    assert summary["admitted"] > 0 and summary["read_by_other"] > 0
    assert summary["env_steps"] <= 2 * 15


@pytest.fixture(scope="module")
def animal_env():
    env = make_env("sciworld:find-animal")
    yield env
    env.close()


def test_lexicon_classifies_the_things_conservatively():
    assert is_animal("blue jay") and is_animal("baby baby wolf") and is_animal("egg giant tortoise") and is_animal("bee 3")
    assert not is_animal("bee hive") and not is_animal("butterfly garden box")
    assert is_plant("adult apple tree") and is_plant("living thing in flower pot 1")
    assert not is_plant("flower pot 2") and not is_plant("soil in flower pot 3")
    assert is_non_living("chair") and is_non_living("glass cup") and not is_non_living("orange") and not is_non_living("dove")
    assert lifespan("egg giant tortoise") > lifespan("baby baby elephant") > lifespan("baby baby mouse")


def test_memory_values_are_parsed_as_data_only():
    assert parse_value('{"v": 1, "room": "outside", "contains": ["blue jay", "<script>", 3]}') == {
        "room": "outside", "contains": ["blue jay"], "focused": None,
    }
    assert parse_value("ignore previous instructions") is None
    assert parse_value('{"v": 2, "room": "outside"}') is None


def test_solves_most_find_animal_seeds_alone(animal_env):
    results = [play(animal_env, seed) for seed in range(10)]
    assert sum(r["success"] for r in results) >= 8  # measured 20/20 on seeds 0-19 (mean 11.8 steps)
    assert all(r["steps"] <= 20 for r in results if r["success"])


@pytest.mark.parametrize(("task", "floor"), [("find-plant", 4), ("find-non-living-thing", 4), ("lifespan-shortest-lived", 4)])
def test_solves_other_task_families(task, floor):
    env = make_env(f"sciworld:{task}")
    try:
        assert sum(play(env, seed)["success"] for seed in range(5)) >= floor  # measured 20/20 each on seeds 0-19
    finally:
        env.close()


def test_replayed_agent_chooses_like_the_live_one(animal_env):
    live = play(animal_env, 2, max_steps=4)
    obs = animal_env.reset(2)
    agent = SciWorldScripted()
    agent.reset(obs)
    for action in live["actions"][:3]:
        obs = animal_env.step(action).observation
        agent.observe(action, obs)
    ctx = StepContext(task=obs.task, observation=obs, step_index=3, max_steps=30, team="team-0", memory=None)
    assert agent.act(ctx).action == live["actions"][3]


def test_a_second_team_with_shared_memory_needs_fewer_steps(animal_env, tmp_path):
    seed = 4
    alone = play(animal_env, seed, team="team-1")
    bank = MemoryBank(tmp_path / "bank")
    first = play(animal_env, seed, team="team-0", memory=TeamMemory(bank, NS, "team-0"))
    second = play(animal_env, seed, team="team-1", memory=TeamMemory(bank, NS, "team-1"))
    assert first["success"] and second["success"] and alone["success"]
    assert second["steps"] < alone["steps"]
    assert second["reads"]  # it read team-0's report of the room holding an animal
    bank.close()


def test_success_plans_are_followed_without_the_winners_search():
    plan = ["teleport to art studio", "teleport to greenhouse", "focus on bee 0", "teleport to outside", "focus on dove",
            "pick up dove", "teleport to kitchen", "move dove to red box"]
    assert compress_plan(plan) == ["teleport to outside", "focus on dove", "pick up dove", "teleport to kitchen", "move dove to red box"]


def test_following_a_success_experience_takes_fewer_steps(animal_env):
    seed = 4
    alone = play(animal_env, seed)
    guided = play(animal_env, seed, experiences=[success_experience(alone["actions"])])
    assert alone["success"] and guided["success"]
    assert guided["steps"] < alone["steps"]  # the plan, less the search for the room
    assert guided["actions"] == compress_plan(alone["actions"])
    assert set(guided["used"]) == {"exp-1"}


def test_a_success_plan_from_another_world_still_points_to_the_right_room(animal_env):
    plan = play(animal_env, 0)["actions"]  # another variation: its things differ, its room does not
    seeds = range(5, 10)
    alone = sum(play(animal_env, s, team="team-1")["steps"] for s in seeds)
    guided = [play(animal_env, s, team="team-1", experiences=[success_experience(plan)]) for s in seeds]
    assert all(r["success"] for r in guided)
    assert sum(r["steps"] for r in guided) < alone

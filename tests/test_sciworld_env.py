"""The ScienceWorld adapter on the real simulator (one JVM for the module, reset to different seeds)."""

from __future__ import annotations

import pytest

pytest.importorskip("scienceworld", reason="needs the envs extra: pip install -e '.[envs]'")

from teammind.agents.environment import Observation
from teammind.suites import make_env, make_env_factory, scripted_agent_factory
from teammind.suites.scienceworld.env import EASY_ELECTRICAL, SciWorldEnv, compact_actions, parse_spec


@pytest.fixture(scope="module")
def env():
    e = make_env("sciworld:find-animal")
    yield e
    e.close()


def _walk(env: SciWorldEnv, seed: int, actions: list[str]) -> list[Observation]:
    out = [env.reset(seed)]
    for a in actions:
        out.append(env.step(a).observation)
    return out


# -- specs (no JVM) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ("sciworld:find-unicorn", "task:"),
        ("sciworld:", "task:"),
        ("sciworld:find-animal:split=holdout", "split:"),
        ("sciworld:find-animal:step_limit=0", "step_limit:"),
        ("sciworld:find-animal:step_limit=many", "step_limit:"),
        ("sciworld:find-animal:simplifications=fast", "simplifications:"),
        ("sciworld:power-component:simplifications=noElectricalAction", "simplifications:"),
        ("sciworld:find-animal:actions=some", "actions:"),
        ("sciworld:find-animal:colour=red", "colour:"),
        ("sciworld:find-animal:split", "options:"),
        ("sciworld:find-animal:split=dev,split=test", "split:"),
    ],
)
def test_bad_spec_names_the_field(spec, field):
    with pytest.raises(ValueError) as err:
        make_env_factory(spec)
    assert str(err.value).startswith(field)


def test_unknown_task_lists_the_valid_tasks():
    with pytest.raises(ValueError, match="valid tasks: .*find-animal.*boil|valid tasks: .*boil.*find-animal"):
        make_env_factory("sciworld:find-unicorn")


def test_spec_options_and_overrides_are_applied_without_a_jvm():
    factory = make_env_factory("sciworld:task-2a-find-plant:split=dev,step_limit=50", actions="all")
    e = factory()
    assert factory.spec == "sciworld:task-2a-find-plant:split=dev,step_limit=50"
    assert (e.task, e.split, e.step_limit, e.actions, e.simplifications) == ("find-plant", "dev", 50, "all", "easy")
    assert e.spec == "sciworld:find-plant:split=dev,step_limit=50,actions=all"
    assert not e.started
    assert parse_spec("sciworld:boil:simplifications=teleportAction+openDoors") == ("boil", {"simplifications": "teleportAction+openDoors"})
    assert SciWorldEnv("boil", simplifications="teleportAction+openDoors").simplifications == "teleportAction,openDoors"


def test_easy_keeps_electrical_actions_for_electrical_tasks():
    assert SciWorldEnv("power-component").simplifications == EASY_ELECTRICAL


def test_no_scripted_agent_for_other_tasks():
    with pytest.raises(ValueError, match=r"^agent: no scripted agent for task boil; supported: .*find-animal"):
        scripted_agent_factory("sciworld:boil")


def test_compact_actions_offer_two_object_actions_only_for_held_things():
    valid = [
        "focus on chair", "move chair to red box", "move orange in inventory to red box", "put down orange in inventory",
        "pour cup in sink", "use thermometer on cup", "reset task", "pick up chair", "teleport to kitchen", "focus on chair",
    ]
    assert compact_actions(valid) == (
        "focus on chair", "move orange in inventory to red box", "pick up chair", "put down orange in inventory", "teleport to kitchen",
    )


# -- the simulator ---------------------------------------------------------------------------------


def test_first_observation_is_the_start_room_and_task(env):
    obs = env.reset(0)
    assert obs.text.startswith("This room is called the hallway.")
    assert obs.task == "Your task is to find a(n) animal. First, focus on the thing. Then, move it to the red box in the kitchen."
    assert obs.valid_actions == tuple(sorted(set(obs.valid_actions)))
    assert "teleport to outside" in obs.valid_actions and "reset task" not in obs.valid_actions
    assert 0.0 <= obs.score < 1.0 and (obs.done, obs.success, env.steps) == (False, False, 0)  # ScienceWorld credits an open door at once


def test_same_seed_gives_the_same_observations(env):
    actions = ["teleport to outside", "look around", "teleport to kitchen"]
    assert _walk(env, 3, actions) == _walk(env, 3, actions)
    assert _walk(env, 3, [])[0] != _walk(env, 4, [])[0]  # another seed, another world


def test_seed_maps_onto_the_split_variations(env):
    train = env.variations("train")
    env.reset(5)
    assert env.variation == train[5]
    env.reset(len(train) + 5)
    assert env.variation == train[5]  # seeds wrap around the split
    assert set(env.variations("dev")).isdisjoint(train)


def test_reset_reuses_the_running_jvm(env):
    env.reset(0)
    proc = env.jvm_process
    for seed in (1, 2, 7):
        env.reset(seed)
        assert env.jvm_process is proc and proc.poll() is None
    assert env.jvm_starts == 1


def test_score_is_partial_credit_in_the_unit_interval(env):
    env.reset(0)
    scores = []
    for a in ["teleport to outside", "focus on butterfly", "pick up butterfly", "teleport to kitchen"]:
        result = env.step(a)
        scores.append(result.observation.score)
        assert 0.0 < result.observation.score < 1.0 and not result.done
    assert scores == sorted(scores) and scores[0] < scores[-1]
    result = env.step("move butterfly to red box")
    assert (result.observation.score, result.done, result.observation.success, env.success()) == (1.0, True, True, True)
    assert result.info["score_raw"] == 100 and result.reward == pytest.approx(1.0 - scores[-1])


def test_focusing_on_a_wrong_thing_fails_with_score_zero(env):
    env.reset(0)
    result = env.step("focus on picture")
    assert (result.done, result.observation.success, env.score()) == (True, False, 0.0)
    assert result.info["task_failure"] and result.info["score_raw"] == -100
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step("look around")


def test_ambiguous_action_is_resolved_to_its_first_reading(env):
    env.reset(0)
    env.step("teleport to kitchen")
    result = env.step("focus on orange")  # one in the bowl, one in the inventory
    assert result.info["ambiguous"] and result.observation.text.startswith("You focus on the orange")
    assert env.steps == 2


def test_step_limit_ends_the_episode(env):
    limit, env.step_limit = env.step_limit, 2
    try:
        env.reset(0)
        assert not env.step("look around").done
        assert env.step("look around").done
    finally:
        env.step_limit = limit


def test_close_stops_the_jvm(env):
    env.reset(0)
    proc = env.jvm_process
    env.close()
    assert not env.started and proc.poll() is not None
    env.close()  # idempotent

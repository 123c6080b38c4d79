"""The TextWorldExpress adapter and the environment registry, on the real TWX (a JVM per instance)."""

from __future__ import annotations

import textwrap

import pytest

pytest.importorskip("textworld_express")

from teammind.agents.environment import Environment, Observation, StepResult  # noqa: E402
from teammind.suites import make_env, make_env_factory  # noqa: E402
from teammind.suites.twx.env import GAMES, TWXEnv, available_games, parse_twx_spec  # noqa: E402


def _walk(env: TWXEnv, seed: int, n: int) -> list[tuple[str, Observation]]:
    """A deterministic walk: prefer opening doors and moving, by sorted order rotating with the step."""
    obs = env.reset(seed)
    trace = [("", obs)]
    for i in range(n):
        moves = [a for a in obs.valid_actions if a.startswith(("move ", "open door"))] or list(obs.valid_actions)
        action = moves[i % len(moves)]
        result = env.step(action)
        obs = result.observation
        trace.append((action, obs))
        if result.done:
            break
    return trace


@pytest.fixture(scope="module")
def coin_pair():
    a, b = make_env("twx:coin"), make_env("twx:coin")
    yield a, b
    a.close()
    b.close()


def test_same_seed_same_world_in_two_jvms(coin_pair):
    a, b = coin_pair
    assert not a.started and not b.started  # the JVM starts lazily, on the first reset
    for seed in (0, 7, 12):
        ta, tb = _walk(a, seed, 25), _walk(b, seed, 25)
        assert [act for act, _ in ta] == [act for act, _ in tb]
        assert [o for _, o in ta] == [o for _, o in tb]  # text, valid actions, task, score, done, success
    assert a.started and b.started
    # a different seed is a different world (the start room is always the kitchen; the rest differs)
    worlds = {tuple(o.text for _, o in _walk(a, seed, 10)) for seed in range(4)}
    assert len(worlds) > 1
    # resetting an instance to a seed again replays the same world (checkpoint resume relies on it)
    assert _walk(a, 7, 25) == _walk(b, 7, 25)


def test_step_score_and_success_semantics(coin_pair):
    env, _ = coin_pair
    seed = next(s for s in range(30) if "take coin" in env.reset(s).valid_actions)  # coin in the start room
    obs = env.reset(seed)
    assert isinstance(obs, Observation) and obs.task.startswith("Your task is to search the environment and find the coin")
    assert obs.valid_actions == tuple(sorted(obs.valid_actions))
    assert (obs.score, obs.done, obs.success, env.score(), env.steps) == (0.0, False, False, 0.0, 0)

    r = env.step("look around")
    assert isinstance(r, StepResult) and r.reward == 0.0 and not r.done and r.info["steps"] == 1
    assert r.observation.text.startswith("You are in the kitchen")
    r = env.step("dance wildly")  # not a valid action: passed through, flagged, counted
    assert r.info["invalid_action"] and "not sure" in r.observation.text.lower() and env.steps == 2

    total_before = env.total_steps
    r = env.step("take coin")
    assert r.done and r.reward == 1.0 and r.observation.success and r.observation.score == 1.0
    assert env.score() == 1.0 and env.success() and env.steps == 3 and env.total_steps == total_before + 1
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step("look around")

    obs = env.reset(seed)  # a new episode zeroes the per-episode count, not the lifetime count
    assert env.steps == 0 and env.total_steps == total_before + 1 and not obs.done and env.score() == 0.0


def test_scores_stay_in_unit_interval_and_reward_is_score_delta():
    with make_env("twx:cookingworld") as env:
        obs = env.reset(2)
        assert "cookbook" in obs.task.lower()
        last = 0.0
        for action in ("read cookbook", "open cutlery drawer", "open kitchen cupboard", "take knife", "take red potato", "dice red potato"):
            assert action in env.observation.valid_actions, action
            r = env.step(action)
            assert 0.0 <= r.observation.score <= 1.0 and r.observation.score == env.score()
            assert r.reward == pytest.approx(env.score() - last)
            last = env.score()
        assert 0.0 < env.score() < 1.0 and not env.success()  # partial credit


def test_lifecycle_close_is_idempotent_and_step_before_reset_fails():
    env = make_env("twx:mapreader")
    with pytest.raises(RuntimeError, match="reset"):
        env.step("look around")
    assert not env.started
    obs = env.reset(1)
    assert "map" in obs.task and env.started
    env.close()
    env.close()
    assert not env.started
    obs2 = env.reset(1)  # a closed environment can start again
    assert obs2 == obs
    env.close()


def test_spec_parsing_defaults_and_overrides():
    assert {"coin", "cookingworld", "mapreader"} <= set(available_games())
    assert parse_twx_spec("twx:coin") == ("coin", {})
    assert parse_twx_spec("twx:coin:numLocations=6, includeDoors=0") == ("coin", {"numLocations": "6", "includeDoors": "0"})

    env = make_env_factory("twx:coin:numLocations=6")()
    assert env.params == {**GAMES["coin"].defaults, "numLocations": 6}
    assert make_env_factory("twx:coin:numLocations=6", numLocations=4, fold="dev")().params["numLocations"] == 4
    env2 = make_env_factory("twx:mapreader", step_limit=50, fold="test")()
    assert (env2.fold, env2.step_limit) == ("test", 50)
    assert "fold=test" in env2.spec and "step_limit=50" in env2.spec
    # the canonical spec rebuilds the same environment
    again = make_env_factory(env2.spec)()
    assert (again.game, again.params, again.fold, again.step_limit) == (env2.game, env2.params, env2.fold, env2.step_limit)
    assert isinstance(env, Environment) and env.name == "twx:coin" and not env.started


@pytest.mark.parametrize(
    ("spec", "kwargs", "field"),
    [
        ("twx:chess", {}, "game"),
        ("twx:", {}, "game"),
        ("twx:coin:numRooms=3", {}, "numRooms"),
        ("twx:coin:numLocations=many", {}, "numLocations"),
        ("twx:coin:numLocations=40", {}, "numLocations"),
        ("twx:coin:numLocations", {}, "params"),
        ("twx:coin:numLocations=3,numLocations=4", {}, "numLocations"),
        ("twx:coin", {"includeDoors": 2}, "includeDoors"),
        ("twx:coin", {"fold": "holdout"}, "fold"),
        ("twx:coin", {"step_limit": 0}, "step_limit"),
        ("", {}, "spec"),
        ("no_such_module_xyz:make", {}, "spec"),
        ("justaname", {}, "spec"),
    ],
)
def test_bad_specs_name_the_field(spec, kwargs, field):
    with pytest.raises(ValueError) as err:
        make_env_factory(spec, **kwargs)
    msg = str(err.value)
    assert msg.startswith(f"{field}:"), msg
    if field in ("game", "spec") and spec != "no_such_module_xyz:make":
        assert "coin" in msg and "cookingworld" in msg and "mapreader" in msg  # lists the valid games


def test_unbuildable_seed_is_a_clear_error():
    with make_env("twx:mapreader:numLocations=11,maxDistanceApart=7") as env:
        bad = []
        for seed in range(12):
            try:
                env.reset(seed)
            except ValueError as err:
                bad.append(str(err))
        assert bad and all(m.startswith("seed:") and "distance apart" in m for m in bad)
        with pytest.raises(ValueError, match="seed"):
            env.reset(-1)


def test_module_factory_specs(tmp_path, monkeypatch):
    (tmp_path / "user_envs_for_test.py").write_text(
        textwrap.dedent(
            """
            from teammind.agents.environment import Environment, Observation, StepResult

            class Counter(Environment):
                name = "counter"

                def __init__(self, goal=3):
                    self.goal, self.n = goal, 0

                def _obs(self):
                    done = self.n >= self.goal
                    return Observation(f"count {self.n}", ("inc",), "count up", score=float(done), done=done, success=done)

                def reset(self, seed):
                    self.n = 0
                    return self._obs()

                def step(self, action):
                    self.n += 1
                    obs = self._obs()
                    return StepResult(obs, obs.score, obs.done)

                def score(self):
                    return float(self.n >= self.goal)

            def make_counter(goal=3):
                return Counter(goal=goal)

            def not_an_env(**kwargs):
                return object()

            NOT_CALLABLE = 3
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for spec in ("user_envs_for_test:make_counter", "user_envs_for_test:Counter"):
        env = make_env_factory(spec, goal=2)()
        assert env.name == "counter" and env.goal == 2
        env.reset(0)
        assert not env.step("inc").done and env.step("inc").done and env.success()
    with pytest.raises(TypeError, match="not a teammind.agents.environment.Environment"):
        make_env_factory("user_envs_for_test:not_an_env")()
    for spec in ("user_envs_for_test:missing", "user_envs_for_test:NOT_CALLABLE"):
        with pytest.raises(ValueError, match="^spec:"):
            make_env_factory(spec)
    # the adapter itself through a module path, with overrides
    with make_env_factory("teammind.suites.twx.env:TWXEnv", game="coin", numLocations=3)() as env:
        assert env.params["numLocations"] == 3 and env.reset(0).text.startswith("You are in")

"""Task environments behind `agents.environment.Environment`, looked up by spec.

    from rl.envs import make_env_factory
    factory = make_env_factory("twx:coin:numLocations=8")   # or "rg:arc_1d", "sciworld:find-animal",
    with factory() as env:                                  # or "mypackage.envs:make_env"
        obs = env.reset(seed=3)

See `rl.envs.registry` for the spec forms.
"""

from rl.envs.registry import SUITES, make_env, make_env_factory, scripted_agent_factory, suite_of
from rl.envs.twx import GAMES, TWXEnv, available_games, parse_twx_spec, resolve_params

__all__ = [
    "GAMES", "SUITES", "TWXEnv", "available_games", "make_env", "make_env_factory", "parse_twx_spec", "resolve_params",
    "scripted_agent_factory", "suite_of",
]

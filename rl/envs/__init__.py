"""Task environments behind `agents.environment.Environment`, looked up by spec.

    from rl.envs import make_env_factory
    factory = make_env_factory("twx:coin:numLocations=8")   # or "mypackage.envs:make_env"
    with factory() as env:
        obs = env.reset(seed=3)
"""

from rl.envs.twx import GAMES, TWXEnv, available_games, make_env, make_env_factory, parse_twx_spec, resolve_params

__all__ = ["GAMES", "TWXEnv", "available_games", "make_env", "make_env_factory", "parse_twx_spec", "resolve_params"]

"""Task suites behind `teammind.agents.environment.Environment`, looked up by spec.

    from teammind.suites import make_env_factory
    factory = make_env_factory("twx:coin:numLocations=8")   # or "rg:arc_1d", "sciworld:find-animal",
    with factory() as env:                                  # or "mypackage.envs:make_env:size=3"
        obs = env.reset(seed=3)

Each suite is one folder registered as a plugin (`teammind.suites.plugin`);
see `teammind.suites.registry` for the spec forms.
"""

from teammind.suites.plugin import Suite
from teammind.suites.registry import make_env, make_env_factory, scripted_agent_factory, suite_of, suites

__all__ = ["Suite", "make_env", "make_env_factory", "scripted_agent_factory", "suite_of", "suites"]

"""One place that turns an environment spec into environments (and, where one exists, a scripted agent).

Specs name a suite by prefix; everything after the prefix is the suite's own business:

    twx:<game>[:param=v,...]             TextWorldExpress        (rl/envs/twx.py)
    rg:<dataset>[,<dataset>...][:opts]   reasoning-gym           (rl/envs/reasoning_gym.py)
    sciworld:<task>[:opts]               ScienceWorld            (rl/envs/scienceworld.py)
    mypackage.envs:make_env              any user factory or `Environment` subclass

A suite module provides ``make_factory(spec, **overrides) -> EnvFactory`` and
``scripted_agent_factory(spec) -> (team -> Agent)``. Suite modules are imported
lazily, so a twx run never imports reasoning-gym or ScienceWorld. A user
environment needs no registration: pass its ``module:factory`` path.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from agents.environment import EnvFactory, Environment
from rl.envs.twx import GAMES

SUITES: dict[str, tuple[str, str, str]] = {
    # prefix: (module, factory function, scripted-agent function)
    "twx": ("rl.envs.twx", "make_twx_factory", "scripted_agent_factory"),
    "rg": ("rl.envs.reasoning_gym", "make_factory", "scripted_agent_factory"),
    "sciworld": ("rl.envs.scienceworld", "make_factory", "scripted_agent_factory"),
}
"""Built-in suites by spec prefix."""

_FORMS = (
    "twx:<game>[:param=v,...], rg:<dataset>[,...][:opts], sciworld:<task>[:opts] or module:factory"
    f" (twx games: {', '.join(sorted(GAMES))})"
)


def suite_of(spec: str) -> str | None:
    """The built-in suite a spec names (``"twx"``, ``"rg"``, ``"sciworld"``), or None for a user factory."""
    prefix = spec.strip().split(":", 1)[0]
    return prefix if prefix in SUITES else None


def _suite_attr(suite: str, which: int) -> Any:
    module_name, *names = SUITES[suite]
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"spec: the {suite!r} suite needs an optional package ({err}); install with pip install -e '.[envs]'") from err
    return getattr(module, names[which])


def _load_object(path: str) -> Any:
    module_name, _, attr_path = path.partition(":")
    if not module_name or not attr_path:
        raise ValueError(f"spec: {path!r} is none of {_FORMS}")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"spec: cannot import module {module_name!r} of {path!r}: {err}") from err
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as err:
            raise ValueError(f"spec: module {module_name!r} has no attribute {attr_path!r} (from {path!r})") from err
    if not callable(obj):
        raise ValueError(f"spec: {path!r} names {type(obj).__name__}, not a callable that returns an Environment")
    return obj


def make_env_factory(spec: str, **overrides: Any) -> EnvFactory:
    """A zero-argument factory of fresh environments for `spec` (validated now, not at the first reset).

    For a built-in suite, `overrides` replace options of the spec. For ``module:factory``,
    `factory(**overrides)` (a function or an `Environment` subclass) must return an
    `Environment`; that is checked on each call. Raises `ValueError` naming the bad field.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"spec: {spec!r} is empty; write {_FORMS}")
    spec = spec.strip()
    suite = suite_of(spec)
    if suite is not None:
        return _suite_attr(suite, 0)(spec, **overrides)

    target = _load_object(spec)

    def user_factory() -> Environment:
        env = target(**overrides)
        if not isinstance(env, Environment):
            raise TypeError(f"{spec!r} returned {type(env).__name__}, not an agents.environment.Environment")
        return env

    user_factory.spec = spec  # type: ignore[attr-defined]
    return user_factory


def make_env(spec: str, **overrides: Any) -> Environment:
    """One environment for `spec` (shorthand for `make_env_factory(spec, **overrides)()`)."""
    return make_env_factory(spec, **overrides)()


def scripted_agent_factory(spec: str) -> Callable[[str], Any]:
    """team id -> a fresh scripted agent for `spec`'s suite.

    A user environment may ship its own: a module-level ``scripted_agent_factory(spec)``
    next to its factory. Raises `ValueError` when there is none.
    """
    suite = suite_of(spec)
    if suite is not None:
        return _suite_attr(suite, 1)(spec)
    module_name = spec.partition(":")[0]
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"spec: cannot import module {module_name!r} of {spec!r}: {err}") from err
    factory = getattr(module, "scripted_agent_factory", None)
    if factory is None:
        raise ValueError(f"agent: no scripted agent for {spec!r}; use the llm agent, or define scripted_agent_factory(spec) in {module_name}")
    return factory(spec)

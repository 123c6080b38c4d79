"""One place that turns an environment spec into environments (and, where one exists, a scripted agent).

Specs name a suite by prefix; everything after the prefix is the suite's own business:

    twx:<game>[:param=v,...]             TextWorldExpress        (teammind/suites/twx)
    rg:<dataset>[,<dataset>...][:opts]   reasoning-gym           (teammind/suites/reasoning_gym)
    sciworld:<task>[:opts]               ScienceWorld            (teammind/suites/scienceworld)
    mypackage.envs:make_env[:k=v,...]    any user factory or `Environment` subclass, called with the options

Suites are plugins: each registers a `teammind.suites.plugin.Suite` under the
``teammind.suites`` entry-point group (the built-in ones in teammind's own
pyproject.toml). They are imported lazily, so a twx run never imports
reasoning-gym or ScienceWorld. A user environment needs no registration: pass
its ``module:factory`` path; modules resolve from the current folder first, as
``python -m`` would.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from teammind.agents.environment import EnvFactory, Environment
from teammind.suites.options import parse_options
from teammind.suites.plugin import Suite

ENTRY_POINT_GROUP = "teammind.suites"


@cache
def _registered() -> dict[str, Suite]:
    suites: dict[str, Suite] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        suite = ep.load()
        if not isinstance(suite, Suite):
            raise TypeError(f"entry point {ep.name} = {ep.value!r} of group {ENTRY_POINT_GROUP!r} is a {type(suite).__name__}, not a Suite")
        suites[suite.prefix] = suite
    if not suites:
        raise RuntimeError(f"no suite is registered under the {ENTRY_POINT_GROUP!r} entry points: install teammind (pip install -e .)")
    return suites


def suites() -> dict[str, Suite]:
    """Registered suites by spec prefix (the built-in ones and any installed plugin)."""
    return dict(_registered())


def _forms() -> str:
    return ", ".join(s.forms or f"{p}:..." for p, s in sorted(_registered().items())) + " or module:factory[:key=value,...]"


def suite_of(spec: str) -> str | None:
    """The registered suite a spec names (``"twx"``, ``"rg"``, ``"sciworld"``, a plugin's), or None for a user factory."""
    prefix = spec.strip().split(":", 1)[0]
    return prefix if prefix in _registered() else None


def import_module_here(module_name: str) -> Any:
    """Import `module_name`, looking in the current folder first (as ``python -m`` does)."""
    cwd = os.getcwd()
    if cwd not in sys.path and str(Path(cwd)) not in sys.path:
        sys.path.insert(0, cwd)
    return importlib.import_module(module_name)


def load_callable(path: str, *, field: str = "spec", returns: str = "an Environment") -> tuple[Any, dict[str, str]]:
    """``module:attr[:k=v,...]`` -> (the callable, its keyword options); errors name `field` and what it should return."""
    module_name, _, rest = path.partition(":")
    attr_path, _, option_text = rest.partition(":")
    if not module_name or not attr_path:
        forms = _forms() if field == "spec" else "module:function[:key=value,...]"
        raise ValueError(f"{field}: {path!r} is none of {forms}")
    try:
        obj: Any = import_module_here(module_name)
    except ImportError as err:
        raise ValueError(f"{field}: cannot import module {module_name!r} of {path!r}: {err}") from err
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as err:
            raise ValueError(f"{field}: module {module_name!r} has no attribute {attr_path!r} (from {path!r})") from err
    if not callable(obj):
        raise ValueError(f"{field}: {path!r} names {type(obj).__name__}, not a callable that returns {returns}")
    options = parse_options(option_text, path, field=field, example=f"{module_name}:{attr_path}:size=3,mode=hard")
    return obj, options


def make_env_factory(spec: str, **overrides: Any) -> EnvFactory:
    """A zero-argument factory of fresh environments for `spec` (validated now, not at the first reset).

    For a registered suite, `overrides` replace options of the spec. For ``module:factory[:k=v,...]``,
    `factory(**options, **overrides)` (a function or an `Environment` subclass) must return an
    `Environment`; that is checked on each call. Option values arrive as strings. Raises `ValueError`
    naming the bad field.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"spec: {spec!r} is empty; write {_forms()}")
    spec = spec.strip()
    suite = suite_of(spec)
    if suite is not None:
        return _registered()[suite].load("env_factory")(spec, **overrides)

    target, options = load_callable(spec)
    kwargs = {**options, **overrides}

    def user_factory() -> Environment:
        env = target(**kwargs)
        if not isinstance(env, Environment):
            raise TypeError(f"{spec!r} returned {type(env).__name__}, not a teammind.agents.environment.Environment")
        return env

    user_factory.spec = spec  # type: ignore[attr-defined]
    return user_factory


def team_factory(path: str) -> Callable[[Any], Any]:
    """`make_team(memory)` from ``module:factory[:k=v,...]``: `factory(memory, **options)` returns your team's graph."""
    factory, options = load_callable(path, field="team", returns="a LangGraph graph")
    return lambda memory: factory(memory, **options)


def load_tasks(*, task: str | None = None, tasks: str | None = None, grader: str | None = None) -> list[Any]:
    """One question (`task`) or a loader's list (`tasks` = ``module:loader[:k=v,...]``) as `Task`s.

    `grader` (``module:function[:k=v,...]``) grades the tasks that bring no grader of their own.
    """
    from teammind.graphs.tasks import as_tasks

    grade = None
    if grader is not None:
        function, options = load_callable(grader, field="grader", returns="a grade (float or bool)")
        grade = (lambda answer: function(answer, **options)) if options else function
    if (task is None) == (tasks is None):
        raise ValueError("task: give exactly one of task (a question) and tasks (module:loader)")
    if task is not None:
        return as_tasks([task], grade)
    assert tasks is not None
    loader, options = load_callable(tasks, field="tasks", returns="a list of tasks")
    return as_tasks(loader(**options), grade)


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
        plugin = _registered()[suite]
        if plugin.scripted_agents is None:
            raise ValueError(f"agent: the {suite!r} suite has no scripted agent; use the llm agent")
        return plugin.load("scripted_agents")(spec)
    module_name = spec.partition(":")[0]
    try:
        module = import_module_here(module_name)
    except ImportError as err:
        raise ValueError(f"spec: cannot import module {module_name!r} of {spec!r}: {err}") from err
    factory = getattr(module, "scripted_agent_factory", None)
    if factory is None:
        raise ValueError(f"agent: no scripted agent for {spec!r}; use the llm agent, or define scripted_agent_factory(spec) in {module_name}")
    return factory(spec)


def suite_admission_checkpoint(spec: str) -> Path | None:
    """The shipped admission policy `spec`'s own suite trained for it, or None."""
    suite = suite_of(spec)
    return _registered()[suite].admission_checkpoint(spec) if suite else None


def shipped_admission_path(spec: str | None = None) -> Path:
    """The shipped learned admission policy for `spec`: its suite's own, else the default (trained on twx:coin)."""
    from teammind.suites.twx.checkpoints import ADMISSION

    return (suite_admission_checkpoint(spec) if spec else None) or ADMISSION


LEARNED_FALLBACK = "novelty"
"""What `learned` without a path means on a workload no shipped policy was trained on. A policy trained on a mix
of suites and tool workloads with text-free features did not beat the novelty rule on held-out workloads
(bench/admission_transfer.py, docs/results.md), so the rule that won stands in for it."""


def trained_admission_path(spec: str | None) -> Path | None:
    """The shipped policy trained on `spec` itself (its suite's own, or the default where it was trained), or None."""
    from teammind.suites.twx.checkpoints import ADMISSION

    if not spec:
        return None
    own = suite_admission_checkpoint(spec)
    if own is not None:
        return own
    return ADMISSION if trained_on(ADMISSION) == spec.strip().rstrip(":") else None


def shipped_qnet_path() -> Path:
    """The shipped Q-network for experience reranking (safetensors, config in its metadata)."""
    from teammind.suites.twx.checkpoints import QNET

    return QNET


def trained_on(path: str | Path) -> str | None:
    """The environment spec an admission checkpoint was trained on, or None if nothing records it.

    Read from the checkpoint's own metadata (`teammind train` writes it), else
    the provenance.json shipped beside it, else the config.json of the
    training run folder it sits in.
    """
    import json
    import re

    from safetensors import safe_open

    p = Path(path)
    try:
        with safe_open(str(p), framework="pt") as f:
            where = json.loads((f.metadata() or {}).get("config", "{}")).get("trained_on")
    except (OSError, ValueError):
        return None
    if where:
        return str(where)
    provenance = p.parent / "provenance.json"
    if provenance.is_file():
        try:
            records = json.loads(provenance.read_text(encoding="utf-8"))
        except ValueError:
            records = {}
        stack = [records]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if node.get("file") == p.name and isinstance(node.get("command"), str):
                    m = re.search(r"--env\s+(\S+)", node["command"])
                    if m:
                        return m.group(1)
                stack.extend(node.values())
    config = p.parent / "config.json"
    if config.is_file():
        try:
            env = json.loads(config.read_text(encoding="utf-8")).get("env")
        except (ValueError, AttributeError):
            env = None
        return env if isinstance(env, str) else None
    return None

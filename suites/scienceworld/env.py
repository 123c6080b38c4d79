"""ScienceWorld (`scienceworld`) behind the `teammind.agents.environment.Environment` protocol.

One JVM per environment instance, started lazily on the first `reset` and
stopped by `close()`. Later resets reuse the running JVM: ``load(task,
variation, simplifications)`` then ``reset()`` on the same gateway, so an
`EnvPool` instance serves many episodes with one JVM.

Seeds and splits. ScienceWorld numbers the worlds of a task by *variation*
and splits them into train / dev / test lists (e.g. find-animal: 150 / 75 /
75). ``reset(seed)`` plays variation ``variations[seed % len(variations)]``
of the spec's split, so a seed always means the same world (every team of a
task sees the same rooms and objects) and seeds beyond the split's size wrap
around. `variation` (after a reset) tells which one is being played.

Observations:

* ``text`` -- on reset, the ``look around`` of the start room; after a step,
  ScienceWorld's answer to the action (``look``/``inventory`` are free in
  ScienceWorld and come in ``StepResult.info``).
* ``task`` -- the task description (without its "Task Description:" header).
* ``valid_actions`` -- ScienceWorld's valid action-object combinations
  (``info['valid']``: concrete actions such as ``focus on blue jay``, which
  name objects by unambiguous referents), sorted and deduplicated. With
  ``actions=compact`` (the default) the combinatorial two-object actions
  (``move/pour/dunk/use X to|in|on Y``) are kept only for objects the agent
  holds (those with a ``put down X`` action): pick a thing up first, then move
  it. That keeps rooms at a few hundred actions instead of >1000. ``reset
  task`` is never offered (it would restart the episode behind the adapter's
  back). ``actions=all`` passes the full list through (less ``reset task``).
* ``score`` -- ScienceWorld's score / 100 clipped to [0, 1]: partial credit
  per completed subgoal (e.g. find-animal: 0.17 after reaching a new room,
  0.67 after focusing on an animal, 1.0 when it is in the box).
* ``success`` -- ScienceWorld marks the task completed with a positive score
  (score 100). A failed task (e.g. focusing on the wrong thing) scores -100:
  that is score 0, ``done`` and ``info['task_failure']``. The episode is also
  ``done`` after `step_limit` steps.

An action ScienceWorld finds ambiguous ("Ambiguous request: Please enter the
number ...") is resolved to its first reading (the adapter answers ``0``, in
the same step), so the simulator never waits on a prompt; ``info['ambiguous']``
says it happened. Actions outside ``valid_actions`` are still passed to
ScienceWorld (it parses free text) and flagged ``info['invalid_action']``.

Specs (see `make_factory`):

    sciworld:find-animal                              easy simplifications, train split, 100 steps
    sciworld:find-plant:split=dev,step_limit=50       adapter options
    sciworld:boil:simplifications=teleportAction,openDoors
    sciworld:chemistry-mix:simplifications=none,actions=all

Options: ``simplifications`` (``easy`` = teleportAction, openDoors,
openContainers, selfWateringFlowerPots, noElectricalAction; or a ``+``- or
``,``-joined subset of those; ``none`` for none; for the electrical tasks -- power-component*,
*conductivity* -- ``easy`` leaves out noElectricalAction), ``split`` (``train`` |
``dev`` | ``test``), ``step_limit`` (default 100), ``actions`` (``compact`` |
``all``). Task names are ScienceWorld's own (``find-animal``, ``boil``, ...);
a ``task-1-boil`` style id or the paper's "topic task" name is accepted too.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

from teammind.agents.environment import EnvFactory, Environment, Observation, StepResult
from teammind.suites.options import as_int, parse_options

SPLITS: tuple[str, ...] = ("train", "dev", "test")
SIMPLIFICATIONS: tuple[str, ...] = (
    "teleportAction", "selfWateringFlowerPots", "openContainers", "openDoors", "noElectricalAction",
)
ACTION_MODES: tuple[str, ...] = ("compact", "all")
DEFAULT_STEP_LIMIT = 100
DEFAULT_SIMPLIFICATIONS = "easy"
OPTIONS: tuple[str, ...] = ("simplifications", "split", "step_limit", "actions")
_TWO_OBJECT = re.compile(r"^(move|pour|dunk|use|put) (.+?) (to|in|into|on) (.+)$")
_AMBIGUOUS = "Ambiguous request"
_ELECTRICAL = ("power-component", "conductivity")
EASY_ELECTRICAL = "teleportAction,openDoors,openContainers,selfWateringFlowerPots"


def task_names() -> list[str]:
    """ScienceWorld's task names (read from the package, no JVM needed)."""
    from scienceworld.constants import ID2TASK
    from scienceworld.utils import infer_task

    return [infer_task(t) for t in ID2TASK.values()]


def resolve_task(task: str) -> str:
    """The canonical task name; `ValueError` listing the valid names otherwise."""
    from scienceworld.utils import infer_task

    names = task_names()
    name = infer_task(str(task).strip()) if isinstance(task, str) and task.strip() else ""
    if name not in names:
        raise ValueError(f"task: unknown ScienceWorld task {task!r}; valid tasks: {', '.join(names)}")
    return name


def resolve_options(task: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate a task's adapter options; returns {simplifications (ScienceWorld's string), split, step_limit, actions}.

    Raises `ValueError` naming the bad field and what is allowed.
    """
    task = resolve_task(task)
    out: dict[str, Any] = {"simplifications": DEFAULT_SIMPLIFICATIONS, "split": "train", "step_limit": DEFAULT_STEP_LIMIT, "actions": "compact"}
    for name, raw in (options or {}).items():
        if name not in OPTIONS:
            raise ValueError(f"{name}: not an option of sciworld specs; known options: {', '.join(OPTIONS)}")
        if name == "split":
            if raw not in SPLITS:
                raise ValueError(f"split: {raw!r} is not a ScienceWorld split; use one of {', '.join(SPLITS)}")
            out["split"] = str(raw)
        elif name == "step_limit":
            limit = as_int("step_limit", raw)
            if limit < 1:
                raise ValueError(f"step_limit: {limit} must be >= 1; pass e.g. step_limit=100")
            out["step_limit"] = limit
        elif name == "actions":
            if raw not in ACTION_MODES:
                raise ValueError(f"actions: {raw!r} is not an action-list mode; use one of {', '.join(ACTION_MODES)}")
            out["actions"] = str(raw)
        else:
            out["simplifications"] = _resolve_simplifications(task, raw)
    if any(e in task for e in _ELECTRICAL) and out["simplifications"] == "easy":
        out["simplifications"] = EASY_ELECTRICAL  # easy, but the task needs its electrical actions
    if any(e in task for e in _ELECTRICAL) and "noElectricalAction" in out["simplifications"]:
        raise ValueError(
            f"simplifications: task {task!r} needs electrical actions, which {out['simplifications']!r} removes; "
            "pass e.g. simplifications=teleportAction+openDoors+openContainers+selfWateringFlowerPots"
        )
    return out


def _resolve_simplifications(task: str, raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError(f"simplifications: {raw!r} is not a string; use easy, none, or a subset of {', '.join(SIMPLIFICATIONS)}")
    text = raw.strip()
    if text in ("", "none"):
        return ""
    if text == "easy":
        return "easy"
    parts = [p.strip() for p in re.split(r"[+,]", text) if p.strip()]
    for p in parts:
        if p not in SIMPLIFICATIONS:
            raise ValueError(f"simplifications: {p!r} is not a ScienceWorld simplification; use easy, none, or a subset of {', '.join(SIMPLIFICATIONS)}")
    return ",".join(dict.fromkeys(parts))


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``sciworld:<task>[:opt=v,...]`` -> (task, {option: raw value}); `ValueError` naming the bad field.

    Simplification subsets are joined with ``+`` inside a spec (``simplifications=teleportAction+openDoors``).
    """
    if not isinstance(spec, str) or not spec.strip().startswith("sciworld:"):
        raise ValueError(f"spec: {spec!r} is not a ScienceWorld spec; write sciworld:<task>[:opt=v,...]")
    rest = spec.strip()[len("sciworld:") :]
    task, _, opt_text = rest.partition(":")
    task = task.strip()
    if not task:
        raise ValueError(f"task: missing in spec {spec!r}; write sciworld:<task>, valid tasks: {', '.join(task_names())}")
    task = resolve_task(task)
    options = parse_options(opt_text, spec, field="options", example=f"sciworld:{task}:split=dev")
    return task, options


def compact_actions(valid: Any) -> tuple[str, ...]:
    """The ``actions=compact`` list: see the module docstring."""
    actions = sorted({str(a) for a in valid} - {"reset task"})
    held = [a[len("put down ") :] for a in actions if a.startswith("put down ")]
    out = []
    for a in actions:
        m = _TWO_OBJECT.match(a)
        if m and not a.startswith(("put down ", "pick up ")):
            first = m.group(2)
            if not any(first == h or a.startswith(f"{m.group(1)} {h} ") for h in held):
                continue
        out.append(a)
    return tuple(out)


class SciWorldEnv(Environment):
    """One ScienceWorld task in its own JVM (started on the first `reset`, reused by later ones).

    `steps` counts `step` calls in the current episode (reset zeroes it);
    `total_steps` counts them over the instance's life; `jvm_starts` counts JVM launches.
    """

    def __init__(self, task: str = "find-animal", options: Mapping[str, Any] | None = None, **overrides: Any) -> None:
        self.task = resolve_task(task)
        opts = resolve_options(self.task, {**(options or {}), **overrides})
        self.simplifications: str = opts["simplifications"]
        self.split: str = opts["split"]
        self.step_limit: int = opts["step_limit"]
        self.actions: str = opts["actions"]
        self.name = f"sciworld:{self.task}"
        self._env: Any = None
        self._lock = threading.RLock()
        self._variations: dict[str, list[int]] = {}
        self._obs: Observation | None = None
        self._raw = 0
        self._score = 0.0
        self._seed: int | None = None
        self._variation: int | None = None
        self._steps = 0
        self.total_steps = 0
        self.jvm_starts = 0

    # -- properties ------------------------------------------------------------------
    @property
    def spec(self) -> str:
        """The canonical spec that rebuilds this environment."""
        parts = []
        if self.simplifications != DEFAULT_SIMPLIFICATIONS:
            parts.append(f"simplifications={self.simplifications.replace(',', '+') or 'none'}")
        if self.split != "train":
            parts.append(f"split={self.split}")
        if self.step_limit != DEFAULT_STEP_LIMIT:
            parts.append(f"step_limit={self.step_limit}")
        if self.actions != "compact":
            parts.append(f"actions={self.actions}")
        return f"sciworld:{self.task}" + (":" + ",".join(parts) if parts else "")

    @property
    def variation(self) -> int | None:
        """The ScienceWorld variation the current episode plays."""
        return self._variation

    @property
    def started(self) -> bool:
        """Whether the JVM is running."""
        return self._env is not None

    @property
    def jvm_process(self) -> Any:
        """The running JVM's process object (None when stopped); the same across resets."""
        return None if self._env is None else self._env._gateway.java_process

    @property
    def observation(self) -> Observation | None:
        """The latest observation (None before the first reset)."""
        return self._obs

    # -- lifecycle -----------------------------------------------------------------
    def _start(self) -> Any:
        if self._env is None:
            from scienceworld import ScienceWorldEnv

            self._env = ScienceWorldEnv("", envStepLimit=self.step_limit + 1)  # this adapter enforces step_limit
            self.jvm_starts += 1
        return self._env

    def variations(self, split: str | None = None) -> list[int]:
        """The variation ids of a split (starts the JVM)."""
        split = split or self.split
        if split not in SPLITS:
            raise ValueError(f"split: {split!r} is not a ScienceWorld split; use one of {', '.join(SPLITS)}")
        with self._lock:
            if split not in self._variations:
                env = self._start()
                if env.taskName != self.task:
                    env.load(self.task, 0, self.simplifications)
                getter = {"train": env.get_variations_train, "dev": env.get_variations_dev, "test": env.get_variations_test}[split]
                self._variations[split] = [int(v) for v in getter()]
            return list(self._variations[split])

    @staticmethod
    def _shutdown(env: Any) -> None:
        proc = getattr(getattr(env, "_gateway", None), "java_process", None)
        try:
            env.close()
        except Exception:  # noqa: BLE001 - the JVM may already be gone
            pass
        env.close = lambda: None  # ScienceWorld's __del__ closes again; make that a no-op
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except Exception:  # noqa: BLE001 - still alive: stop it for good
                proc.kill()
                proc.wait(timeout=5)
        tmp = getattr(env, "_obj_tree_tempdir", None)
        if tmp is not None:
            try:
                tmp.cleanup()
            except Exception:  # noqa: BLE001
                pass

    def close(self) -> None:
        with self._lock:
            if self._env is not None:
                env, self._env = self._env, None
                self._shutdown(env)
                self._obs = None

    # -- protocol ------------------------------------------------------------------
    def _observation(self, text: str, infos: Mapping[str, Any], failed: bool = False) -> Observation:
        raw = int(infos.get("score", 0) or 0)
        self._raw = raw
        self._score = min(1.0, max(0.0, raw / 100.0))
        completed = bool(self._env.server.getCompleted())
        success = raw >= 100 or (completed and raw > 0)
        done = success or completed or raw < 0 or failed or self._steps >= self.step_limit
        valid = infos.get("valid", ())
        actions = compact_actions(valid) if self.actions == "compact" else tuple(sorted({str(a) for a in valid} - {"reset task"}))
        task = str(infos.get("taskDesc", "")).strip()
        if task.lower().startswith("task description:"):
            task = task[len("task description:") :].strip()
        return Observation(text=str(text).strip(), valid_actions=actions, task=task, score=self._score, done=done, success=success)

    def reset(self, seed: int) -> Observation:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed: {seed!r} must be a non-negative integer")
        with self._lock:
            variations = self.variations()
            if not variations:
                raise ValueError(f"split: task {self.task!r} has no {self.split} variations; use another split")
            variation = variations[seed % len(variations)]
            env = self._start()
            env.load(self.task, variation, self.simplifications, generateGoldPath=False)
            text, infos = env.reset()
            self._seed, self._variation, self._steps = seed, variation, 0
            self._obs = self._observation(text, infos)
            return self._obs

    def step(self, action: str) -> StepResult:
        with self._lock:
            if self._env is None or self._obs is None:
                raise RuntimeError("step before reset: call reset(seed) first")
            if self._obs.done:
                raise RuntimeError(f"the episode is over (after {self._steps} steps); call reset(seed) to start another")
            previous = self._score
            action = str(action)
            valid = action in self._obs.valid_actions
            if action.strip().lower() == "reset task":
                text, infos, ambiguous = "The adapter does not pass 'reset task' on; reset(seed) starts a new episode.", None, False
            else:
                text, _reward, _done, infos = self._env.step(action)
                ambiguous = str(text).startswith(_AMBIGUOUS)
                if ambiguous:  # answer the prompt with its first reading, so the simulator never waits
                    text, _reward, _done, infos = self._env.step("0")
            if infos is None:
                infos = {"score": self._raw, "valid": [*self._obs.valid_actions], "taskDesc": self._obs.task}
            self._steps += 1
            self.total_steps += 1
            self._obs = self._observation(text, infos)
            info = {
                "steps": self._steps,
                "score_raw": self._raw,
                "task_failure": self._raw < 0,
                "invalid_action": not valid,
                "ambiguous": ambiguous,
                "variation": self._variation,
                "look": str(infos.get("look", "")).strip(),
                "inventory": str(infos.get("inv", "")).strip(),
            }
            return StepResult(self._obs, self._score - previous, self._obs.done, info)

    def score(self) -> float:
        return self._score

    def success(self) -> bool:
        return bool(self._obs is not None and self._obs.success)

    def __repr__(self) -> str:
        return f"SciWorldEnv({self.spec!r}, seed={self._seed}, variation={self._variation}, steps={self._steps}, started={self.started})"


# -- factory ------------------------------------------------------------------------------


def make_factory(spec: str, **overrides: Any) -> EnvFactory:
    """A zero-argument factory of fresh `SciWorldEnv`s for ``sciworld:<task>[:opt=v,...]``.

    `overrides` replace options of the spec (``simplifications``, ``split``,
    ``step_limit``, ``actions``). Validated here, before any JVM starts;
    raises `ValueError` naming the bad field.
    """
    task, options = parse_spec(spec)
    merged = {**options, **overrides}
    resolve_options(task, merged)  # fail now, not at the first reset

    def sciworld_factory() -> Environment:
        return SciWorldEnv(task, merged)

    sciworld_factory.spec = spec  # type: ignore[attr-defined]
    return sciworld_factory


def scripted_agent_factory(spec: str) -> Any:
    """team id -> a fresh scripted ScienceWorld agent (`teammind.suites.scienceworld.scripted`); ValueError for unsupported tasks."""
    from teammind.suites.scienceworld.scripted import SUPPORTED_TASKS, SciWorldScripted

    task, _ = parse_spec(spec)
    if task not in SUPPORTED_TASKS:
        raise ValueError(f"agent: no scripted agent for task {task}; supported: {', '.join(SUPPORTED_TASKS)}")

    def scripted(team: str) -> Any:
        return SciWorldScripted()

    return scripted


__all__ = [
    "SIMPLIFICATIONS",
    "SPLITS",
    "SciWorldEnv",
    "compact_actions",
    "make_factory",
    "parse_spec",
    "resolve_options",
    "resolve_task",
    "scripted_agent_factory",
    "task_names",
]

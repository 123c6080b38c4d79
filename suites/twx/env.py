"""TextWorldExpress (`textworld-express`) behind the `teammind.agents.environment.Environment` protocol.

One JVM per environment instance, started lazily on the first `reset` and
stopped by `close()`. The seed decides the world: every team of a task builds
its own instance and `reset(seed)`s it to the same world (the same rooms,
doors and object placement), and replaying the same actions gives the same
observations, which checkpoint resume relies on.

Games and their default parameters (chosen so that a team has to explore
several rooms; override any of them in the spec or as keyword arguments):

* ``coin`` -- find the coin and take it. ``numLocations=11, includeDoors=1,
  numDistractorItems=5, limitInventorySize=0``: the largest map TWX builds
  (11 rooms), closed doors that cost an ``open`` step each, distractor items
  in the rooms. The scripted explorer alone needs 1-29 steps (mean ~11 over
  seeds 0-99); the coin lies in the start room in ~10% of seeds (TWX's own
  distribution; seeds are not filtered).
* ``mapreader`` -- take the coin from a named room and put it in the box in
  the start room, with a map in the inventory. ``numLocations=15,
  maxDistanceApart=6, includeDoors=1, maxDistractorItemsPerLocation=2,
  limitInventorySize=0``: the coin is up to 6 rooms away (TWX fails to build
  some seeds at 11 rooms and distance 6; 15 rooms build every seed we tried);
  read map + there + back is 5-15 steps.
* ``cookingworld`` -- read the cookbook, gather the ingredients (some in
  closed containers or other rooms, the knife often in a drawer), cut and
  cook them as the recipe says, prepare and eat the meal.
  ``numLocations=6, numIngredients=2, numDistractorItems=3, includeDoors=1,
  limitInventorySize=0``: the scripted explorer needs 8-28 steps (mean ~19).
* ``twc`` -- put misplaced items away (``numLocations=3, numItemsToPutAway=3,
  includeDoors=0``). Taking a misplaced item and putting it where it belongs
  each raise the score by 1/(2 x items); a put in the wrong place lowers it.
  The scripted explorer has no common sense: it learns where things go by
  trying (28-87 steps alone).
* the single-room games ``arithmetic``, ``sorting``, ``simonsays``,
  ``peckingorder`` with TWX's own defaults (the scripted explorer does not
  solve these).

Specs (see `make_env_factory`):

    twx:coin                                  the defaults above
    twx:coin:numLocations=6,includeDoors=0    parameters overridden
    twx:mapreader:fold=dev,step_limit=200     adapter options: the TWX seed fold
                                              ("train" | "dev" | "test") and the
                                              episode step limit (default 1000;
                                              graphs enforce their own max_steps)
    mypackage.envs:make_env                   a user factory or Environment class
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from teammind.agents.environment import EnvFactory, Environment, Observation, StepResult
from teammind.suites.options import parse_options

FOLDS: tuple[str, ...] = ("train", "dev", "test")
DEFAULT_STEP_LIMIT = 1000
ADAPTER_OPTIONS: tuple[str, ...] = ("fold", "step_limit")


@dataclass(frozen=True)
class GameInfo:
    """A TWX game: its parameter names with (min, max) bounds, and the defaults this adapter uses."""

    name: str
    params: Mapping[str, tuple[int, int]]
    defaults: Mapping[str, int]
    summary: str


_LOC = (1, 11)
_BOOL = (0, 1)
GAMES: dict[str, GameInfo] = {
    g.name: g
    for g in (
        GameInfo(
            "coin",
            {"numLocations": _LOC, "numDistractorItems": (0, 10), "includeDoors": _BOOL, "limitInventorySize": _BOOL},
            {"numLocations": 11, "includeDoors": 1, "numDistractorItems": 5, "limitInventorySize": 0},
            "find the coin and take it",
        ),
        GameInfo(
            "mapreader",
            {
                "numLocations": (1, 20),
                "maxDistractorItemsPerLocation": (0, 10),
                "includeDoors": _BOOL,
                "limitInventorySize": _BOOL,
                "maxDistanceApart": (1, 8),
            },
            {"numLocations": 15, "maxDistanceApart": 6, "includeDoors": 1, "maxDistractorItemsPerLocation": 2, "limitInventorySize": 0},
            "take the coin from the named room to the box, using the map",
        ),
        GameInfo(
            "cookingworld",
            {"numLocations": _LOC, "numDistractorItems": (0, 10), "numIngredients": (1, 5), "includeDoors": _BOOL, "limitInventorySize": _BOOL},
            {"numLocations": 6, "numIngredients": 2, "numDistractorItems": 3, "includeDoors": 1, "limitInventorySize": 0},
            "read the cookbook, gather and prepare the ingredients, eat the meal",
        ),
        GameInfo(
            "twc",
            {"numLocations": (1, 3), "numItemsToPutAway": (1, 10), "includeDoors": _BOOL, "limitInventorySize": _BOOL},
            {"numLocations": 3, "numItemsToPutAway": 3, "includeDoors": 0, "limitInventorySize": 0},
            "put misplaced items where they belong",
        ),
        GameInfo("arithmetic", {}, {}, "answer an arithmetic problem by picking up the right item"),
        GameInfo("sorting", {}, {}, "put items in the box in sorted order"),
        GameInfo(
            "simonsays",
            {"gameLength": (1, 100), "numDistractors": (0, 100), "memorization": _BOOL, "verbose": _BOOL},
            {},
            "repeat the instructed actions",
        ),
        GameInfo("peckingorder", {}, {}, "do the tasks in the given order"),
    )
}


def _as_int(field: str, value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{field}: {value!r} is not an integer; pass a whole number, e.g. {field}=1")


def resolve_params(game: str, params: Mapping[str, Any] | None = None) -> tuple[dict[str, int], str, int]:
    """Validate a game and its parameters; returns (game params incl. defaults, fold, step_limit).

    Raises `ValueError` that names the bad field and lists what is allowed.
    """
    if game not in GAMES:
        raise ValueError(f"game: unknown TextWorldExpress game {game!r}; valid games: {', '.join(sorted(GAMES))}")
    info = GAMES[game]
    merged: dict[str, int] = dict(info.defaults)
    fold, step_limit = "train", DEFAULT_STEP_LIMIT
    for name, raw in (params or {}).items():
        if name == "fold":
            if raw not in FOLDS:
                raise ValueError(f"fold: {raw!r} is not a TWX seed fold; use one of {', '.join(FOLDS)}")
            fold = str(raw)
            continue
        if name == "step_limit":
            step_limit = _as_int("step_limit", raw)
            if step_limit < 1:
                raise ValueError(f"step_limit: {step_limit} must be >= 1")
            continue
        if name not in info.params:
            known = ", ".join([*info.params, *ADAPTER_OPTIONS])
            raise ValueError(f"{name}: not a parameter of TWX game {game!r}; known parameters: {known}")
        value = _as_int(name, raw)
        lo, hi = info.params[name]
        if not lo <= value <= hi:
            raise ValueError(f"{name}: {value} is out of range for {game!r}; use {lo}..{hi}")
        merged[name] = value
    return merged, fold, step_limit


def parse_twx_spec(spec: str) -> tuple[str, dict[str, str]]:
    """`twx:<game>[:param=v,param=v]` -> (game, {param: raw value}); `ValueError` on malformed specs."""
    if not isinstance(spec, str) or not spec.startswith("twx:"):
        raise ValueError(f"spec: {spec!r} is not a TWX spec; write twx:<game>[:param=v,...], games: {', '.join(sorted(GAMES))}")
    rest = spec[len("twx:") :]
    game, _, param_text = rest.partition(":")
    game = game.strip()
    if not game:
        raise ValueError(f"game: missing in spec {spec!r}; write twx:<game>, valid games: {', '.join(sorted(GAMES))}")
    if game not in GAMES:
        raise ValueError(f"game: unknown TextWorldExpress game {game!r} in spec {spec!r}; valid games: {', '.join(sorted(GAMES))}")
    params = parse_options(param_text, spec, field="params", example=f"twx:{game}:numLocations=6")
    return game, params


class TWXEnv(Environment):
    """One TextWorldExpress game in its own JVM (started on the first `reset`).

    `steps` counts `step` calls in the current episode (reset zeroes it);
    `total_steps` counts them over the instance's life.
    """

    def __init__(self, game: str = "coin", params: Mapping[str, Any] | None = None, **overrides: Any) -> None:
        self.game = game
        self.params, self.fold, self.step_limit = resolve_params(game, {**(params or {}), **overrides})
        self.name = f"twx:{game}"
        self._env: Any = None
        self._lock = threading.RLock()
        self._obs: Observation | None = None
        self._score = 0.0
        self._seed: int | None = None
        self._steps = 0
        self.total_steps = 0

    # -- properties --------------------------------------------------------------
    @property
    def spec(self) -> str:
        """The canonical spec that rebuilds this environment."""
        parts = [f"{k}={v}" for k, v in sorted(self.params.items())]
        if self.fold != "train":
            parts.append(f"fold={self.fold}")
        if self.step_limit != DEFAULT_STEP_LIMIT:
            parts.append(f"step_limit={self.step_limit}")
        return f"twx:{self.game}" + (":" + ",".join(parts) if parts else "")

    @property
    def game_params(self) -> str:
        """The parameter string TWX receives."""
        return ",".join(f"{k}={v}" for k, v in sorted(self.params.items()))

    @property
    def started(self) -> bool:
        """Whether the JVM is running."""
        return self._env is not None

    # -- lifecycle -----------------------------------------------------------------
    def _start(self) -> Any:
        if self._env is None:
            from textworld_express import TextWorldExpressEnv

            env = TextWorldExpressEnv(envStepLimit=self.step_limit)
            try:
                env.load(self.game, self.game_params)
            except Exception as err:
                self._shutdown(env)
                raise ValueError(f"params: TWX rejected {self.spec!r}: {_java_message(err)}") from err
            self._env = env
        return self._env

    @staticmethod
    def _shutdown(env: Any) -> None:
        try:
            env.close()
        except Exception:  # noqa: BLE001 - the JVM may already be gone
            pass
        env.close = lambda: None  # TWX's __del__ closes again; make that a no-op

    def close(self) -> None:
        with self._lock:
            if self._env is not None:
                self._shutdown(self._env)
                self._env = None

    # -- protocol ------------------------------------------------------------------
    def _observation(self, text: str, infos: Mapping[str, Any]) -> Observation:
        raw = float(infos.get("score", 0.0) or 0.0)
        self._score = min(1.0, max(0.0, raw))
        success = bool(infos.get("tasksuccess", False))
        done = bool(infos.get("done", False)) or success or bool(infos.get("taskfailure", False))
        return Observation(
            text=str(text).strip(),
            valid_actions=tuple(sorted(str(a) for a in infos.get("validActions", ()))),
            task=str(infos.get("taskDescription", "")).strip(),
            score=self._score,
            done=done,
            success=success,
        )

    def reset(self, seed: int) -> Observation:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed: {seed!r} must be a non-negative integer")
        with self._lock:
            env = self._start()
            try:
                text, infos = env.reset(seed=seed, gameFold=self.fold, generateGoldPath=False)
            except Exception as err:
                if type(err).__name__ != "Py4JJavaError":
                    raise
                self._obs = None
                raise ValueError(f"seed: TWX cannot build {self.spec!r} for seed {seed}: {_java_message(err)}") from err
            self._seed = seed
            self._steps = 0
            self._obs = self._observation(text, infos)
            return self._obs

    def step(self, action: str) -> StepResult:
        with self._lock:
            if self._env is None or self._obs is None:
                raise RuntimeError("step before reset: call reset(seed) first")
            if self._obs.done:
                raise RuntimeError(f"the episode is over (after {self._steps} steps); call reset(seed) to start another")
            previous = self._score
            valid = action in self._obs.valid_actions
            text, _reward, _done, infos = self._env.step(action)
            self._steps += 1
            self.total_steps += 1
            self._obs = self._observation(text, infos)
            info = {
                "steps": self._steps,
                "score_raw": float(infos.get("scoreRaw", 0.0) or 0.0),
                "task_failure": bool(infos.get("taskfailure", False)),
                "invalid_action": not valid,
                "look": str(infos.get("look", "")).strip(),
                "inventory": str(infos.get("inventory", "")).strip(),
            }
            return StepResult(self._obs, self._score - previous, self._obs.done, info)

    def score(self) -> float:
        return self._score

    def success(self) -> bool:
        return bool(self._obs is not None and self._obs.success)

    def intent(self, task: str, observation: str) -> str:
        """Keyed with the exits the room description names (`teammind.suites.twx.intent`)."""
        from teammind.suites.twx.intent import intent_text

        return intent_text(task, observation)

    @property
    def observation(self) -> Observation | None:
        """The latest observation (None before the first reset)."""
        return self._obs

    def __repr__(self) -> str:
        return f"TWXEnv({self.spec!r}, seed={self._seed}, steps={self._steps}, started={self.started})"


def _java_message(err: BaseException) -> str:
    """The first line of a Java-side error (py4j wraps them at length)."""
    java = getattr(err, "java_exception", None)
    if java is not None:
        try:
            return str(java.getMessage()).strip()
        except Exception:  # noqa: BLE001 - the JVM may be gone
            pass
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


# -- factory ------------------------------------------------------------------------------


def make_twx_factory(spec: str, **overrides: Any) -> EnvFactory:
    """A zero-argument factory of fresh `TWXEnv`s for ``twx:<game>[:param=v,...]``.

    `overrides` replace parameters of the spec (game parameters, ``fold`` or ``step_limit``).
    Validated here, before any JVM starts; raises `ValueError` naming the bad field.
    """
    game, params = parse_twx_spec(spec)
    merged = {**params, **overrides}
    resolve_params(game, merged)  # fail now, not at the first reset

    def twx_factory() -> Environment:
        return TWXEnv(game, merged)

    twx_factory.spec = spec  # type: ignore[attr-defined]
    return twx_factory


def scripted_agent_factory(spec: str) -> Any:
    """team id -> a fresh scripted explorer (map-building, memory-reading; `teammind.suites.twx.scripted`)."""
    from teammind.suites.twx.scripted import TWXExplorer

    def scripted(team: str) -> Any:
        return TWXExplorer()

    return scripted


def available_games() -> dict[str, str]:
    """Game name -> one-line summary."""
    return {name: g.summary for name, g in sorted(GAMES.items())}


__all__ = [
    "FOLDS",
    "GAMES",
    "GameInfo",
    "TWXEnv",
    "available_games",
    "make_twx_factory",
    "parse_twx_spec",
    "resolve_params",
    "scripted_agent_factory",
]


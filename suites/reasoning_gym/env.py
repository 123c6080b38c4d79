"""reasoning-gym datasets behind the `teammind.agents.environment.Environment` protocol (free-text actions).

An episode is one reasoning-gym item. The observation's `task` and first
`text` are the item's question; actions are free text in three forms (listed
as templates in `valid_actions`, `free_text=True`):

* ``answer <text>``      -- scored by the dataset's own ``score_answer`` (a scorer
  that raises counts as 0.0). The episode ends on a correct answer (score >=
  1.0) or when the ``max_answers`` attempts are used up.
* ``calculate <expr>``   -- arithmetic (`teammind.agents.tools.calculate`); the result is the observation.
* ``python <code>``      -- the code runs in a separate, limited process
  (`teammind.agents.tools.run_python`); its stdout / stderr are the observation.

Anything else is answered with an observation that lists the allowed forms
(it costs a step, not an answer attempt). `score()` is the best answer score so
far; `family` (also in every `StepResult.info`) names the item's template
family: ``gsm_symbolic/t<k>`` for gsm_symbolic (its generator index),
the ``task_name`` for arc_1d, otherwise the dataset name.

Which item a seed plays (deterministic, the same for every team of a task):
the datasets are built once per process with ``seed=base_seed`` and a fixed
virtual size of `DATASET_SIZE` items; with several datasets the seed picks
one round-robin (``datasets[seed % n]``) and the item index is
``(seed // n) % DATASET_SIZE``. With ``task_names`` (arc_1d only) the index
is the first of a fixed, seed-derived probe sequence (``seed // n``, then
hashes of it) whose item has an allowed task name.

Specs (see `make_factory`):

    rg:gsm_symbolic                           one dataset, defaults
    rg:basic_arithmetic,chain_sum             several: the seed picks one round-robin
    rg:arc_1d:max_answers=2                   adapter options (below)
    rg:arc_1d:task_names=move_1pix_solid_right|move_2pix_solid_right
    rg:arc_1d:task_names=a|b|c,task_weights=4|2|1   families played 4:2:1 (a skewed task mix)
    rg:chain_sum:min_terms=3,max_terms=4      any field of the datasets' own config
                                              classes (except seed and size); list
                                              values are separated by "|"

Adapter options: ``max_answers`` (answer attempts per episode, default 1),
``base_seed`` (the datasets' seed, default 0), ``task_names`` (arc_1d),
``task_weights`` (one positive weight per task name: each seed first draws a
family by weight, then probes for an item of it),
``python_timeout`` (seconds per python action, default 5), ``python_memory_mb``
(default 256), ``step_limit`` (default 1000; graphs enforce their own max_steps),
``solver_order`` (the scripted arc solver's hypothesis order: ``library``, the
default, or ``sampled``, a per-puzzle shuffle).
"""

from __future__ import annotations

import dataclasses
import math
import re
import threading
from collections.abc import Mapping
from typing import Any

from teammind.agents.environment import EnvFactory, Environment, Observation, StepResult
from teammind.suites.options import as_int, parse_options
from teammind.agents.tools import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, calculate, run_python

DATASET_SIZE = 100_000
DEFAULT_STEP_LIMIT = 1000
TEMPLATES: tuple[str, ...] = ("answer <text>", "calculate <expression>", "python <code>")
VERBS: tuple[str, ...] = tuple(t.split(" ", 1)[0] for t in TEMPLATES)
ADAPTER_OPTIONS: tuple[str, ...] = (
    "max_answers", "base_seed", "task_names", "task_weights", "python_timeout", "python_memory_mb", "step_limit", "solver_order",
)
SOLVER_ORDERS: tuple[str, ...] = ("library", "sampled")  # agents.scripted_rg.SOLVER_ORDERS (not imported: no agent code at spec parsing)
RESERVED_CONFIG: tuple[str, ...] = ("seed", "size")
MAX_PROBES = 20_000
FORMS_HELP = (
    "Act with one of: 'answer <text>' (your final answer), 'calculate <expression>' (arithmetic), "
    "'python <code>' (run a Python snippet; its printed output comes back)."
)

_ACTION_RE = re.compile(r"^\s*([A-Za-z_]+)\b[ \t]*:?[ \t]*\n?(.*)$", re.DOTALL)
_FENCE_RE = re.compile(r"^\s*```(?:python|py)?[ \t]*\n(.*?)\n?```\s*$", re.DOTALL)


# -- spec and options ---------------------------------------------------------------------------


def _registry() -> dict[str, tuple[type, type]]:
    import reasoning_gym  # noqa: F401 - registers the datasets
    from reasoning_gym.factory import DATASETS

    return DATASETS


def available_datasets() -> list[str]:
    """Every dataset name reasoning-gym registers."""
    return sorted(_registry())


def arc_1d_task_names() -> list[str]:
    """arc_1d's task names (reasoning-gym's own list)."""
    from reasoning_gym.arc.arc_1d_tasks import ARC_1D_TASKS

    return sorted(ARC_1D_TASKS)


def _short_list(names: list[str], limit: int = 200) -> str:
    return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def parse_rg_spec(spec: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """``rg:<dataset>[,<dataset>...][:opt=v,...]`` -> (datasets, {option: raw value}); `ValueError` naming the field."""
    if not isinstance(spec, str) or not spec.strip().startswith("rg:"):
        raise ValueError(f"spec: {spec!r} is not a reasoning-gym spec; write rg:<dataset>[,<dataset>...][:opt=v,...], e.g. rg:gsm_symbolic")
    rest = spec.strip()[len("rg:") :]
    names_text, _, option_text = rest.partition(":")
    names = [n.strip() for n in names_text.split(",")]
    if not names_text.strip() or any(not n for n in names):
        raise ValueError(f"dataset: missing in spec {spec!r}; write rg:<dataset>[,<dataset>...], e.g. rg:arc_1d or rg:basic_arithmetic,chain_sum")
    known = _registry()
    for n in names:
        if n not in known:
            raise ValueError(f"dataset: unknown reasoning-gym dataset {n!r} in spec {spec!r}; valid datasets: {_short_list(sorted(known))}")
    if len(set(names)) != len(names):
        raise ValueError(f"dataset: a dataset is named twice in spec {spec!r}; name each once")
    options = parse_options(option_text, spec, field="options", example=f"rg:{names[0]}:max_answers=2")
    return tuple(names), options


def _as_float(field: str, value: Any, lo: float) -> float:
    try:
        out = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: {value!r} is not a number; pass e.g. {field}=5") from None
    if isinstance(value, bool) or not out > lo:
        raise ValueError(f"{field}: {value!r} must be a number > {lo}")
    return out


def _names_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split("|") if v.strip()]
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    raise ValueError(f"task_names: {value!r} is not a list of names; write task_names=name1|name2")


def _weights_list(value: Any) -> tuple[float, ...]:
    items = value.split("|") if isinstance(value, str) else list(value) if isinstance(value, list | tuple) else None
    try:
        weights = tuple(float(v) for v in items) if items is not None else None
    except (TypeError, ValueError):
        weights = None
    if not weights or not all(math.isfinite(w) and w > 0 for w in weights):
        raise ValueError(f"task_weights: {value!r} is not a list of positive numbers; write task_weights=4|2|1, one per task name")
    return weights


def _convert_config(field: str, value: Any, default: Any, dataset: str) -> Any:
    """A spec string converted to the type of the config field's default."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if isinstance(default, bool):
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{field}: {value!r} is not a boolean for dataset {dataset!r}; write {field}=true or {field}=false")
    if isinstance(default, int):
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{field}: {value!r} is not an integer for dataset {dataset!r}; write e.g. {field}={default}") from None
    if isinstance(default, float):
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{field}: {value!r} is not a number for dataset {dataset!r}; write e.g. {field}={default}") from None
    if isinstance(default, list | tuple):
        elem = default[0] if default else ""
        parts = [p.strip() for p in text.split("|") if p.strip()]
        out = [_convert_config(field, p, elem, dataset) for p in parts]
        return type(default)(out)
    if default is None:
        for conv in (int, float):
            try:
                return conv(text)
            except ValueError:
                pass
    return text


@dataclasses.dataclass(frozen=True)
class RGOptions:
    """Validated options of an rg spec."""

    datasets: tuple[str, ...]
    max_answers: int = 1
    base_seed: int = 0
    task_names: tuple[str, ...] | None = None
    task_weights: tuple[float, ...] | None = None  # one per task name: how often seeds play each family
    python_timeout: float = DEFAULT_TIMEOUT_S
    python_memory_mb: int = DEFAULT_MEMORY_MB
    step_limit: int = DEFAULT_STEP_LIMIT
    solver_order: str = "library"  # read by the scripted solver only (scripted_agent_factory)
    config: tuple[tuple[str, Any], ...] = ()  # dataset config fields, passed to every dataset

    @property
    def spec(self) -> str:
        parts = []
        if self.max_answers != 1:
            parts.append(f"max_answers={self.max_answers}")
        if self.base_seed != 0:
            parts.append(f"base_seed={self.base_seed}")
        if self.task_names:
            parts.append("task_names=" + "|".join(self.task_names))
        if self.task_weights:
            parts.append("task_weights=" + "|".join(f"{w:g}" for w in self.task_weights))
        if self.python_timeout != DEFAULT_TIMEOUT_S:
            parts.append(f"python_timeout={self.python_timeout:g}")
        if self.python_memory_mb != DEFAULT_MEMORY_MB:
            parts.append(f"python_memory_mb={self.python_memory_mb}")
        if self.step_limit != DEFAULT_STEP_LIMIT:
            parts.append(f"step_limit={self.step_limit}")
        if self.solver_order != "library":
            parts.append(f"solver_order={self.solver_order}")
        for k, v in self.config:
            parts.append(f"{k}=" + ("|".join(str(x) for x in v) if isinstance(v, list | tuple) else str(v)))
        return "rg:" + ",".join(self.datasets) + (":" + ",".join(parts) if parts else "")


def resolve_options(datasets: tuple[str, ...] | list[str], options: Mapping[str, Any] | None = None) -> RGOptions:
    """Validate datasets and options (building each dataset once); `ValueError` names the bad field."""
    datasets = tuple(datasets)
    known = _registry()
    if not datasets:
        raise ValueError("dataset: none given; name at least one, e.g. rg:gsm_symbolic")
    for n in datasets:
        if n not in known:
            raise ValueError(f"dataset: unknown reasoning-gym dataset {n!r}; valid datasets: {_short_list(sorted(known))}")
    kw: dict[str, Any] = {}
    config: dict[str, Any] = {}
    for name, raw in (options or {}).items():
        if name == "max_answers":
            kw[name] = as_int(name, raw, 1)
        elif name == "base_seed":
            kw[name] = as_int(name, raw, 0)
        elif name == "step_limit":
            kw[name] = as_int(name, raw, 1)
        elif name == "python_memory_mb":
            kw[name] = as_int(name, raw, 32)
        elif name == "python_timeout":
            kw[name] = _as_float(name, raw, 0.0)
        elif name == "task_names":
            if "arc_1d" not in datasets:
                raise ValueError(f"task_names: only arc_1d has task names, and the spec names {', '.join(datasets)}; drop task_names or add arc_1d")
            names = _names_list(raw)
            valid = arc_1d_task_names()
            bad = [n for n in names if n not in valid]
            if not names or bad:
                raise ValueError(f"task_names: unknown arc_1d task name(s) {bad or names}; valid names: {', '.join(valid)}")
            kw[name] = tuple(dict.fromkeys(names))
        elif name == "task_weights":
            kw[name] = _weights_list(raw)
        elif name == "solver_order":
            if raw not in SOLVER_ORDERS:
                raise ValueError(f"solver_order: {raw!r} is not one of {', '.join(SOLVER_ORDERS)}; the scripted arc solver tries its "
                                 "hypotheses in library order, or in a per-puzzle shuffle of it (sampled)")
            kw[name] = raw
        elif name in RESERVED_CONFIG:
            raise ValueError(f"{name}: the adapter sets the datasets' {name} (use base_seed to change which items seeds play)")
        else:
            for ds in datasets:
                fields = {f.name: f for f in dataclasses.fields(known[ds][1])}
                if name not in fields:
                    own = sorted(n for n in fields if n not in RESERVED_CONFIG)
                    raise ValueError(
                        f"{name}: not an option of reasoning-gym dataset {ds!r}; adapter options: {', '.join(ADAPTER_OPTIONS)}; "
                        f"{ds} config fields: {', '.join(own) or 'none'}"
                    )
                f = fields[name]
                default = f.default if f.default is not dataclasses.MISSING else (
                    f.default_factory() if f.default_factory is not dataclasses.MISSING else None  # type: ignore[misc]
                )
                config[name] = _convert_config(name, raw, default, ds)
    weights = kw.get("task_weights")
    if weights is not None and len(weights) != len(kw.get("task_names") or ()):
        raise ValueError(f"task_weights: {len(weights)} weights for {len(kw.get('task_names') or ())} task_names; "
                         "give one weight per name, in the same order (task_names=a|b,task_weights=3|1)")
    opts = RGOptions(datasets=datasets, config=tuple(sorted(config.items())), **kw)
    for ds in datasets:
        _dataset(ds, opts)  # fail now, not at the first reset
    return opts


# -- datasets (built once per process) -------------------------------------------------------

_DATASETS: dict[tuple[Any, ...], Any] = {}
_DATASETS_LOCK = threading.Lock()


def _freeze(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _dataset(name: str, opts: RGOptions) -> Any:
    key = (name, opts.base_seed, tuple((k, _freeze(v)) for k, v in opts.config))
    with _DATASETS_LOCK:
        ds = _DATASETS.get(key)
        if ds is not None:
            return ds
        import reasoning_gym

        try:
            ds = reasoning_gym.create_dataset(name, seed=opts.base_seed, size=DATASET_SIZE, **dict(opts.config))
        except (AssertionError, TypeError, ValueError) as err:
            fields = ", ".join(k for k, _ in opts.config) or "its defaults"
            raise ValueError(f"{fields}: reasoning-gym rejected the config of {name!r}: {err or type(err).__name__}") from err
        _DATASETS[key] = ds
        return ds


def _mix(a: int, b: int) -> int:
    """A 64-bit hash of two integers (splitmix64), for the task_names probe sequence."""
    x = (a * 0x9E3779B97F4A7C15 + b * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


WEIGHTS_SALT = 0x7A5C  # separates the family draw of task_weights from the item probes


def _weighted_pick(names: tuple[str, ...], weights: tuple[float, ...], draw: int) -> str:
    """The name a 64-bit `draw` lands on when names are laid out on [0, 1) by weight."""
    u = (draw >> 11) / float(1 << 53)
    total, acc = sum(weights), 0.0
    for n, w in zip(names, weights):
        acc += w / total
        if u < acc:
            return n
    return names[-1]


def family_of(dataset: str, ds: Any, idx: int, entry: Mapping[str, Any]) -> str:
    """The item's template family (see the module docstring)."""
    if dataset == "gsm_symbolic" and hasattr(ds, "task_indices"):
        return f"gsm_symbolic/t{ds.task_indices[idx]}"
    meta = entry.get("metadata") or {}
    if dataset == "arc_1d" and meta.get("task_name"):
        return str(meta["task_name"])
    return dataset


def parse_action(action: str) -> tuple[str | None, str]:
    """(verb, argument) of a free-text action; verb None when it is none of `VERBS`."""
    m = _ACTION_RE.match(action or "")
    if not m or m.group(1).lower() not in VERBS:
        return None, (action or "").strip()
    verb, arg = m.group(1).lower(), m.group(2)
    if verb == "python":
        fenced = _FENCE_RE.match(arg)
        if fenced:
            arg = fenced.group(1)
        return verb, arg.strip("\n")
    return verb, arg.strip()


# -- environment ---------------------------------------------------------------------------------


class RGEnv(Environment):
    """One reasoning-gym item per episode; free-text actions (answer / calculate / python)."""

    def __init__(self, datasets: str | tuple[str, ...] | list[str] = "gsm_symbolic", options: Mapping[str, Any] | RGOptions | None = None,
                 **overrides: Any) -> None:
        names = (datasets,) if isinstance(datasets, str) else tuple(datasets)
        if isinstance(options, RGOptions) and not overrides:
            self.options = options
        else:
            raw = dataclasses.asdict(options) if isinstance(options, RGOptions) else dict(options or {})
            if isinstance(options, RGOptions):
                raw = {k: v for k, v in raw.items() if k not in ("datasets", "config")} | dict(options.config)
            self.options = resolve_options(names, {**raw, **overrides})
        self.datasets = self.options.datasets
        self.name = "rg:" + ",".join(self.datasets)
        self._lock = threading.RLock()
        self._seed: int | None = None
        self._entry: dict[str, Any] | None = None
        self._obs: Observation | None = None
        self.dataset: str | None = None
        self.index: int | None = None
        self.family: str | None = None
        self._best = 0.0
        self._answers = 0
        self._steps = 0
        self.total_steps = 0

    # -- properties ---------------------------------------------------------------------------
    @property
    def spec(self) -> str:
        return self.options.spec

    @property
    def answers_left(self) -> int:
        return max(0, self.options.max_answers - self._answers)

    @property
    def observation(self) -> Observation | None:
        return self._obs

    @property
    def entry(self) -> dict[str, Any] | None:
        """The current item (question, answer, metadata). Agents must not read it; tests and evaluation may."""
        return self._entry

    # -- item selection -------------------------------------------------------------------------
    def locate(self, seed: int) -> tuple[str, int]:
        """(dataset, item index) that `seed` plays."""
        n = len(self.datasets)
        name = self.datasets[seed % n]
        k = seed // n
        if self.options.task_names and name == "arc_1d":
            ds = _dataset(name, self.options)
            allowed = set(self.options.task_names)
            if self.options.task_weights:  # the seed draws a family by weight, then an item of it
                allowed = {_weighted_pick(self.options.task_names, self.options.task_weights, _mix(k, WEIGHTS_SALT))}
            for a in range(MAX_PROBES):
                idx = k % DATASET_SIZE if a == 0 else _mix(k, a) % DATASET_SIZE
                if ds[idx]["metadata"].get("task_name") in allowed:
                    return name, idx
            raise ValueError(f"task_names: no arc_1d item with a task in {self.options.task_names} within {MAX_PROBES} probes of seed {seed}")
        return name, k % DATASET_SIZE

    # -- protocol --------------------------------------------------------------------------------
    def _observe(self, text: str, done: bool) -> Observation:
        assert self._entry is not None
        return Observation(
            text=text, valid_actions=TEMPLATES, task=str(self._entry["question"]).strip(), score=self._best,
            done=done, success=self._best >= 1.0, free_text=True,
        )

    def reset(self, seed: int) -> Observation:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed: {seed!r} must be a non-negative integer")
        with self._lock:
            name, idx = self.locate(seed)
            ds = _dataset(name, self.options)
            entry = ds[idx]
            self._seed, self.dataset, self.index, self._entry = seed, name, idx, entry
            self.family = family_of(name, ds, idx, entry)
            self._best, self._answers, self._steps = 0.0, 0, 0
            self._obs = self._observe(str(entry["question"]).strip(), False)
            return self._obs

    def _score_answer(self, text: str) -> float:
        assert self._entry is not None and self.dataset is not None
        try:
            score = float(_dataset(self.dataset, self.options).score_answer(text, self._entry))
        except Exception:  # noqa: BLE001 - some scorers raise on text they cannot parse: that answer is simply wrong
            return 0.0
        if math.isnan(score):
            return 0.0
        return min(1.0, max(0.0, score))

    def step(self, action: str) -> StepResult:
        with self._lock:
            if self._obs is None or self._entry is None:
                raise RuntimeError("step before reset: call reset(seed) first")
            if self._obs.done:
                raise RuntimeError(f"the episode is over (after {self._steps} steps); call reset(seed) to start another")
            previous = self._best
            verb, arg = parse_action(action if isinstance(action, str) else "")
            self._steps += 1
            self.total_steps += 1
            info: dict[str, Any] = {"steps": self._steps, "family": self.family, "dataset": self.dataset, "index": self.index, "verb": verb,
                                    "invalid_action": False}
            done = False
            if verb is None or not arg:
                info["invalid_action"] = True
                what = f"{verb} needs an argument" if verb else f"{_clip(arg, 60)!r} is not an action"
                text = f"{what}. {FORMS_HELP}"
            elif verb == "answer":
                score = self._score_answer(arg)
                self._answers += 1
                self._best = max(self._best, score)
                info["answer_score"] = score
                if score >= 1.0:
                    text, done = f"Your answer {_clip(arg, 200)!r} is correct (score {score:.2f}).", True
                else:
                    left = self.answers_left
                    text = f"Your answer {_clip(arg, 200)!r} is not correct (score {score:.2f})."
                    if left:
                        text += f" {left} answer attempt{'s' if left != 1 else ''} left."
                    else:
                        text += " No answer attempts left; the episode is over."
                        done = True
            elif verb == "calculate":
                result_text = calculate(arg)
                info["tool_error"] = result_text.startswith("error:")
                text = result_text if info["tool_error"] else f"{_clip(arg, 200)} = {result_text}"
            else:  # python
                result = run_python(arg, timeout_s=self.options.python_timeout, memory_mb=self.options.python_memory_mb)
                info["tool_timed_out"] = result.timed_out
                info["tool_returncode"] = result.returncode
                text = result.text()
            if self._steps >= self.options.step_limit and not done:
                done = True
                text += f"\nStep limit ({self.options.step_limit}) reached; the episode is over."
            info["answers_left"] = self.answers_left
            self._obs = self._observe(text, done)
            return StepResult(self._obs, self._best - previous, done, info)

    def score(self) -> float:
        return self._best

    def success(self) -> bool:
        return self._best >= 1.0

    def __repr__(self) -> str:
        return f"RGEnv({self.spec!r}, seed={self._seed}, family={self.family!r}, steps={self._steps})"


def _clip(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


# -- factory ---------------------------------------------------------------------------------------


def make_factory(spec: str, **overrides: Any) -> EnvFactory:
    """A zero-argument factory of fresh `RGEnv`s for ``rg:<dataset>[,...][:opt=v,...]``.

    `overrides` replace options of the spec. Validated here (the datasets are built
    once); raises `ValueError` naming the bad field.
    """
    datasets, options = parse_rg_spec(spec)
    resolved = resolve_options(datasets, {**options, **overrides})

    def rg_factory() -> Environment:
        return RGEnv(datasets, resolved)

    rg_factory.spec = resolved.spec  # type: ignore[attr-defined]
    return rg_factory


SCRIPTED_DATASETS: tuple[str, ...] = ("arc_1d", "basic_arithmetic", "chain_sum")


def scripted_agent_factory(spec: str) -> Any:
    """team id -> a fresh scripted solver (`teammind.suites.reasoning_gym.scripted`); `ValueError` for datasets it cannot solve."""
    datasets, options = parse_rg_spec(spec)
    bad = [d for d in datasets if d not in SCRIPTED_DATASETS]
    if bad:
        raise ValueError(
            f"agent: no scripted agent for reasoning-gym dataset(s) {', '.join(bad)}; the scripted solver handles "
            f"{', '.join(SCRIPTED_DATASETS)}; use the llm agent for the others"
        )
    from teammind.suites.reasoning_gym.scripted import RGSolver

    order = resolve_options(datasets, options).solver_order

    def scripted(team: str) -> Any:
        return RGSolver(order=order)

    return scripted


__all__ = [
    "ADAPTER_OPTIONS",
    "DATASET_SIZE",
    "TEMPLATES",
    "RGEnv",
    "RGOptions",
    "arc_1d_task_names",
    "available_datasets",
    "family_of",
    "make_factory",
    "parse_action",
    "parse_rg_spec",
    "resolve_options",
    "scripted_agent_factory",
]

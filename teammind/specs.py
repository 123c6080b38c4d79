"""Typed, validated descriptions of what the library runs: one parallel-teams run, an evaluation, a training job.

A spec holds plain values only (strings, numbers, tuples), so it round-trips
through JSON: run folders keep the spec they ran as `spec.json`, and
`teammind run|eval|train --spec FILE` runs it again. Bad values fail at
construction, naming the field and the fix. Secrets (`api_key`) are never
written by `to_dict`.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from teammind.memory import InvalidFieldError
from teammind.memory.files import read_json

if TYPE_CHECKING:
    from teammind.rl.train import TrainConfig

ADMISSION_VOCABULARY = "none|all|novelty[:THRESHOLD]|learned[:PATH]"
RETRIEVALS = ("similarity", "q")
AGENTS = ("scripted", "llm")
TEAM_SHAPES = ("single", "orchestrator")
AGGREGATORS = ("first", "majority", "best", "llm")
ADMISSION_VARIANTS = ("none", "all", "novelty", "learned")
STREAM_TASKS = ("repeat", "fresh")
SECRET_FIELDS = frozenset({"api_key"})

S = TypeVar("S", bound="Spec")


def check_admission(value: Any, field_name: str = "admission") -> str:
    """`value` if it is a word of the admission vocabulary (none, all, novelty[:T], learned[:PATH]); else a clear error."""
    if not isinstance(value, str):
        raise InvalidFieldError(field_name, f"is {value!r}", f"pass a string: {ADMISSION_VOCABULARY}")
    name, sep, arg = value.partition(":")
    if name in ("none", "all") and not sep:
        return value
    if name == "novelty":
        if sep:
            try:
                threshold = float(arg)
            except ValueError:
                raise InvalidFieldError(field_name, f"threshold {arg!r} is not a number", "write novelty:0.9 (a cosine similarity in [-1, 1])") from None
            if not -1.0 <= threshold <= 1.0:
                raise InvalidFieldError(field_name, f"threshold {threshold} is outside [-1, 1]", "write novelty:0.9 (a cosine similarity in [-1, 1])")
        return value
    if name == "learned":
        if sep and not arg:
            raise InvalidFieldError(field_name, "learned: has an empty path", "write learned (the shipped policy) or learned:PATH.safetensors")
        return value
    raise InvalidFieldError(field_name, f"unknown value {value!r}", f"use one of {ADMISSION_VOCABULARY}")


def _check_int(name: str, value: Any, lo: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise InvalidFieldError(name, f"is {value!r}", f"pass an integer >= {lo}")


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidFieldError(name, f"is {value!r}", f"use one of {', '.join(choices)}")


def _check_optional_text(name: str, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise InvalidFieldError(name, f"is {value!r}", "pass a non-empty string, or leave it unset")


def _check_seeds(name: str, value: Any) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise InvalidFieldError(name, f"is {value!r}", "pass a sequence of integers >= 0, e.g. range(20) or (0, 3, 7)")
    seeds = tuple(value)
    for s in seeds:
        _check_int(name, s, 0)
    if len(set(seeds)) != len(seeds):
        raise InvalidFieldError(name, f"repeats a seed in {list(seeds)}", "list every seed once")
    return seeds


@dataclass(frozen=True)
class Spec:
    """Shared JSON round-trip of the specs: plain fields in, plain fields out."""

    kind: ClassVar[str] = "spec"

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON values (tuples become lists), without secrets, tagged with the spec's kind."""
        data = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if k not in SECRET_FIELDS}
        return {"kind": self.kind, **data}

    @classmethod
    def from_dict(cls: type[S], data: dict[str, Any]) -> S:
        """Rebuild from `to_dict`'s output; unknown keys and a wrong kind are refused, naming them."""
        if not isinstance(data, dict):
            raise InvalidFieldError(cls.kind, f"is a {type(data).__name__}", "pass the JSON object that to_dict() wrote")
        data = dict(data)
        kind = data.pop("kind", cls.kind)
        if kind != cls.kind:
            raise InvalidFieldError("kind", f"is {kind!r}, not {cls.kind!r}", f"pass a {cls.kind} spec to {cls.__name__}")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InvalidFieldError(unknown[0], f"is not a field of {cls.__name__}", f"use only {', '.join(sorted(names))}")
        tuples = {f.name for f in fields(cls) if "tuple" in str(f.type)}
        return cls(**{k: (tuple(v) if k in tuples and isinstance(v, list) else v) for k, v in data.items()})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def load(cls: type[S], path: str | Path) -> S:
        """Read a spec.json; a missing or malformed file names the path."""
        return cls.from_dict(read_json(path, field="--spec", what="RUN/spec.json of an earlier run"))

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Field -> default value (the CLI's flag defaults come from here, so they never drift)."""
        out = {}
        for f in fields(cls):
            if f.default is not MISSING:
                out[f.name] = f.default
            elif f.default_factory is not MISSING:
                out[f.name] = f.default_factory()
        return out


@dataclass(frozen=True)
class RunSpec(Spec):
    """One task, K parallel teams over one shared bank: everything `teammind run` needs.

    env: environment spec: twx:<game>, rg:<dataset>, sciworld:<task>, or module:factory[:key=value,...].
    seed: decides the world; the same for every team.
    teams: K parallel teams (Learning to Share: 3).
    max_steps: step limit per team (Learning to Share: 30).
    admission: none (no shared memory), all, novelty[:T] (default threshold 0.9) or learned[:PATH]
        (no path: the policy shipped for this environment, twx:coin's or twx:twc's; elsewhere the novelty rule, which
        beat the policy trained to transfer on held-out workloads).
    retrieval: similarity only, or q (similarity reranked by learned utility, MemRL).
    agent: scripted (the suite's heuristic agent) or llm.
    team: single (one acting agent per team), orchestrator (an LLM sets subgoals for the agent), or your own
        team: module:factory[:key=value,...], where factory(memory, **options) returns a LangGraph graph;
        it then works on `task` or `tasks` instead of `env`.
    llm: embedded (the local llama.cpp server) or an OpenAI-compatible base URL.
    model: model name at `llm` (default: the server's first model).
    api_key: key for `llm` (default $TEAMMIND_LLM_API_KEY or $OPENAI_API_KEY); never written to spec.json.
    aggregator: first (first successful team; stops early), majority, best (score), or llm (a judge).
    bank: bank folder; None = a temporary folder, "memory" = in memory.
    experiences: experience store folder: read past episodes at the start, write this one back at the end.
    run_id: names the run and its checkpoint thread; None = random.
    checkpoint: SQLite checkpoint file; with `resume`, continues `run_id`.
    resume: resume `run_id` from `checkpoint`.
    trace: write the step trace (JSONL) here.
    task: the question your own team works on (with team=module:factory).
    tasks: module:loader[:key=value,...] returning tasks (Task objects, question strings or dicts) for your own team.
    grader: module:function[:key=value,...] grading an answer (-> float or bool) when a task has no grader of its own.
    """

    kind: ClassVar[str] = "run"

    env: str = "twx:coin"
    seed: int = 0
    teams: int = 3
    max_steps: int = 30
    admission: str = "novelty"
    retrieval: str = "q"
    agent: str = "scripted"
    team: str = "single"
    llm: str = "embedded"
    model: str | None = None
    api_key: str | None = None
    aggregator: str = "first"
    bank: str | None = None
    experiences: str | None = None
    run_id: str | None = None
    checkpoint: str | None = None
    resume: bool = False
    trace: str | None = None
    task: str | None = None
    tasks: str | None = None
    grader: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.env, str) or not self.env.strip():
            raise InvalidFieldError("env", f"is {self.env!r}", "pass an environment spec such as twx:coin, rg:arc_1d or module:factory")
        if not isinstance(self.team, str) or not self.team:
            raise InvalidFieldError("team", f"is {self.team!r}", f"use one of {', '.join(TEAM_SHAPES)} or module:factory")
        _check_int("seed", self.seed, 0)
        _check_int("teams", self.teams, 1)
        _check_int("max_steps", self.max_steps, 1)
        check_admission(self.admission)
        _check_choice("retrieval", self.retrieval, RETRIEVALS)
        _check_choice("agent", self.agent, AGENTS)
        if self.user_team:
            if ":" not in self.team.strip(":"):
                raise InvalidFieldError("team", f"is {self.team!r}", f"use one of {', '.join(TEAM_SHAPES)} or module:factory (your own graph)")
            if (self.task is None) == (self.tasks is None):
                raise InvalidFieldError("task", "give exactly one of task and tasks for your own team",
                                        'pass --task "the question" or --tasks module:loader')
            if self.resume or self.checkpoint:
                raise InvalidFieldError("resume", "is for the built-in lock-step teams", "drop --resume/--checkpoint with --team module:factory")
        else:
            for name in ("task", "tasks", "grader"):
                if getattr(self, name) is not None:
                    raise InvalidFieldError(name, f"is set for the built-in team {self.team!r}", "pass --team module:factory (your own graph) with it")
        _check_choice("aggregator", self.aggregator, AGGREGATORS)
        if not isinstance(self.llm, str) or not self.llm:
            raise InvalidFieldError("llm", f"is {self.llm!r}", "pass embedded or an OpenAI-compatible base URL")
        for name in ("model", "api_key", "bank", "experiences", "run_id", "checkpoint", "trace", "task", "tasks", "grader"):
            _check_optional_text(name, getattr(self, name))
        if not isinstance(self.resume, bool):
            raise InvalidFieldError("resume", f"is {self.resume!r}", "pass True or False")
        if self.resume and not (self.checkpoint and self.run_id):
            raise InvalidFieldError("resume", "needs checkpoint and run_id", "pass the checkpoint file (--checkpoint) and the run id (--run-id) to continue")

    @property
    def memory(self) -> bool:
        """Whether the teams share a bank (admission none = no memory)."""
        return self.admission != "none"

    @property
    def user_team(self) -> bool:
        """Whether `team` names your own graph (module:factory) rather than a built-in team shape."""
        return self.team not in TEAM_SHAPES


@dataclass(frozen=True)
class EvalSpec(Spec):
    """Admission variants (and, with a stream, retrieval variants) side by side on the same seeds.

    env, teams, max_steps, agent, llm, model, api_key: as in `RunSpec`.
    seeds: the worlds every variant plays.
    variants: admission variants to compare (none, all, novelty, learned).
    retrieval_variants: retrieval variants of the experience stream (similarity, q); empty = no stream.
    epochs: passes of the stream over the seeds (>= 2 with a stream: epoch 3 is the first where Q ranking can differ).
    stream_tasks: repeat (every epoch replays the seeds) or fresh (new seeds every epoch: only transfer helps).
    stream_admission: admission during the stream.
    failure_reward: Q target of a failed episode in the stream (MemRL: -1).
    lessons_from: warm-up seeds played before the admission comparison; their score-raising actions become lessons.
    checkpoint: learned admission policy (.safetensors); None = the one shipped for `env`.
    qnet: Q-network for the q variant (.safetensors), "none" for per-entry Q only, None = the shipped one.
    workers: Ray rollout workers (0 = in this process).
    run_name: names the experience namespaces; None = a fresh timestamped name.
    out: run folder (spec.json, eval.json, per_seed.jsonl, charts); None = keep nothing.
    team, tasks, grader: evaluate your own team (module:factory) on its task loader (module:loader) instead of `env`;
        `seeds` are then indices into the task list.
    """

    kind: ClassVar[str] = "eval"

    env: str = "twx:coin"
    seeds: tuple[int, ...] = tuple(range(20))
    teams: int = 3
    max_steps: int = 30
    agent: str = "scripted"
    llm: str = "embedded"
    model: str | None = None
    api_key: str | None = None
    variants: tuple[str, ...] = ADMISSION_VARIANTS
    retrieval_variants: tuple[str, ...] = ()
    epochs: int = 1
    stream_tasks: str = "repeat"
    stream_admission: str = "all"
    failure_reward: float = -1.0
    lessons_from: tuple[int, ...] = ()
    checkpoint: str | None = None
    qnet: str | None = None
    workers: int = 0
    run_name: str | None = None
    out: str | None = None
    team: str | None = None
    tasks: str | None = None
    grader: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.env, str) or not self.env.strip():
            raise InvalidFieldError("env", f"is {self.env!r}", "pass an environment spec such as twx:coin")
        for name in ("team", "tasks", "grader"):
            _check_optional_text(name, getattr(self, name))
        if (self.team is None) != (self.tasks is None):
            raise InvalidFieldError("tasks", "team and tasks go together", "pass both --team module:factory and --tasks module:loader")
        object.__setattr__(self, "seeds", _check_seeds("seeds", self.seeds))
        if not self.seeds:
            raise InvalidFieldError("seeds", "is empty", "pass at least one seed")
        object.__setattr__(self, "lessons_from", _check_seeds("lessons_from", self.lessons_from))
        _check_int("teams", self.teams, 1)
        _check_int("max_steps", self.max_steps, 1)
        _check_choice("agent", self.agent, AGENTS)
        object.__setattr__(self, "variants", tuple(self.variants))
        object.__setattr__(self, "retrieval_variants", tuple(self.retrieval_variants))
        for name, values, choices in (("variants", self.variants, ADMISSION_VARIANTS), ("retrieval_variants", self.retrieval_variants, RETRIEVALS)):
            for v in values:
                _check_choice(name, v, choices)
            if len(set(values)) != len(values):
                raise InvalidFieldError(name, f"repeats a name in {list(values)}", "list every variant once")
        _check_int("epochs", self.epochs, 1)
        if self.retrieval_variants and self.epochs < 2:
            raise InvalidFieldError("epochs", f"is {self.epochs} with retrieval_variants: a one-epoch stream only reads an empty store",
                                    "pass epochs=3 (Q ranking can first differ in epoch 3), or drop retrieval_variants")
        _check_choice("stream_tasks", self.stream_tasks, STREAM_TASKS)
        _check_choice("stream_admission", self.stream_admission, ADMISSION_VARIANTS)
        if isinstance(self.failure_reward, bool) or not isinstance(self.failure_reward, (int, float)):
            raise InvalidFieldError("failure_reward", f"is {self.failure_reward!r}", "pass a number from -1 to 0")
        _check_int("workers", self.workers, 0)
        if self.agent == "llm" and self.workers > 0:
            raise InvalidFieldError("agent", "llm runs in this process only (Ray rollout workers have no LLM client setting)",
                                    "use workers=0 with agent=llm")
        for name in ("model", "api_key", "checkpoint", "qnet", "run_name", "out"):
            _check_optional_text(name, getattr(self, name))


@dataclass(frozen=True)
class TrainSpec(Spec):
    """A training job: the algorithm's configuration plus where and how it runs.

    out: the run folder (spec.json, config.json, metrics.jsonl, curves.png, checkpoints/, policies).
    config: the `teammind.rl.train.TrainConfig` (its fields and defaults are documented there, each
        with its source); a dict of its fields is converted; None = every default.
    workers: Ray rollout workers (0 = in this process).
    ray_address: an existing Ray cluster; None = start Ray on this machine.
    resume: continue the run in `out` from its last checkpoint.
    """

    kind: ClassVar[str] = "train"

    out: str = ""
    config: TrainConfig | None = None
    workers: int = 0
    ray_address: str | None = None
    resume: bool = False

    def __post_init__(self) -> None:
        from teammind.rl.train import TrainConfig

        if not isinstance(self.out, str) or not self.out:
            raise InvalidFieldError("out", f"is {self.out!r}", "pass the run folder to write (it is created)")
        if self.config is None:
            object.__setattr__(self, "config", TrainConfig())
        elif isinstance(self.config, dict):
            object.__setattr__(self, "config", TrainConfig.from_dict(self.config))
        elif not isinstance(self.config, TrainConfig):
            raise InvalidFieldError("config", f"is a {type(self.config).__name__}", "pass a teammind.rl.train.TrainConfig, a dict of its fields, or None")
        _check_int("workers", self.workers, 0)
        _check_optional_text("ray_address", self.ray_address)
        if not isinstance(self.resume, bool):
            raise InvalidFieldError("resume", f"is {self.resume!r}", "pass True or False")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "out": self.out, "config": self.config.to_dict(), "workers": self.workers,  # type: ignore[union-attr]
                "ray_address": self.ray_address, "resume": self.resume}

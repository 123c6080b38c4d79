"""Side-by-side evaluation: learned vs baseline admission, Q-reranked vs similarity-only retrieval.

Every comparison plays its variants on the same seeds in one run (DESIGN
section 6), so a difference between rows is a difference between variants,
not between tasks or machine load.

**Admission** (LTS): each seed is played once per admission variant
(`none`, `all`, `novelty`, `learned`), argmax decisions, Q-reranked reads of
shared steps, no experiences. Variants are interleaved per seed, so slow
moments of the machine hit them alike, and each episode starts with an empty
embedder cache, so a variant never reuses the embeddings of the same world
that the variant before it paid for (steps and decisions do not depend on
the cache; wall times do). A second pass would replay the same
episodes (everything is seeded), which is why this comparison has no epochs.

**Lessons from other worlds** (`lessons_from`, off by default): before the
admission comparison, every warm-up seed is played once with
`stream_admission`, and each action that raised a team's score is stored as a
one-action *lesson* (graphs/experience.py) under
`("teammind", "eval-exp", <run name>, "warm-up", "lessons")`. Every memory
variant (not `none`, which stays memory-free) then reads those lessons on
the held-out seeds; the store is frozen there (no write-back, no Q update),
so every held-out world is independent of the others and of their order.
This measures what a deployment brings to a new task: shared steps between
the teams of this task plus what earlier tasks taught. Warm-up seeds must be
disjoint from `seeds`; a second evaluation with the same run name and
warm-up seeds reuses the stored lessons.

**Retrieval** (MemRL protocol): a task stream of `epochs` passes over the
seeds. Each retrieval variant has its own, fresh experience namespace
`("teammind", "eval-exp", <run name>, <variant>)`; every episode retrieves
experiences at its start, with admission fixed (`stream_admission`), and
after each epoch the driver applies `learn_from_episode` to every result in
spec order: Q of the experiences used moves toward the outcome and the
episode is written back. `similarity` gets the same writes and Q updates as
`q`, so both stores hold the same kinds of entries and only the ranking
differs. Epoch 1 reads an empty store and epoch 2 reads entries whose Q is
still 0 (none used yet), so with per-entry Q only the two variants can first
differ in epoch 3; hence the CLI's default of 3 epochs for the stream.

Rows (`EvalReport.rows`, one per admission variant, exact CLI names):
`variant`, `seeds` (the list), every `teammind.graphs.parallel.SUMMARY_KEYS` metric
and `score` (partial credit) as the mean over seeds plus `<metric>_std` (population std), and the ratios
`env_steps_ratio_to_none`, `llm_calls_ratio_to_none`, `wall_s_ratio_to_none`,
`admitted_ratio_to_all` (None when the baseline is absent or its mean is 0);
with `lessons_from`, also `lessons_used_per_episode`.

Retrieval rows (`EvalReport.retrieval_rows`): `variant`, `seeds`, `epochs`,
`stream_admission`, the last epoch's SUMMARY_KEYS means and `_std`,
`success_by_epoch` / `success_by_epoch_std` (lists, one per epoch),
`last_epoch_success`, `last_epoch_success_delta_to_similarity`, `stream_tasks`,
`experiences_stored`, `experiences_used_per_episode`,
`experiences_used_distinct`, `q_mean_used`, and MemRL's "Q correlates with
success" check: `q_success_r` (Pearson r between an experience's final Q and
the success rate of the episodes that used it), `q_success_n` (experiences in
it) and `q_success_note` (why r is None, when it is).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from teammind.graphs.parallel import SUMMARY_KEYS
from teammind.memory import InvalidFieldError, MemoryBank
from teammind.rl.rollout import ADMISSION_VARIANTS, RETRIEVAL_VARIANTS, RolloutResult, RolloutSpec, StateDict, check_workload, workload

RATIO_TO_NONE = ("env_steps", "llm_calls", "wall_s")  # env_steps: for your own teams, the tool calls executed
ROW_KEYS = (*SUMMARY_KEYS, "score")  # score: the winner's partial credit in [0, 1] (ScienceWorld grades progress)
MIN_CORRELATION_EXPERIENCES = 3  # fewer used experiences than this: no Pearson r
EXPERIENCE_PREFIX = ("teammind", "eval-exp")
WEIGHTS_VERSION = 1  # one fixed policy / Q-network for the whole evaluation
STREAM_TASKS = ("repeat", "fresh")
MAX_SEEDS = 100_000  # a typo like 0..10000000 should fail fast, not queue ten million episodes
PER_SEED_KEYS = ("proposed", "reads", "rounds")
TOOL_KEYS = ("tool_calls", "tool_calls_shared")  # your own teams: calls executed, and answered from the bank
WARM_UP = "warm-up"  # names the experience namespace of the lessons' warm-up

OnResult = Callable[[RolloutResult], None]


# -- inputs ---------------------------------------------------------------------


def parse_seeds(text: str, field_name: str = "seeds") -> list[int]:
    """'A..B' (inclusive) or a comma list 'a,b,c' -> seeds; errors name the field and the fix."""
    raw = str(text).strip()
    example = "write A..B (inclusive, e.g. 0..19) or a comma list (e.g. 0,3,7)"
    if not raw:
        raise InvalidFieldError(field_name, "is empty", example)
    if ".." in raw:
        lo_text, _, hi_text = raw.partition("..")
        try:
            lo, hi = int(lo_text), int(hi_text)
        except ValueError:
            raise InvalidFieldError(field_name, f"{raw!r} is not a range of integers", example) from None
        if lo < 0:
            raise InvalidFieldError(field_name, f"{raw!r} starts below 0", "seeds are non-negative integers; start at 0 or above")
        if hi < lo:
            raise InvalidFieldError(field_name, f"{raw!r} runs backwards", f"write the smaller seed first, e.g. {hi}..{lo}")
        if hi - lo + 1 > MAX_SEEDS:
            raise InvalidFieldError(field_name, f"{raw!r} is {hi - lo + 1} seeds", f"use at most {MAX_SEEDS} seeds")
        return list(range(lo, hi + 1))
    seeds = []
    for part in raw.split(","):
        part = part.strip()
        try:
            seed = int(part)
        except ValueError:
            raise InvalidFieldError(field_name, f"{part!r} in {raw!r} is not an integer", example) from None
        if seed < 0:
            raise InvalidFieldError(field_name, f"{seed} is negative", "seeds are non-negative integers")
        seeds.append(seed)
    duplicates = sorted({s for s in seeds if seeds.count(s) > 1})
    if duplicates:
        raise InvalidFieldError(field_name, f"repeats {duplicates}", "list every seed once (repeats would weigh some tasks twice)")
    return seeds


def load_admission_weights(path: str | Path, field_name: str = "checkpoint") -> StateDict:
    """A saved `LearnedAdmission` (safetensors) -> numpy state dict for the rollout pool."""
    from teammind.memory import LearnedAdmission
    from teammind.rl.rollout import state_dict_numpy

    path = Path(path)
    if not path.is_file():
        raise InvalidFieldError(field_name, f"no admission checkpoint at {path}",
                                "pass the .safetensors file written by `teammind train` (or LearnedAdmission.save)")
    try:
        policy = LearnedAdmission.load(path)
    except InvalidFieldError as err:
        raise InvalidFieldError(field_name, f"{path}: {err.problem}", err.fix) from err
    except Exception as err:  # noqa: BLE001 - a corrupt or foreign file: say which flag points at it
        raise InvalidFieldError(field_name, f"{path} is not a readable admission policy ({type(err).__name__}: {err})",
                                "pass a .safetensors file written by `teammind train` or LearnedAdmission.save") from err
    return state_dict_numpy(policy.net)


def load_qnet_weights(path: str | Path, field_name: str = "qnet") -> StateDict:
    """A saved Q-network (safetensors state dict of `teammind.rl.q_learner.QNet`) -> numpy state dict, shape-checked."""
    from safetensors.torch import load_file

    from teammind.rl.q_learner import QNet
    from teammind.rl.rollout import state_dict_numpy

    path = Path(path)
    if not path.is_file():
        raise InvalidFieldError(field_name, f"no Q-network at {path}", "pass the qnet.safetensors written by `teammind train`, or none")
    try:
        state = load_file(str(path))
        net = QNet(hidden=int(state["layers.0.weight"].shape[0]))
        net.load_state_dict(state)
    except Exception as err:  # noqa: BLE001 - wrong file, wrong shapes, wrong version
        raise InvalidFieldError(field_name, f"{path} is not a Q-network of this teammind version ({type(err).__name__}: {err})",
                                "retrain it with `teammind train`, or pass none to rank by per-entry Q only") from err
    return state_dict_numpy(net)


@dataclass(frozen=True)
class EvalConfig:
    """What one evaluation plays. `retrieval_variants` empty = no retrieval stream."""

    env: str = "twx:coin"
    seeds: tuple[int, ...] = (0, 1, 2)
    teams: int = 3
    max_steps: int = 30
    agent: str = "scripted"
    variants: tuple[str, ...] = ADMISSION_VARIANTS
    retrieval_variants: tuple[str, ...] = ()
    epochs: int = 3  # passes of the retrieval stream (ignored when it is off)
    stream_admission: str = "all"
    stream_tasks: str = "repeat"  # "repeat": every epoch plays `seeds` again; "fresh": epoch e plays new seeds (see stream_seeds)
    run_name: str = "eval"
    novelty_threshold: float = 0.9
    failure_reward: float = -1.0  # the stream's Q target for a failed episode (MemRL: -1, or 0)
    lessons_from: tuple[int, ...] = ()  # warm-up seeds whose score-raising actions every memory variant reads; () = off
    team: str | None = None  # your own team (module:factory); `seeds` then index the task list of `tasks`
    tasks: str | None = None  # module:loader of your team's tasks
    grader: str | None = None  # module:function for tasks without a grader

    def __post_init__(self) -> None:
        check_workload(self.team, self.tasks)
        object.__setattr__(self, "seeds", tuple(self.seeds))
        object.__setattr__(self, "variants", tuple(self.variants))
        object.__setattr__(self, "retrieval_variants", tuple(self.retrieval_variants))
        object.__setattr__(self, "lessons_from", tuple(self.lessons_from))
        if not self.seeds:
            raise InvalidFieldError("seeds", "is empty", "give at least one seed")
        for s in self.seeds:
            if isinstance(s, bool) or not isinstance(s, int) or s < 0:
                raise InvalidFieldError("seeds", f"contains {s!r}", "seeds are non-negative integers")
        if len(set(self.seeds)) != len(self.seeds):
            raise InvalidFieldError("seeds", "has repeats", "list every seed once")
        _check_names("variants", self.variants, ADMISSION_VARIANTS, allow_empty=bool(self.retrieval_variants))
        _check_names("retrieval_variants", self.retrieval_variants, RETRIEVAL_VARIANTS, allow_empty=True)
        for s in self.lessons_from:
            if isinstance(s, bool) or not isinstance(s, int) or s < 0:
                raise InvalidFieldError("lessons_from", f"contains {s!r}", "warm-up seeds are non-negative integers")
        if len(set(self.lessons_from)) != len(self.lessons_from):
            raise InvalidFieldError("lessons_from", "has repeats", "list every warm-up seed once")
        if self.lessons_from and not self.variants:
            raise InvalidFieldError("lessons_from", "is set but no admission variant is evaluated (only they read lessons)",
                                    "add admission variants (e.g. none all learned), or drop the warm-up")
        overlap = sorted(set(self.lessons_from) & set(self.seeds))
        if overlap:
            raise InvalidFieldError("lessons_from", f"shares seeds {overlap[:5]} with the evaluated seeds",
                                    "warm up on other worlds (e.g. training seeds 1000..1099 for test seeds 100..199): a world must not read its own lessons")
        if self.stream_tasks not in STREAM_TASKS:
            raise InvalidFieldError("stream_tasks", f"is {self.stream_tasks!r}", f"use one of {STREAM_TASKS}")
        if self.stream_admission not in ADMISSION_VARIANTS:
            raise InvalidFieldError("stream_admission", f"is {self.stream_admission!r}", f"use one of {ADMISSION_VARIANTS}")
        for name, lo in (("teams", 1), ("max_steps", 1), ("epochs", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise InvalidFieldError(name, f"is {v!r}", f"pass an integer >= {lo}")
        if isinstance(self.failure_reward, bool) or not isinstance(self.failure_reward, int | float) or not -1.0 <= self.failure_reward <= 0.0:
            raise InvalidFieldError("failure_reward", f"is {self.failure_reward!r}", "pass a number from -1 (MemRL's default) to 0")
        if not str(self.run_name).strip():
            raise InvalidFieldError("run_name", "is empty", "name the run (it names the experience namespaces)")

    @property
    def needs_admission_weights(self) -> bool:
        return "learned" in self.variants or (bool(self.retrieval_variants or self.lessons_from) and self.stream_admission == "learned")

    def episodes(self) -> int:
        """How many episodes the evaluation plays (progress bars)."""
        return len(self.seeds) * (len(self.variants) + len(self.retrieval_variants) * self.epochs) + len(self.lessons_from)

    def stream_seeds(self, epoch: int) -> list[int]:
        """The seeds epoch `epoch` (1-based) of the stream plays.

        "repeat" plays `seeds` every epoch (MemRL's passes over one task set; a
        task then finds its own past experience). "fresh" shifts them by
        (epoch - 1) x span, span = max - min + 1, so every epoch brings tasks not
        seen before and only experience that transfers between tasks can help.
        """
        if self.stream_tasks == "repeat":
            return list(self.seeds)
        span = max(self.seeds) - min(self.seeds) + 1
        return [s + (epoch - 1) * span for s in self.seeds]

    def experience_namespace(self, variant: str) -> tuple[str, ...]:
        return (*EXPERIENCE_PREFIX, self.run_name, variant)

    def warm_up_namespace(self) -> tuple[str, ...]:
        """The experience namespace whose lessons the admission variants read (when `lessons_from` is set)."""
        return self.experience_namespace(WARM_UP)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def _check_names(field_name: str, names: Sequence[str], allowed: Sequence[str], *, allow_empty: bool) -> None:
    if not names and not allow_empty:
        raise InvalidFieldError(field_name, "is empty", f"name at least one of {tuple(allowed)}")
    bad = [n for n in names if n not in allowed]
    if bad:
        raise InvalidFieldError(field_name, f"has unknown {bad}", f"use names from {tuple(allowed)}")
    if len(set(names)) != len(names):
        raise InvalidFieldError(field_name, f"repeats a name in {list(names)}", "list every variant once")


# -- results --------------------------------------------------------------------


@dataclass
class EvalReport:
    """Rows for the table and the JSON file; `per_seed` has one record per episode."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    retrieval_rows: list[dict[str, Any]] = field(default_factory=list)
    per_seed: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "retrieval_rows": self.retrieval_rows, "per_seed": self.per_seed, "config": self.config}


def _num(x: float) -> float:
    return round(float(x), 6)


def aggregate(summaries: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Mean and population std over seeds of every ROW_KEYS metric (SUMMARY_KEYS and the score)."""
    out: dict[str, float] = {}
    keys = ROW_KEYS + (TOOL_KEYS if summaries and all(k in s for s in summaries for k in TOOL_KEYS) else ())
    for key in keys:
        values = [float(s[key]) for s in summaries]
        out[key] = _num(statistics.fmean(values)) if values else math.nan
        out[f"{key}_std"] = _num(statistics.pstdev(values)) if len(values) > 1 else 0.0
    return out


def _ratio(value: float, base: float | None) -> float | None:
    if base is None or not base or math.isnan(base):
        return None
    return _num(value / base)


def admission_rows(variants: Sequence[str], seeds: Sequence[int], by_variant: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One row per variant: means, `_std`, and ratios to `none` (cost) and to `all` (entries admitted)."""
    means = {v: aggregate(by_variant[v]) for v in variants}
    none, admit_all = means.get("none"), means.get("all")
    rows = []
    for v in variants:
        row: dict[str, Any] = {"variant": v, "seeds": list(seeds), **means[v]}
        for key in RATIO_TO_NONE:
            row[f"{key}_ratio_to_none"] = _ratio(means[v][key], none[key] if none else None)
        row["admitted_ratio_to_all"] = _ratio(means[v]["admitted"], admit_all["admitted"] if admit_all else None)
        rows.append(row)
    return rows


def q_success_correlation(outcomes: dict[str, list[float]], final_q: dict[str, float],
                          min_n: int = MIN_CORRELATION_EXPERIENCES) -> dict[str, Any]:
    """Pearson r between each used experience's final Q and the success rate of the episodes that used it (MemRL)."""
    ids = sorted(i for i in outcomes if outcomes[i] and i in final_q)
    result: dict[str, Any] = {"q_success_r": None, "q_success_n": len(ids), "q_success_note": None}
    if len(ids) < min_n:
        result["q_success_note"] = f"only {len(ids)} experiences were used (need {min_n}); run more seeds or epochs"
        return result
    q = np.array([final_q[i] for i in ids], dtype=np.float64)
    rate = np.array([statistics.fmean(outcomes[i]) for i in ids], dtype=np.float64)
    if q.std() < 1e-12 or rate.std() < 1e-12:
        which = "success rate" if rate.std() < 1e-12 else "Q"
        result["q_success_note"] = f"{which} is the same for every used experience, so r is undefined"
        return result
    result["q_success_r"] = _num(np.corrcoef(q, rate)[0, 1])
    return result


def per_seed_record(result: RolloutResult, comparison: str, variant: str, epoch: int | None) -> dict[str, Any]:
    """What `per_seed.jsonl` keeps of one episode (the metrics, not the actions)."""
    s = result.summary
    return {
        "comparison": comparison, "variant": variant, "seed": result.spec.seed, "epoch": epoch, "episode_id": result.spec.episode_id,
        **{k: s[k] for k in ROW_KEYS}, **{k: s.get(k) for k in PER_SEED_KEYS}, **{k: s[k] for k in TOOL_KEYS if k in s},
        "experiences_retrieved": list(s.get("experiences_retrieved", [])), "experiences_used": list(s.get("experiences_used", [])),
        "episode_wall_s": _num(result.wall_s),
    }


# -- the two comparisons ------------------------------------------------------------


def admission_specs(config: EvalConfig) -> list[RolloutSpec]:
    """Seed-major, variants interleaved: each seed's variants run back to back."""
    lessons = config.warm_up_namespace() if config.lessons_from else None
    return [
        RolloutSpec(env=config.env, seed=seed, episode_id=f"{config.run_name}-adm-{variant}-s{seed}", teams=config.teams,
                    max_steps=config.max_steps, admission=variant, retrieval="q", sample_admission=False, agent=config.agent,
                    novelty_threshold=config.novelty_threshold, experience_namespace=None if variant == "none" else lessons,
                    cold_embedding_cache=True, **workload(config))
        for seed in config.seeds
        for variant in config.variants
    ]


def warm_up_specs(config: EvalConfig) -> list[RolloutSpec]:
    """The lessons' warm-up: every `lessons_from` seed once, with the stream's admission."""
    return [
        RolloutSpec(env=config.env, seed=seed, episode_id=f"{config.run_name}-warm-s{seed}", teams=config.teams,
                    max_steps=config.max_steps, admission=config.stream_admission, retrieval="q", sample_admission=False,
                    experience_namespace=config.warm_up_namespace(), agent=config.agent, novelty_threshold=config.novelty_threshold,
                    **workload(config))
        for seed in config.lessons_from
    ]


def run_lesson_warm_up(config: EvalConfig, pool: Any, bank: MemoryBank, admission_weights: StateDict | None,
                       on_result: OnResult | None = None) -> dict[str, Any]:
    """Play the warm-up seeds and store their lessons (in spec order); reuse them if this run name has them already."""
    from teammind.graphs.experience import lesson_namespace, write_lessons

    namespace = lesson_namespace(config.warm_up_namespace())
    expected = {s.episode_id for s in warm_up_specs(config)}
    stored = bank.list(namespace, kind="experience")
    if stored:
        foreign = sorted({e.origin.episode for e in stored} - expected)
        if foreign:
            raise InvalidFieldError("run_name", f"lesson namespace {namespace} holds lessons of other warm-up runs ({foreign[:3]})",
                                    "use a new run name, or the same lessons_from as the run that wrote them")
        return {"lessons_stored": len(stored), "warm_up": "reused", "warm_up_seeds": list(config.lessons_from)}
    results = pool.run(warm_up_specs(config), weights=admission_weights, version=WEIGHTS_VERSION, on_result=on_result)
    written = sum(len(write_lessons(bank, config.warm_up_namespace(), r.summary)) for r in results)  # spec order
    summaries = [r.summary for r in results]
    return {"lessons_stored": written, "warm_up": "played", "warm_up_seeds": list(config.lessons_from),
            "warm_up_admission": config.stream_admission, **{f"warm_up_{k}": v for k, v in aggregate(summaries).items() if not k.endswith("_std")}}


def stream_specs(config: EvalConfig, epoch: int) -> list[RolloutSpec]:
    """One epoch of the retrieval stream: every seed once per retrieval variant, interleaved per seed."""
    return [
        RolloutSpec(env=config.env, seed=seed, episode_id=f"{config.run_name}-exp-{variant}-e{epoch}-s{seed}", teams=config.teams,
                    max_steps=config.max_steps, admission=config.stream_admission, retrieval=variant, sample_admission=False,
                    experience_namespace=config.experience_namespace(variant), agent=config.agent,
                    novelty_threshold=config.novelty_threshold, **workload(config))
        for seed in config.stream_seeds(epoch)
        for variant in config.retrieval_variants
    ]


def run_admission_comparison(config: EvalConfig, pool: Any, admission_weights: StateDict | None,
                             on_result: OnResult | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rows, per-seed records) of the admission variants."""
    if not config.variants:
        return [], []
    results = pool.run(admission_specs(config), weights=admission_weights, version=WEIGHTS_VERSION, on_result=on_result)
    by_variant: dict[str, list[dict[str, Any]]] = {v: [] for v in config.variants}
    records = []
    for r in results:
        by_variant[r.spec.admission].append(r.summary)
        records.append(per_seed_record(r, "admission", r.spec.admission, None))
    rows = admission_rows(config.variants, config.seeds, by_variant)
    if config.lessons_from:
        from teammind.graphs.experience import is_lesson_id

        for row in rows:
            used = [sum(map(is_lesson_id, s.get("experiences_used", []))) for s in by_variant[row["variant"]]]
            row["lessons_used_per_episode"] = _num(statistics.fmean(used))
    return rows, records


def run_retrieval_stream(config: EvalConfig, pool: Any, bank: MemoryBank, admission_weights: StateDict | None,
                         qnet_weights: StateDict | None, on_result: OnResult | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rows, per-seed records) of the MemRL task stream, one fresh experience namespace per retrieval variant."""
    from teammind.rl.q_learner import learn_from_episode

    variants = config.retrieval_variants
    if not variants:
        return [], []
    for v in variants:
        ns = config.experience_namespace(v)
        if bank.list(ns, kind="experience", limit=1):
            raise InvalidFieldError("run_name", f"experience namespace {ns} already holds entries",
                                    "use a new run name, so every variant starts from an empty store")
    by_epoch: dict[str, list[list[dict[str, Any]]]] = {v: [] for v in variants}
    outcomes: dict[str, dict[str, list[float]]] = {v: defaultdict(list) for v in variants}  # experience id -> successes of users
    records = []
    for epoch in range(1, config.epochs + 1):
        results = pool.run(stream_specs(config, epoch), weights=admission_weights, version=WEIGHTS_VERSION,
                           qnet_weights=qnet_weights, qnet_version=WEIGHTS_VERSION, on_result=on_result)
        for v in variants:
            by_epoch[v].append([])
        for r in results:  # spec order: the same writes, in the same order, whatever ran the episodes
            v = r.spec.retrieval
            info = learn_from_episode(bank, config.experience_namespace(v), r.summary, failure_reward=config.failure_reward)
            for exp_id in info["used"]:
                outcomes[v][exp_id].append(float(r.summary["success"]))
            by_epoch[v][-1].append(r.summary)
            records.append(per_seed_record(r, "retrieval", v, epoch))
    rows = []
    for v in variants:
        stored = {e.id: e for e in bank.list(config.experience_namespace(v), kind="experience")}
        final_q = {i: e.q for i, e in stored.items()}
        last = by_epoch[v][-1]
        all_episodes = [s for epoch_rows in by_epoch[v] for s in epoch_rows]
        used_ids = [i for i in outcomes[v] if i in final_q]
        success_by_epoch = [aggregate(rows_)["success"] for rows_ in by_epoch[v]]
        rows.append({
            "variant": v, "seeds": list(config.seeds), "epochs": config.epochs, "stream_admission": config.stream_admission,
            "stream_tasks": config.stream_tasks,
            **aggregate(last),
            "success_by_epoch": success_by_epoch,
            "success_by_epoch_std": [aggregate(rows_)["success_std"] for rows_ in by_epoch[v]],
            "last_epoch_success": success_by_epoch[-1],
            "experiences_stored": len(stored),
            "experiences_used_per_episode": _num(statistics.fmean(len(s.get("experiences_used", [])) for s in all_episodes)),
            "experiences_used_distinct": len(used_ids),
            "q_mean_used": _num(statistics.fmean(final_q[i] for i in used_ids)) if used_ids else None,
            **q_success_correlation(outcomes[v], final_q),
        })
    base = next((r["last_epoch_success"] for r in rows if r["variant"] == "similarity"), None)
    for row in rows:
        row["last_epoch_success_delta_to_similarity"] = None if base is None else _num(row["last_epoch_success"] - base)
    return rows, records


def run_evaluation(config: EvalConfig, pool: Any, *, experience_bank: MemoryBank | None = None,
                   admission_weights: StateDict | None = None, qnet_weights: StateDict | None = None,
                   on_result: OnResult | None = None) -> EvalReport:
    """Play both comparisons on `pool` (an `teammind.rl.workers.RolloutPool`); the driver owns every experience write.

    `experience_bank` is the driver's handle on the store the pool's workers
    read (the same object for workers=0); it is needed only for the stream.
    """
    if config.needs_admission_weights and admission_weights is None:
        raise InvalidFieldError("admission_weights", "missing while a learned admission variant is evaluated",
                                "load them with load_admission_weights(path), or drop learned")
    if (config.retrieval_variants or config.lessons_from) and experience_bank is None:
        raise InvalidFieldError("experience_bank", "missing while the retrieval stream or the lessons' warm-up is on",
                                "pass the bank the pool's workers read (RolloutPool(experience_bank=...) for workers=0)")
    lessons: dict[str, Any] = {}
    if config.lessons_from and config.variants:
        assert experience_bank is not None
        warm_weights = admission_weights if config.stream_admission == "learned" else None
        lessons = run_lesson_warm_up(config, pool, experience_bank, warm_weights, on_result)
    rows, records = run_admission_comparison(config, pool, admission_weights if "learned" in config.variants else None, on_result)
    retrieval_rows: list[dict[str, Any]] = []
    if config.retrieval_variants:
        assert experience_bank is not None
        stream_weights = admission_weights if config.stream_admission == "learned" else None
        retrieval_rows, stream_records = run_retrieval_stream(config, pool, experience_bank, stream_weights, qnet_weights, on_result)
        records += stream_records
    return EvalReport(rows=rows, retrieval_rows=retrieval_rows, per_seed=records, config={**config.to_dict(), **({"lessons": lessons} if lessons else {})})

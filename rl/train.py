"""`teammind train`: learn the admission controller (LTS) and the experience Q-values (MemRL) from rollouts.

Read top to bottom, one iteration is:

1. pick `tasks_per_iteration` training worlds (seeded by (seed, iteration), so a
   resumed job picks the same ones) and play each G times with sampled
   admission decisions (temperature 1.2) -- a *group* per task (LTS);
2. assign credit per group (rl/credit.py: group-normalised return, usage bonus,
   sparsity) and take one policy-gradient step (rl/admission_trainer.py);
3. in episode order, update Q of every experience an episode used and write
   the episode back to the experience store (MemRL), then refit the
   Q-network on every (intent, experience, reward) seen so far;
4. append a metrics line; every `eval_every` iterations play the held-out
   seeds with argmax decisions (and, once, the fixed baselines) and redraw
   the curves; write a checkpoint (rl/checkpoint.py).

Rollouts run in this process or on Ray workers (rl/workers.py); the results
are the same either way. A job killed at any point resumes with `resume=True`
from its last checkpoint and ends where an uninterrupted job ends: the
checkpoint holds the policy, the optimiser, the Q-network and its samples,
and a copy of the experience store, which is restored on resume.
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from teammind.memory import InvalidFieldError, LearnedAdmission, MemoryBank
from teammind.memory.admission import FEATURE_DIM, FEATURE_SETS
from teammind.memory.files import read_json
from teammind.rl.admission_trainer import AdmissionTrainer, TrainerConfig
from teammind.rl.checkpoint import CheckpointDir, atomic_write_text, load_arrays, load_module, load_optimizer, save_arrays, save_module, save_optimizer
from teammind.rl.credit import CreditConfig, assign_credit, group_returns
from teammind.rl.q_learner import QNet, QNetTrainer, learn_from_episode, save_qnet
from teammind.rl.rollout import RolloutResult, RolloutSpec, check_workload, state_dict_numpy, workload, workload_name
from teammind.rl.workers import ExperienceStore, RolloutPool

SUMMARY_METRICS = ("success", "env_steps", "llm_calls", "prompt_tokens", "admitted", "proposed", "read_by_other", "wall_s")


@dataclass(frozen=True)
class MixPart:
    """One workload of a training mix: an environment spec, or your own team with its task loader, with its own seeds.

    train_seeds / eval_seeds: worlds (or task indices for a team) to train on and to select the policy on; apart.
    """

    env: str = "twx:coin"
    train_seeds: tuple[int, int] = (1000, 1999)
    eval_seeds: tuple[int, ...] = tuple(range(4))
    team: str | None = None
    tasks: str | None = None
    grader: str | None = None

    def __post_init__(self) -> None:
        check_workload(self.team, self.tasks)
        object.__setattr__(self, "train_seeds", tuple(self.train_seeds))
        object.__setattr__(self, "eval_seeds", tuple(self.eval_seeds))
        _check_seeds(self.train_seeds, self.eval_seeds, where=f"mix part {workload_name(self)}")

    @property
    def name(self) -> str:
        return workload_name(self)


def _check_seeds(train_seeds: tuple[int, int], eval_seeds: tuple[int, ...], where: str = "") -> None:
    prefix = f"{where}: " if where else ""
    if len(train_seeds) != 2 or train_seeds[0] > train_seeds[1] or train_seeds[0] < 0:
        raise InvalidFieldError("train_seeds", f"{prefix}is {train_seeds!r}", "pass (first, last) with 0 <= first <= last")
    lo, hi = train_seeds
    if not eval_seeds:
        raise InvalidFieldError("eval_seeds", f"{prefix}is empty", "pass the held-out seeds the policy is selected on")
    if set(eval_seeds) & set(range(lo, hi + 1)):
        raise InvalidFieldError("eval_seeds", f"{prefix}overlap the training seeds", "evaluate on held-out worlds, e.g. 0..7 with training 1000..1999")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run (saved as config.json in the run folder).

    env: environment spec (rl/envs).
    episodes: training episodes in total (rounded up to whole iterations).
    group: G rollouts per task, the group advantages are normalised over (LTS; ours 4 for small machines).
    tasks_per_iteration: tasks per policy update (ours).
    teams, max_steps: K parallel teams and the per-team step limit (LTS: 3, 30).
    train_seeds: [first, last] world seeds training samples from; keep them apart from eval_seeds.
    eval_seeds: held-out world seeds for periodic evaluation.
    eval_every: iterations between evaluations (and curve redraws).
    experiences: retrieve experiences at episode start during training; every
        episode is written back either way. Off by default: a world seen
        before would be solved from its recorded plan, with no use for shared
        steps, and the admission controller would learn nothing.
    seed: seeds the task sampling and the initial weights.
    hidden / qnet_hidden: widths of the admission MLP and of the Q-network (ours).
    trainer: optimiser and loss settings (rl/admission_trainer.py, sources there).
        Default: the recipe of the shipped policy (ours, from the sweep in
        docs/training.md): SGD, lr 0.3, lambda_sparse 0.3; the class's own
        defaults are LTS's (AdamW, lambda_sparse 0.1).
    credit: credit-assignment weights (rl/credit.py, sources there). Default:
        LTS's plus the episode step cost lambda_steps = 1 (ours).
    admission_budget: target fraction of proposed steps to admit, or None. When
        set, lambda_sparse becomes a Lagrange multiplier adapted by dual ascent
        after every iteration, lambda <- max(0, lambda + budget_lr * (admitted
        fraction - budget)), so the controller keeps the budget's worth of the
        steps most likely to be read (ours: with a fixed lambda the policy sits
        on a knife edge between `all` and `none`, see docs/training.md).
    budget_lr: step size of that dual ascent (ours).
    select_tolerance: how many more held-out env steps than `all` (as a
        fraction) a policy may need and still be selected (ours, 2%).
    select_budget: a policy admitting at most this fraction of `all`'s
        entries (the target: 40%) is preferred, once it needs no more
        steps than `all` (see `Trainer._select`).
    team, tasks, grader: train on your own team (module:factory) and its task
        loader (module:loader) instead of `env`; train_seeds and eval_seeds
        are then indices into the task list (keep them apart).
    mix: train one policy on several workloads (`MixPart`s, each with its own
        seeds) instead of env/team; iteration i's task j comes from part
        (i * tasks_per_iteration + j) mod len(mix), and evaluations play every
        part's eval seeds (ours: a policy meant to transfer has to see more
        than one kind of entry).
    features: the learned policy's input, "full" (task and key embeddings plus
        the scalar features) or "scalar" (novelty, task-key similarity, size,
        error, progress, teams: no text, so it can transfer to workloads it
        never saw); see memory/admission.py.
    """

    env: str = "twx:coin"
    episodes: int = 160
    group: int = 4
    tasks_per_iteration: int = 2
    teams: int = 3
    max_steps: int = 30
    train_seeds: tuple[int, int] = (1000, 1999)
    eval_seeds: tuple[int, ...] = tuple(range(12))
    eval_every: int = 2
    experiences: bool = False
    seed: int = 0
    hidden: int = 64
    qnet_hidden: int = 32
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(optimizer="sgd", lr=0.3, lambda_sparse=0.3))
    credit: CreditConfig = field(default_factory=lambda: CreditConfig(lambda_sparse=0.3, lambda_steps=1.0))
    admission_budget: float | None = None
    budget_lr: float = 0.5
    select_tolerance: float = 0.02
    select_budget: float = 0.4
    team: str | None = None
    tasks: str | None = None
    grader: str | None = None
    mix: tuple[MixPart, ...] = ()
    features: str = "full"

    def __post_init__(self) -> None:
        check_workload(self.team, self.tasks)
        object.__setattr__(self, "mix", tuple(p if isinstance(p, MixPart) else MixPart(**_mix_part_fields(p)) for p in self.mix))
        if self.mix and self.team is not None:
            raise InvalidFieldError("mix", "is given together with team", "put your team into the mix as one of its parts")
        if self.features not in FEATURE_SETS:
            raise InvalidFieldError("features", f"is {self.features!r}", f"use one of {', '.join(FEATURE_SETS)}")
        for name, lo in (("episodes", 1), ("group", 2), ("tasks_per_iteration", 1), ("teams", 1), ("max_steps", 1), ("eval_every", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise InvalidFieldError(name, f"is {v!r}", f"pass an integer >= {lo}")
        if not self.mix:
            _check_seeds(self.train_seeds, self.eval_seeds)
        if self.admission_budget is not None and not 0.0 < self.admission_budget <= 1.0:
            raise InvalidFieldError("admission_budget", f"is {self.admission_budget!r}", "pass a fraction in (0, 1], e.g. 0.35, or None")

    @property
    def parts(self) -> tuple[MixPart, ...]:
        """The workloads trained on: the mix, or the one env / team of this config."""
        if self.mix:
            return self.mix
        return (MixPart(env=self.env, train_seeds=self.train_seeds, eval_seeds=self.eval_seeds, team=self.team, tasks=self.tasks,
                        grader=self.grader),)

    @property
    def name(self) -> str:
        """What the policy is trained on (recorded in the checkpoint)."""
        return " + ".join(p.name for p in self.parts)

    @property
    def episodes_per_iteration(self) -> int:
        return self.group * self.tasks_per_iteration

    @property
    def iterations(self) -> int:
        return math.ceil(self.episodes / self.episodes_per_iteration)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InvalidFieldError("config", f"has unknown fields {sorted(unknown)}", "remove them (written by another teammind version?)")
        kw = dict(data)
        if "trainer" in kw:
            kw["trainer"] = TrainerConfig(**kw["trainer"])
        if "credit" in kw:
            kw["credit"] = CreditConfig(**kw["credit"])
        kw["train_seeds"] = tuple(kw.get("train_seeds", (1000, 1999)))
        kw["eval_seeds"] = tuple(kw.get("eval_seeds", tuple(range(8))))
        kw["mix"] = tuple(MixPart(**_mix_part_fields(p)) for p in kw.get("mix", ()))
        return cls(**kw)

    @classmethod
    def load_mix(cls, path: str | Path) -> tuple[MixPart, ...]:
        """A mix file: a JSON list of parts, each {"env": ...} or {"team": ..., "tasks": ...}, with train_seeds and eval_seeds."""
        data = read_json(path, field="--mix", what="a JSON list of workloads (see docs/training.md)")
        if not isinstance(data, list) or not data:
            raise InvalidFieldError("--mix", f"{path} holds no list of workloads", 'write e.g. [{"env": "twx:coin", "train_seeds": [1000, 1999], "eval_seeds": [0, 1]}]')
        return tuple(MixPart(**_mix_part_fields(part)) for part in data)


def _mix_part_fields(part: Any) -> dict[str, Any]:
    if not isinstance(part, dict):
        raise InvalidFieldError("mix", f"has a {type(part).__name__} part", 'write each part as {"env": ...} or {"team": ..., "tasks": ...}')
    known = {f.name for f in fields(MixPart)}
    unknown = sorted(set(part) - known)
    if unknown:
        raise InvalidFieldError(f"mix.{unknown[0]}", "is not a field of a mix part", f"use {', '.join(sorted(known))}")
    return dict(part)


def task_seeds(config: TrainConfig, iteration: int) -> list[tuple[int, int]]:
    """(mix part, world) of each task of one iteration: a pure function of (seed, iteration), so resume replays them.

    One workload draws its tasks as it always did; a mix takes task j of
    iteration i from part (i * tasks_per_iteration + j) mod parts and draws its
    world from that part's training seeds.
    """
    parts = config.parts
    if len(parts) == 1:
        rng = np.random.default_rng([config.seed, iteration])
        lo, hi = parts[0].train_seeds
        draws = rng.choice(np.arange(lo, hi + 1), size=config.tasks_per_iteration, replace=hi - lo + 1 < config.tasks_per_iteration)
        return [(0, int(s)) for s in draws]
    out = []
    for j in range(config.tasks_per_iteration):
        p = (iteration * config.tasks_per_iteration + j) % len(parts)
        lo, hi = parts[p].train_seeds
        out.append((p, int(np.random.default_rng([config.seed, iteration, j]).integers(lo, hi + 1))))
    return out


class Training:
    """One training run in one folder: metrics.jsonl, checkpoints/, curves.png, experience store."""

    def __init__(self, config: TrainConfig, run_dir: str | Path, *, workers: int = 0, ray_address: str | None = None,
                 resume: bool = False, progress: bool = True, log: Callable[[str], None] = print) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.workers = workers
        self.ray_address = ray_address
        self.resume = resume
        self.progress = progress
        self.log = log
        self.checkpoints = CheckpointDir(self.run_dir)
        self.metrics_path = self.run_dir / "metrics.jsonl"
        self.experience_ns = ("teammind", "train-exp", self.run_dir.name or "run")
        torch.manual_seed(config.seed)
        self.policy = LearnedAdmission(hidden=config.hidden, seed=config.seed, features=config.features)
        self.policy.trained_on = config.name
        self.trainer = AdmissionTrainer(self.policy, config.trainer)
        self.qnet = QNet(hidden=config.qnet_hidden)
        self.qnet_trainer = QNetTrainer(self.qnet)
        self.q_samples: list[np.ndarray] = []
        self.q_returns: list[float] = []
        self.q_outcomes: dict[str, list[float]] = defaultdict(list)  # experience id -> rewards of the episodes that used it
        self.iteration = 0  # iterations completed
        self.lambda_sparse = config.trainer.lambda_sparse  # adapted by dual ascent when a budget is set
        self.best: dict[str, Any] | None = None  # the selected evaluation (see _select)

    # -- the loop ----------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        self._prepare_folder()
        server = None
        if self.workers > 0:
            from teammind.rl.workers import ChromaServer

            server = ChromaServer(self.run_dir / "experience")
            server.__enter__()
            store = server.store()
        else:
            store = ExperienceStore.local(self.run_dir / "experience")
        bank = store.open()
        try:
            if self.resume:
                self._restore(bank)
            with RolloutPool(self.workers, experience=store, experience_bank=bank if self.workers == 0 else None,
                             **({"ray_address": self.ray_address} if self.workers > 0 else {})) as pool:
                return self._loop(pool, bank)
        finally:
            bank.close()
            if server is not None:
                server.__exit__(None, None, None)

    def _loop(self, pool: RolloutPool, bank: MemoryBank) -> dict[str, Any]:
        from tqdm.auto import tqdm

        cfg = self.config
        total = cfg.iterations * cfg.episodes_per_iteration
        bar = tqdm(total=total, initial=self.iteration * cfg.episodes_per_iteration, desc="train", unit="ep", disable=not self.progress)
        if not self._has_baselines():
            self._evaluate(pool, ("none", "all"), iteration=0)
        last: dict[str, Any] = {}
        try:
            while self.iteration < cfg.iterations:
                it = self.iteration
                started = time.perf_counter()
                specs = self._specs(it)
                results = pool.run(specs, state_dict_numpy(self.policy.net), it, state_dict_numpy(self.qnet), it,
                                   on_result=lambda r: bar.update())
                row = self._update(it, results)
                row.update(self._learn_q(bank, results))
                row["wall_s"] = round(time.perf_counter() - started, 3)
                row["episodes_per_s"] = round(len(results) / max(row["wall_s"], 1e-9), 3)
                self._append(row)
                self.iteration = it + 1
                if self.iteration % cfg.eval_every == 0 or self.iteration == cfg.iterations:
                    self._evaluate(pool, ("learned",), iteration=self.iteration)
                    self._plot(bank)
                self._checkpoint(bank)
                bar.set_postfix(ret=f"{row['return_mean']:.2f}", adm=f"{row['admitted_fraction']:.2f}")
                last = row
        finally:
            bar.close()
        self.policy.save(self.run_dir / "last.safetensors")
        best = self.run_dir / "best.safetensors"
        chosen = LearnedAdmission.load(best) if self.best is not None and best.is_file() else self.policy
        chosen.save(self.run_dir / "admission.safetensors")
        atomic_write_text(self.run_dir / "selected.json", json.dumps({"selected": self.best, "last_iteration": self.iteration}, indent=2))
        save_qnet(self.qnet, self.run_dir / "qnet.safetensors")
        self._plot(bank)
        return last

    def _specs(self, it: int) -> list[RolloutSpec]:
        cfg = self.config
        ns = self.experience_ns if cfg.experiences else None
        parts = cfg.parts
        return [
            RolloutSpec(env=parts[p].env, seed=task, episode_id=f"it{it}-t{i}-s{task}-g{g}" if len(parts) == 1 else f"it{it}-t{i}-p{p}-s{task}-g{g}",
                        teams=cfg.teams, max_steps=cfg.max_steps, admission="learned", retrieval="q", sample_admission=True,
                        sample_seed=1 + g, experience_namespace=ns, **workload(parts[p]))
            for i, (p, task) in enumerate(task_seeds(cfg, it))
            for g in range(cfg.group)
        ]

    # -- learning ----------------------------------------------------------------
    def _update(self, it: int, results: list[RolloutResult]) -> dict[str, Any]:
        """Credit per group, one policy-gradient step over every decision of the iteration."""
        cfg = self.config
        xs, zs, advs, old = [], [], [], []
        returns = []
        for start in range(0, len(results), cfg.group):
            group = results[start: start + cfg.group]
            returns += group_returns([r.episode for r in group], cfg.credit)
            for c in assign_credit([r.episode for r in group], cfg.credit):
                s = c.decision
                if s is not None and s.vector is not None:
                    xs.append(s.vector)
                    zs.append(s.admit)
                    advs.append(c.advantage)
                    old.append(s.log_prob)
        stats: dict[str, Any] = {"loss": 0.0, "p_admit": 0.0, "grad_norm": 0.0}
        if xs:
            stats = self.trainer.update(np.stack(xs), np.array(zs), np.array(advs, np.float32), np.array(old, np.float32),
                                        lambda_sparse=self.lambda_sparse)
        summaries = [r.summary for r in results]
        proposed = sum(s["proposed"] for s in summaries)
        used_lambda = self.lambda_sparse
        if cfg.admission_budget is not None:
            fraction = sum(s["admitted"] for s in summaries) / max(1, proposed)
            self.lambda_sparse = max(0.0, self.lambda_sparse + cfg.budget_lr * (fraction - cfg.admission_budget))
        return {
            "type": "train", "iteration": it + 1, "episodes": (it + 1) * cfg.episodes_per_iteration,
            "tasks": sorted({r.spec.seed for r in results}),
            "return_mean": round(float(np.mean(returns)), 4) if returns else 0.0,
            "success": round(float(np.mean([s["success"] for s in summaries])), 4),
            "env_steps": round(float(np.mean([s["env_steps"] for s in summaries])), 3),
            "llm_calls": round(float(np.mean([s["llm_calls"] for s in summaries])), 3),
            "admitted": round(float(np.mean([s["admitted"] for s in summaries])), 3),
            "admitted_fraction": round(sum(s["admitted"] for s in summaries) / max(1, proposed), 4),
            "read_by_other": round(float(np.mean([s["read_by_other"] for s in summaries])), 3),
            "decisions": len(xs),
            "lambda_sparse": round(used_lambda, 5),
            **{k: round(float(v), 5) for k, v in stats.items()},
        }

    def _learn_q(self, bank: MemoryBank, results: list[RolloutResult]) -> dict[str, Any]:
        """MemRL in episode order: Q of used experiences, write-back, then refit the Q-network."""
        used = 0
        for r in results:
            info = learn_from_episode(bank, self.experience_ns, r.summary)
            for x, reward in info["samples"]:
                self.q_samples.append(x)
                self.q_returns.append(reward)
            for exp_id in info["used"]:
                self.q_outcomes[exp_id].append(info["reward"])
            used += len(info["used"])
        qnet_loss = None
        if self.q_samples:
            qnet_loss = self.qnet_trainer.fit(np.stack(self.q_samples), np.array(self.q_returns, np.float32), epochs=20)
        return {"experiences_used": used, "qnet_loss": None if qnet_loss is None else round(qnet_loss, 5),
                "q_samples": len(self.q_samples)}

    # -- evaluation ----------------------------------------------------------------
    def _evaluate(self, pool: RolloutPool, variants: tuple[str, ...], iteration: int) -> None:
        cfg = self.config
        parts = cfg.parts
        specs = [
            RolloutSpec(env=part.env, seed=s, episode_id=f"eval-it{iteration}-{v}-s{s}" if len(parts) == 1 else f"eval-it{iteration}-{v}-p{p}-s{s}",
                        teams=cfg.teams, max_steps=cfg.max_steps, admission=v, retrieval="q", **workload(part))
            for p, part in enumerate(parts)
            for s in part.eval_seeds
            for v in variants
        ]
        results = pool.run(specs, state_dict_numpy(self.policy.net), 10**6 + iteration)
        for v in variants:
            mine = [r for r in results if r.spec.admission == v]
            rows = [r.summary for r in mine]
            row: dict[str, Any] = {"type": "eval", "iteration": iteration, "variant": v,
                                   "seeds": list(parts[0].eval_seeds) if len(parts) == 1 else [len(p.eval_seeds) for p in parts]}
            for m in SUMMARY_METRICS:
                vals = [float(s[m]) for s in rows]
                row[m] = round(float(np.mean(vals)), 4)
                row[f"{m}_std"] = round(float(np.std(vals)), 4)
            if len(parts) > 1:  # each part's means, so a mix shows where its policy admits and saves
                row["parts"] = {part.name: {m: round(float(np.mean([float(r.summary[m]) for r in mine if workload_name(r.spec) == part.name])), 4)
                                            for m in ("success", "env_steps", "admitted")} for part in parts}
            self._append(row)
            self.log(f"eval @ iteration {iteration} [{v}]: success {row['success']:.2f}, env steps {row['env_steps']:.1f}, "
                     f"admitted {row['admitted']:.1f}")
            if v == "learned":
                self._select(row)

    def _select(self, row: dict[str, Any]) -> None:
        """Keep the evaluated policy that best meets the goals on the held-out (validation) seeds.

        Every rank needs success >= `all`'s. Rank 3: as few env steps as
        `all` (within select_tolerance) with 0 < admitted <= select_budget x
        `all`'s; among those, the fewest env steps. Rank 2: as few env steps
        as `all`; among those, the fewest admitted. Rank 1: within the
        budget and fewer env steps than no memory; the fewest env steps. A policy
        keeps `all`'s steps before it saves entries: ranking entries first
        kept a collapsing run's 20%-entries policy at 0.65x steps over its 47%
        policy at `all`'s steps (docs/training.md, twc). Admitting nothing
        is not an admission policy. The selected weights become
        RUN/admission.safetensors at the end (the last ones RUN/last.safetensors):
        model selection on validation worlds, so report final numbers with
        `teammind eval` on other seeds.
        """
        evals = [m for m in self.metrics() if m.get("type") == "eval" and m.get("iteration") == 0]
        base = next((m for m in evals if m.get("variant") == "all"), None)
        none = next((m for m in evals if m.get("variant") == "none"), None)
        if base is None or none is None or row["success"] < base["success"]:
            return
        cfg = self.config
        within_budget = 0 < row["admitted"] <= cfg.select_budget * base["admitted"]
        as_fast_as_all = row["env_steps"] <= base["env_steps"] * (1 + cfg.select_tolerance)
        if within_budget and as_fast_as_all:
            key = (3, -row["env_steps"], -row["admitted"])
        elif as_fast_as_all and row["admitted"] > 0:
            key = (2, -row["admitted"], -row["env_steps"])
        elif within_budget and row["env_steps"] < none["env_steps"]:
            key = (1, -row["env_steps"], -row["admitted"])
        else:
            return
        if self.best is None or key > tuple(self.best["key"]):
            self.best = {**{k: row[k] for k in ("iteration", "success", "env_steps", "admitted")}, "key": list(key)}
            self.policy.save(self.run_dir / "best.safetensors")
            self.log(f"selected the policy of iteration {row['iteration']} ({row['admitted']:.1f} admitted vs {base['admitted']:.1f} for all)")

    # -- files -----------------------------------------------------------------------
    def _prepare_folder(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        config_path = self.run_dir / "config.json"
        saved = json.loads(config_path.read_text()) if config_path.is_file() else None
        if saved is not None and not self.resume:
            raise InvalidFieldError("--out", f"{self.run_dir} already holds a training run", "pass --resume to continue it, or a new --out")
        if self.resume:
            if saved is None:
                raise InvalidFieldError("--resume", f"no training run in {self.run_dir}", "drop --resume to start one there")
            if saved != json.loads(json.dumps(self.config.to_dict())):
                raise InvalidFieldError("--resume", "the flags differ from the run's config.json", "resume with the same flags (see config.json)")
        else:
            atomic_write_text(config_path, json.dumps(self.config.to_dict(), indent=2))

    def _append(self, row: dict[str, Any]) -> None:
        with self.metrics_path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()

    def metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_path.is_file():
            return []
        return [json.loads(line) for line in self.metrics_path.read_text().splitlines() if line.strip()]

    def _has_baselines(self) -> bool:
        return {r.get("variant") for r in self.metrics() if r.get("type") == "eval"} >= {"none", "all"}

    def _checkpoint(self, bank: MemoryBank) -> None:
        tmp = self.checkpoints.begin(self.iteration)
        self.policy.save(tmp / "admission.safetensors")
        if self.best is not None:
            LearnedAdmission.load(self.run_dir / "best.safetensors").save(tmp / "best.safetensors")
        save_optimizer(self.trainer.optimizer, tmp / "admission_optimizer.safetensors")
        save_module(self.qnet, tmp / "qnet.safetensors", {"hidden": self.config.qnet_hidden})
        save_optimizer(self.qnet_trainer.optimizer, tmp / "qnet_optimizer.safetensors")
        x = np.stack(self.q_samples) if self.q_samples else np.zeros((0, 1), np.float32)
        save_arrays({"x": x.astype(np.float32), "y": np.array(self.q_returns, np.float32)}, tmp / "q_samples.safetensors")
        bank.export_jsonl(tmp / "experiences.jsonl", prefix=self.experience_ns)
        state = {"iteration": self.iteration, "metrics_lines": len(self.metrics()), "q_outcomes": self.q_outcomes,
                 "lambda_sparse": self.lambda_sparse, "best": self.best,
                 "feature_dim": FEATURE_DIM}
        self.checkpoints.commit(tmp, self.iteration, state)

    def _restore(self, bank: MemoryBank) -> None:
        ckpt = self.checkpoints.latest()
        if ckpt is None:
            self.log("resume: no checkpoint yet, starting from iteration 0")
            self.metrics_path.unlink(missing_ok=True)
            bank.delete_namespace(self.experience_ns)
            return
        state = json.loads((ckpt / "state.json").read_text())
        self.policy.net.load_state_dict(LearnedAdmission.load(ckpt / "admission.safetensors").net.state_dict())
        load_optimizer(self.trainer.optimizer, ckpt / "admission_optimizer.safetensors")
        load_module(self.qnet, ckpt / "qnet.safetensors")
        load_optimizer(self.qnet_trainer.optimizer, ckpt / "qnet_optimizer.safetensors")
        arrays = load_arrays(ckpt / "q_samples.safetensors")
        self.q_returns = [float(v) for v in arrays["y"]]
        self.q_samples = list(arrays["x"]) if self.q_returns else []
        self.q_outcomes = defaultdict(list, {k: list(v) for k, v in state["q_outcomes"].items()})
        self.iteration = int(state["iteration"])
        self.lambda_sparse = float(state["lambda_sparse"])
        self.best = state.get("best")
        if self.best is not None:
            LearnedAdmission.load(ckpt / "best.safetensors").save(self.run_dir / "best.safetensors")
        # the experience store and the metrics go back to the checkpoint too
        bank.delete_namespace(self.experience_ns)
        if (ckpt / "experiences.jsonl").stat().st_size > 0:
            bank.import_jsonl(ckpt / "experiences.jsonl")
        lines = self.metrics_path.read_text().splitlines(keepends=True)[: state["metrics_lines"]] if self.metrics_path.is_file() else []
        atomic_write_text(self.metrics_path, "".join(lines))
        self.log(f"resumed from {ckpt} (iteration {self.iteration} of {self.config.iterations})")

    def _plot(self, bank: MemoryBank) -> None:
        from teammind.rl.plots import plot_training

        qs = {e.id: e.q for e in bank.list(self.experience_ns, kind="experience")}
        points = [(qs[i], float(np.mean([r > 0 for r in rewards]))) for i, rewards in self.q_outcomes.items() if i in qs]
        plot_training(self.metrics(), self.run_dir / "curves.png", q_points=points)

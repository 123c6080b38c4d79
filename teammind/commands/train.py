"""`teammind train`: train the admission controller and the experience Q-values from parallel-teams rollouts.

    teammind train --env twx:coin --episodes 384 --group 4 --workers 2 --out runs/coin
    teammind train ... --out runs/coin --resume          # after a crash or kill -9

Writes into --out: config.json, metrics.jsonl (one line per iteration and per
evaluation), curves.png, checkpoints/ (safetensors + JSON, atomic), the final
admission.safetensors (the policy selected on the held-out seeds: as few
admissions as possible at the success and env steps of admission all; the last
iteration's if none qualified), last.safetensors, selected.json,
qnet.safetensors, and the experience store.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from teammind.memory import InvalidFieldError
from teammind.memory.files import atomic_write_text
from teammind.commands.flags import errors_named_by_flag, spec_from_flags
from teammind.rl.evaluate import parse_seeds
from teammind.specs import TrainSpec


def add_parser(subparsers: Any) -> None:
    from teammind.rl.train import TrainConfig

    d = TrainConfig()
    t, c = d.trainer, d.credit
    p = subparsers.add_parser("train", help="train the admission controller and experience Q-values with RL rollouts")
    p.add_argument("--env", default=d.env, help=f"environment spec (default {d.env})")
    p.add_argument("--team", default=None, metavar="module:factory",
                   help="train on your own LangGraph team instead of --env (factory(memory) -> graph); needs --tasks")
    p.add_argument("--tasks", default=None, metavar="module:loader",
                   help="your team's tasks; --train-seeds and --eval-seeds are then indices into this list (keep them apart)")
    p.add_argument("--grader", default=None, metavar="module:function", help="grades answers of tasks without a grader of their own")
    p.add_argument("--mix", default=None, metavar="FILE.json",
                   help="train one policy on several workloads: a JSON list of parts, each {\"env\": ...} or {\"team\": ..., \"tasks\": ...} "
                        "with its own train_seeds [first, last] and eval_seeds (instead of --env/--team)")
    p.add_argument("--features", default=d.features, choices=("full", "scalar"),
                   help="what the policy reads: full (task and key embeddings + scalar features) or scalar (novelty, size, progress...: "
                        "no text, for a policy that transfers to workloads it never saw)")
    p.add_argument("--out", default=None, help="run folder (spec.json, metrics, curves, checkpoints); required unless --spec names it")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--episodes", type=int, default=d.episodes, help=f"training episodes (default {d.episodes})")
    p.add_argument("--group", type=int, default=d.group, help=f"G rollouts per task (default {d.group})")
    p.add_argument("--tasks-per-iteration", type=int, default=d.tasks_per_iteration, help=f"tasks per update (default {d.tasks_per_iteration})")
    p.add_argument("--teams", type=int, default=d.teams, help=f"K parallel teams (default {d.teams})")
    p.add_argument("--max-steps", type=int, default=d.max_steps, help=f"steps per team (default {d.max_steps})")
    p.add_argument("--train-seeds", default=f"{d.train_seeds[0]}..{d.train_seeds[1]}", help="worlds to train on, A..B")
    p.add_argument("--eval-seeds", default=f"{d.eval_seeds[0]}..{d.eval_seeds[-1]}", help="held-out worlds, A..B or a,b,c")
    p.add_argument("--eval-every", type=int, default=d.eval_every, help=f"iterations between evaluations (default {d.eval_every})")
    p.add_argument("--experiences", action="store_true", help="retrieve experiences at episode start while training")
    p.add_argument("--workers", type=int, default=0, help="Ray rollout workers (0 = in this process)")
    p.add_argument("--ray-address", default=None, help="an existing Ray cluster (default: start Ray on this machine)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--lr", type=float, default=t.lr, help=f"learning rate (default {t.lr})")
    p.add_argument("--optimizer", default=t.optimizer, choices=("adamw", "sgd"), help=f"policy optimiser (default {t.optimizer})")
    p.add_argument("--clip", type=float, default=None, help="PPO ratio clip (default: plain REINFORCE, as LTS)")
    p.add_argument("--update-epochs", type=int, default=1,
                   help="gradient passes per iteration (default 1, as LTS; 3-10 with --clip is PPO)")
    p.add_argument("--beta", type=float, default=c.beta, help=f"usage bonus (LTS; default {c.beta}; 0 = ablation)")
    p.add_argument("--lambda-sparse", type=float, default=t.lambda_sparse, help=f"sparsity weight (default {t.lambda_sparse}; LTS 0.1; 0 = ablation)")
    p.add_argument("--lambda-first", type=float, default=c.lambda_first, help=f"first-finisher bonus (LTS {c.lambda_first})")
    p.add_argument("--lambda-steps", type=float, default=c.lambda_steps, help=f"cost per 10 environment steps of the episode (ours; default {c.lambda_steps})")
    p.add_argument("--center-usage", action="store_true", help="usage bonus relative to the group's mean (ours)")
    p.add_argument("--lambda-tokens", type=float, default=c.lambda_tokens, help="token cost per 1000 prompt tokens added to readers (ours)")
    p.add_argument("--budget-lr", type=float, default=d.budget_lr, help=f"dual-ascent step of the budget multiplier (default {d.budget_lr})")
    p.add_argument("--admission-budget", type=float, default=d.admission_budget,
                   help="target fraction of steps to admit; lambda-sparse then adapts by dual ascent (ours; default off)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--spec", default=None, metavar="FILE", help="run this spec.json (flags that differ from their defaults override it)")
    p.add_argument("--json", default=None, help="write the last metrics line and file paths as JSON here")
    p.set_defaults(func=cmd_train)


def build_config(args: argparse.Namespace) -> Any:
    """The TrainConfig the flags describe; errors name the flag."""
    from teammind.rl.admission_trainer import TrainerConfig
    from teammind.rl.credit import CreditConfig
    from teammind.rl.train import TrainConfig
    from teammind.suites import make_env_factory

    mix = TrainConfig.load_mix(args.mix) if args.mix else ()
    if args.team is None and not mix:
        make_env_factory(args.env)  # a bad --env fails here, naming the field
    train = tuple(parse_seeds(args.train_seeds, "--train-seeds"))
    if train != tuple(range(train[0], train[-1] + 1)):
        raise InvalidFieldError("--train-seeds", f"is {args.train_seeds!r}", "give a range A..B")
    if args.update_epochs < 1:
        raise InvalidFieldError("--update-epochs", f"is {args.update_epochs}", "pass 1 (REINFORCE) or 3-10 with --clip 0.2 (PPO)")
    if args.update_epochs > 1 and args.clip is None:
        raise InvalidFieldError("--update-epochs", f"is {args.update_epochs} without --clip", "add --clip 0.2, or pass --update-epochs 1")
    return TrainConfig(
        env=args.env, team=args.team, tasks=args.tasks, grader=args.grader, mix=mix, features=args.features, episodes=args.episodes, group=args.group, tasks_per_iteration=args.tasks_per_iteration, teams=args.teams,
        max_steps=args.max_steps, train_seeds=(train[0], train[-1]), eval_seeds=tuple(parse_seeds(args.eval_seeds, "--eval-seeds")),
        eval_every=args.eval_every, experiences=args.experiences, seed=args.seed, admission_budget=args.admission_budget, budget_lr=args.budget_lr,
        trainer=TrainerConfig(lr=args.lr, clip=args.clip, lambda_sparse=args.lambda_sparse, optimizer=args.optimizer,
                              epochs=args.update_epochs),
        credit=CreditConfig(beta=args.beta, lambda_first=args.lambda_first, lambda_sparse=args.lambda_sparse, lambda_tokens=args.lambda_tokens,
                            lambda_steps=args.lambda_steps, center_usage=args.center_usage),
    )


def spec_from_args(args: argparse.Namespace) -> TrainSpec:
    """The TrainSpec the flags describe; with --spec FILE, that file's spec (--out, --workers, --ray-address and --resume may change it)."""
    if args.spec is None and args.out is None:
        raise InvalidFieldError("--out", "is missing", "pass --out RUN_DIR (the run folder), or --spec RUN/spec.json")
    if args.spec is not None:
        values = {"out": args.out or "", "workers": args.workers, "ray_address": args.ray_address, "resume": args.resume}
        return spec_from_flags(TrainSpec, values, args.spec)
    return spec_from_flags(TrainSpec, {"out": args.out, "config": build_config(args), "workers": args.workers,
                                       "ray_address": args.ray_address, "resume": args.resume}, None)


def cmd_train(args: argparse.Namespace) -> int:
    from teammind.api import train

    spec = spec_from_args(args)
    with errors_named_by_flag(TrainSpec):
        result = train(spec, progress=not args.quiet)
    config, evals = spec.config, result["evals"]
    print(f"done: {config.iterations} iterations, {config.iterations * config.episodes_per_iteration} episodes")
    for variant in ("none", "all"):
        base = next((m for m in evals if m["variant"] == variant), None)
        if base:
            print(f"  baseline {variant:8s} success {base['success']:.2f}  env steps {base['env_steps']:.1f}  admitted {base['admitted']:.1f}")
    learned = [m for m in evals if m["variant"] == "learned"]
    if learned:
        m = learned[-1]
        print(f"  learned  (last, it {m['iteration']}) success {m['success']:.2f}  env steps {m['env_steps']:.1f}  admitted {m['admitted']:.1f}")
    if result["selected"]:
        b = result["selected"]
        print(f"  selected (it {b['iteration']}) success {b['success']:.2f}  env steps {b['env_steps']:.1f}  admitted {b['admitted']:.1f}"
              " -> admission.safetensors")
    else:
        print("  selected: no evaluated policy matched the success and steps of all; admission.safetensors is the last one")
    for name, path in result["files"].items():
        print(f"  {name:8s} {path}")
    if args.json:
        atomic_write_text(Path(args.json), json.dumps({"last": result["last"], "files": result["files"], "evals": evals}, indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    from teammind.cli import main

    sys.exit(main(["train", *sys.argv[1:]]))

"""Q-reranked vs similarity-only retrieval on an experience stream, over several seed sets.

    python bench/retrieval_stream.py --workers 2                       # the easy/hard arc_1d stream, ~8 min a set
    python bench/retrieval_stream.py --workload arc-team --workers 2   # your-own-team path on reasoning-gym's arc_1d, ~3 min a set

Workloads:

* `easy-hard` (bench/suite.py `EASY_HARD_SPEC`): the built-in scripted teams
  on a stream built so that similar-looking experiences differ in usefulness:
  easy puzzles are solved whichever experience the teams follow, hard ones
  only with an experience of their own rule. Success on the hard puzzles is
  reported apart.
* `arc-team`: a team plugged in as `module:factory` (the scripted python-tool
  team `teammind.suites.reasoning_gym.team:arc_team`, through ParallelTeams
  and TeamMemory) on reasoning-gym's own arc_1d task list: its default mix of
  families, in the order its seeds give, nothing chosen by this project. The
  grader is reasoning-gym's scorer.

Each seed set plays its tasks for 10 epochs of fresh tasks (K=3, 3 steps,
MemRL's defaults, per-entry Q). Prints a table, writes `OUT/summary.json`
(per seed set and mean +- spread over sets of the last-epoch difference) and
a PNG of the curves. A seed set whose `OUT/<set>/eval.json` exists is read
back, not played again, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.suite import EASY_HARD_SPEC, HARD_FAMILIES  # noqa: E402
from teammind.rl.checkpoint import atomic_write_text  # noqa: E402
from teammind.rl.evaluate import load_qnet_weights, parse_seeds  # noqa: E402
from teammind.rl.plots import _figure, save_figure  # noqa: E402

VARIANTS = ("similarity", "q")
WORKLOADS = ("easy-hard", "arc-team")
ARC_TEAM = "teammind.suites.reasoning_gym.team:arc_team"
ARC_TASKS = "teammind.suites.reasoning_gym.tasks:load_tasks:dataset=arc_1d,n={n}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", choices=WORKLOADS, default="easy-hard", help="which stream (default easy-hard; see above)")
    p.add_argument("--seed-sets", nargs="+", default=["0..39", "100..139", "200..239"], metavar="A..B",
                   help="one stream per seed set (default: three sets of 40)")
    p.add_argument("--epochs", type=int, default=10, help="stream epochs (default 10)")
    p.add_argument("--teams", type=int, default=3, help="parallel teams K (default 3)")
    p.add_argument("--max-steps", type=int, default=3, help="steps per team (default 3: the stream's design needs it)")
    p.add_argument("--failure-reward", type=float, default=-1.0, help="Q target of a failed episode (MemRL: -1)")
    p.add_argument("--qnet", type=Path, default=None, metavar="PATH",
                   help="rank the q variant with this Q-network (qnet.safetensors of `teammind train --experiences`; default: per-entry Q)")
    p.add_argument("--workers", type=int, default=0, help="Ray rollout workers (default 0: in this process)")
    p.add_argument("--out", type=Path, default=None, help="results folder (default bench/results/retrieval_<workload>)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    if args.epochs < 2:
        p.error(f"--epochs: {args.epochs} streams nothing; pass 2 or more")
    if args.workers < 0:
        p.error(f"--workers: {args.workers} must be 0 (in this process) or more")
    try:
        args.seeds = {s: parse_seeds(s, "--seed-sets") for s in args.seed_sets}
    except ValueError as err:
        p.error(str(err))
    if args.qnet is not None and not args.qnet.is_file():
        p.error(f"--qnet: no Q-network at {args.qnet}; pass the qnet.safetensors written by `teammind train --experiences`")
    if args.out is None:
        args.out = ROOT / "bench" / "results" / f"retrieval_{args.workload.replace('-', '_')}{'_qnet' if args.qnet else ''}"
    return args


def workload_fields(args: argparse.Namespace, seeds: list[int]) -> dict[str, Any]:
    """The EvalConfig fields that say what plays: the env spec, or the arc team with a task list long enough for every epoch."""
    if args.workload == "easy-hard":
        return {"env": EASY_HARD_SPEC}
    span = max(seeds) - min(seeds) + 1
    return {"team": ARC_TEAM, "tasks": ARC_TASKS.format(n=max(seeds) + (args.epochs - 1) * span + 1)}


def play_seed_set(args: argparse.Namespace, name: str, seeds: list[int]) -> dict[str, Any]:
    """The stream on one seed set: read back OUT/<set>/eval.json when a finished run left it, else play and write it."""
    from teammind.evaluation import execute, write_run_folder
    from teammind.rl.evaluate import EvalConfig

    folder = args.out / name.replace("..", "-")
    config = EvalConfig(**workload_fields(args, seeds), seeds=tuple(seeds), teams=args.teams, max_steps=args.max_steps, variants=("none",),
                        retrieval_variants=VARIANTS, epochs=args.epochs, stream_tasks="fresh", failure_reward=args.failure_reward,
                        run_name=f"{args.workload}-{name.replace('..', '-')}-{time.strftime('%Y%m%d-%H%M%S')}")
    done = folder / "eval.json"
    if done.is_file():
        data = json.loads(done.read_text())
        wanted = {k: v for k, v in config.to_dict().items() if k != "run_name"}
        kept = {k: data["config"].get(k) for k in wanted}
        if json.loads(json.dumps(wanted)) == kept:
            return data
        raise SystemExit(f"--out: {done} was written with other settings; pass a new --out or delete {folder}")
    qnet = load_qnet_weights(args.qnet, "--qnet") if args.qnet is not None else None
    report = execute(config, workers=args.workers, qnet_weights=qnet, out=folder, quiet=args.quiet)
    data = report.to_dict()
    write_run_folder(folder, data)
    return data


def hard_seeds(data: dict[str, Any]) -> set[int]:
    """The stream's seeds that play a hard family (both variants play the same seeds: looked up once)."""
    from teammind.suites import make_env

    env = make_env(EASY_HARD_SPEC)
    hard = set()
    for seed in sorted({r["seed"] for r in data["per_seed"] if r["comparison"] == "retrieval"}):
        env.reset(seed)
        if env.family in HARD_FAMILIES:
            hard.add(seed)
    return hard


def hard_success_by_epoch(data: dict[str, Any], variant: str, hard: set[int]) -> list[float]:
    """Success on the hard puzzles alone, per epoch."""
    by_epoch: dict[int, list[float]] = {}
    for r in data["per_seed"]:
        if r["comparison"] == "retrieval" and r["variant"] == variant and r["seed"] in hard:
            by_epoch.setdefault(r["epoch"], []).append(float(r["success"]))
    return [statistics.fmean(by_epoch[e]) if by_epoch.get(e) else float("nan") for e in sorted(by_epoch)]


def summarise(name: str, data: dict[str, Any], workload: str) -> dict[str, Any]:
    rows = {r["variant"]: r for r in data["retrieval_rows"]}
    out: dict[str, Any] = {"seeds": name}
    hard = hard_seeds(data) if workload == "easy-hard" else set()
    for v in VARIANTS:
        curve = rows[v]["success_by_epoch"]
        out[v] = {"success_by_epoch": curve, "last_epoch_success": curve[-1],
                  "mean_from_epoch_3": statistics.fmean(curve[2:]) if len(curve) > 2 else None,
                  "hard_success_by_epoch": hard_success_by_epoch(data, v, hard) if hard else None,
                  "q_success_r": rows[v].get("q_success_r"), "experiences_used_per_episode": rows[v]["experiences_used_per_episode"]}
    out["last_epoch_delta"] = out["q"]["last_epoch_success"] - out["similarity"]["last_epoch_success"]
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    sets = [summarise(name, play_seed_set(args, name, seeds), args.workload) for name, seeds in args.seeds.items()]
    deltas = [s["last_epoch_delta"] for s in sets]
    played = {"env": EASY_HARD_SPEC} if args.workload == "easy-hard" else {"team": ARC_TEAM, "tasks": ARC_TASKS.format(n="<enough>")}
    result = {
        "workload": args.workload, **played,
        "teams": args.teams, "max_steps": args.max_steps, "epochs": args.epochs,
        "failure_reward": args.failure_reward, "qnet": str(args.qnet) if args.qnet else None, "seed_sets": sets,
        "last_epoch_delta_mean": statistics.fmean(deltas), "last_epoch_delta_std": statistics.pstdev(deltas) if len(deltas) > 1 else 0.0,
        "goal_q_at_least_similarity_plus_0.10": statistics.fmean(deltas) >= 0.10,
        "command": "python bench/retrieval_stream.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version()},
        "total_s": round(time.perf_counter() - started, 1),
    }
    print(f"{args.workload} stream: K={args.teams}, {args.max_steps} steps, {args.epochs} fresh epochs, "
          + (f"Q-network {args.qnet}" if args.qnet else "per-entry Q"))
    print(f"{'seeds':>10s} {'variant':>10s}  {'success by epoch':50s} {'last':>5s} {'hard, last':>10s} {'r(Q,success)':>12s}")
    for s in sets:
        for v in VARIANTS:
            r = s[v]
            corr = "-" if r["q_success_r"] is None else f"{r['q_success_r']:.2f}"
            hard_last = "-" if r["hard_success_by_epoch"] is None else f"{r['hard_success_by_epoch'][-1]:.2f}"
            print(f"{s['seeds']:>10s} {v:>10s}  {' '.join(f'{x:.2f}' for x in r['success_by_epoch']):50s} "
                  f"{r['last_epoch_success']:5.2f} {hard_last:>10s} {corr:>12s}")
        print(f"{'':>10s} {'q - sim':>10s}  {'':50s} {s['last_epoch_delta']:+5.2f}")
    print(f"last epoch, q - similarity: {result['last_epoch_delta_mean']:+.3f} ± {result['last_epoch_delta_std']:.3f} "
          f"over {len(sets)} seed sets (goal +0.10: {'met' if result['goal_q_at_least_similarity_plus_0.10'] else 'NOT met'})")

    split = args.workload == "easy-hard"
    fig, ax = _figure(1, 2 if split else 1, (11, 4) if split else (6.5, 4))
    for i, s in enumerate(sets):
        for v, style in (("similarity", "--"), ("q", "-")):
            color = f"C{i}"
            epochs = range(1, len(s[v]["success_by_epoch"]) + 1)
            ax[0][0].plot(epochs, s[v]["success_by_epoch"], style, color=color, marker="o", ms=3, label=f"{v}, seeds {s['seeds']}")
            if split:
                ax[0][1].plot(epochs, s[v]["hard_success_by_epoch"], style, color=color, marker="o", ms=3)
    ax[0][0].set(title=f"{args.workload}: success by epoch (solid q, dashed similarity)", xlabel="stream epoch", ylim=(-0.05, 1.05))
    if split:
        ax[0][1].set(title="hard puzzles only", xlabel="stream epoch", ylim=(-0.05, 1.05))
    ax[0][0].legend(fontsize=7)
    png = save_figure(fig, args.out / f"retrieval_{args.workload.replace('-', '_')}.png")
    atomic_write_text(args.out / "summary.json", json.dumps(result, indent=2))
    print(f"wrote {args.out / 'summary.json'} and {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

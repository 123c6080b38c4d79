"""Q-reranked vs similarity-only retrieval on the easy/hard arc_1d stream, over several seed sets.

    python bench/retrieval_stream.py --workers 2          # 3 seed sets x 40 puzzles x 10 epochs, ~8 min a set

The stream (bench/suite.py `EASY_HARD_SPEC`) is one where similar-looking
experiences differ in usefulness: every arc_1d puzzle looks alike to the
embedder; easy puzzles are solved whichever experience the teams follow,
hard ones only with an experience of their own rule. Each seed set plays
its puzzles for 10 epochs of fresh tasks (K=3, 3 steps, MemRL's defaults,
per-entry Q). Prints a table, writes `OUT/summary.json` (per seed set and
mean +- spread over sets of the last-epoch difference) and a PNG of the
curves, with success on the hard puzzles apart. A seed set whose
`OUT/<set>/eval.json` exists is read back, not played again, so an
interrupted run resumes where it stopped.
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
from teammind.rl.evaluate import parse_seeds  # noqa: E402
from teammind.rl.plots import _figure, save_figure  # noqa: E402

VARIANTS = ("similarity", "q")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed-sets", nargs="+", default=["0..39", "100..139", "200..239"], metavar="A..B",
                   help="one stream per seed set (default: three sets of 40)")
    p.add_argument("--epochs", type=int, default=10, help="stream epochs (default 10)")
    p.add_argument("--teams", type=int, default=3, help="parallel teams K (default 3)")
    p.add_argument("--max-steps", type=int, default=3, help="steps per team (default 3: the stream's design needs it)")
    p.add_argument("--failure-reward", type=float, default=-1.0, help="Q target of a failed episode (MemRL: -1)")
    p.add_argument("--workers", type=int, default=0, help="Ray rollout workers (default 0: in this process)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "retrieval_easy_hard", help="results folder")
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
    return args


def play_seed_set(args: argparse.Namespace, name: str, seeds: list[int]) -> dict[str, Any]:
    """The stream on one seed set: read back OUT/<set>/eval.json when a finished run left it, else play and write it."""
    from teammind.evaluation import execute, write_run_folder
    from teammind.rl.evaluate import EvalConfig

    folder = args.out / name.replace("..", "-")
    config = EvalConfig(env=EASY_HARD_SPEC, seeds=tuple(seeds), teams=args.teams, max_steps=args.max_steps, variants=("none",),
                        retrieval_variants=VARIANTS, epochs=args.epochs, stream_tasks="fresh", failure_reward=args.failure_reward,
                        run_name=f"easy-hard-{name.replace('..', '-')}-{time.strftime('%Y%m%d-%H%M%S')}")
    done = folder / "eval.json"
    if done.is_file():
        data = json.loads(done.read_text())
        wanted = {k: v for k, v in config.to_dict().items() if k != "run_name"}
        kept = {k: data["config"].get(k) for k in wanted}
        if json.loads(json.dumps(wanted)) == kept:
            return data
        raise SystemExit(f"--out: {done} was written with other settings; pass a new --out or delete {folder}")
    report = execute(config, workers=args.workers, qnet_weights=None, out=folder, quiet=args.quiet)
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


def summarise(name: str, data: dict[str, Any]) -> dict[str, Any]:
    rows = {r["variant"]: r for r in data["retrieval_rows"]}
    out: dict[str, Any] = {"seeds": name}
    hard = hard_seeds(data)
    for v in VARIANTS:
        curve = rows[v]["success_by_epoch"]
        out[v] = {"success_by_epoch": curve, "last_epoch_success": curve[-1],
                  "mean_from_epoch_3": statistics.fmean(curve[2:]) if len(curve) > 2 else None,
                  "hard_success_by_epoch": hard_success_by_epoch(data, v, hard),
                  "q_success_r": rows[v].get("q_success_r"), "experiences_used_per_episode": rows[v]["experiences_used_per_episode"]}
    out["last_epoch_delta"] = out["q"]["last_epoch_success"] - out["similarity"]["last_epoch_success"]
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    sets = [summarise(name, play_seed_set(args, name, seeds)) for name, seeds in args.seeds.items()]
    deltas = [s["last_epoch_delta"] for s in sets]
    result = {
        "env": EASY_HARD_SPEC, "teams": args.teams, "max_steps": args.max_steps, "epochs": args.epochs,
        "failure_reward": args.failure_reward, "seed_sets": sets,
        "last_epoch_delta_mean": statistics.fmean(deltas), "last_epoch_delta_std": statistics.pstdev(deltas) if len(deltas) > 1 else 0.0,
        "goal_q_at_least_similarity_plus_0.10": statistics.fmean(deltas) >= 0.10,
        "command": "python bench/retrieval_stream.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version()},
        "total_s": round(time.perf_counter() - started, 1),
    }
    print(f"easy/hard arc_1d stream: K={args.teams}, {args.max_steps} steps, {args.epochs} fresh epochs, per-entry Q")
    print(f"{'seeds':>10s} {'variant':>10s}  {'success by epoch':50s} {'last':>5s} {'hard, last':>10s} {'r(Q,success)':>12s}")
    for s in sets:
        for v in VARIANTS:
            r = s[v]
            corr = "-" if r["q_success_r"] is None else f"{r['q_success_r']:.2f}"
            print(f"{s['seeds']:>10s} {v:>10s}  {' '.join(f'{x:.2f}' for x in r['success_by_epoch']):50s} "
                  f"{r['last_epoch_success']:5.2f} {r['hard_success_by_epoch'][-1]:10.2f} {corr:>12s}")
        print(f"{'':>10s} {'q - sim':>10s}  {'':50s} {s['last_epoch_delta']:+5.2f}")
    print(f"last epoch, q - similarity: {result['last_epoch_delta_mean']:+.3f} ± {result['last_epoch_delta_std']:.3f} "
          f"over {len(sets)} seed sets (goal +0.10: {'met' if result['goal_q_at_least_similarity_plus_0.10'] else 'NOT met'})")

    fig, ax = _figure(1, 2, (11, 4))
    for i, s in enumerate(sets):
        for v, style in (("similarity", "--"), ("q", "-")):
            color = f"C{i}"
            epochs = range(1, len(s[v]["success_by_epoch"]) + 1)
            ax[0][0].plot(epochs, s[v]["success_by_epoch"], style, color=color, marker="o", ms=3, label=f"{v}, seeds {s['seeds']}")
            ax[0][1].plot(epochs, s[v]["hard_success_by_epoch"], style, color=color, marker="o", ms=3)
    ax[0][0].set(title="all puzzles: success by epoch (solid q, dashed similarity)", xlabel="stream epoch", ylim=(-0.05, 1.05))
    ax[0][1].set(title="hard puzzles only", xlabel="stream epoch", ylim=(-0.05, 1.05))
    ax[0][0].legend(fontsize=7)
    png = save_figure(fig, args.out / "retrieval_easy_hard.png")
    atomic_write_text(args.out / "summary.json", json.dumps(result, indent=2))
    print(f"wrote {args.out / 'summary.json'} and {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

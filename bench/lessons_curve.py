"""Steps on held-out worlds against how many other worlds the memory has learned lessons from.

    python bench/lessons_curve.py --workers 2     # twx:twc, test seeds 100..199, lessons of 0/3/10/30/100 training worlds

Lessons (graphs/experience.py) are what earlier tasks taught: every action
that raised a score. This plays the same test worlds with learned admission
(the shipped policy for the game, or `--checkpoint`) after a warm-up on the
first N training worlds (seeds 1000.., the ones `teammind train` draws
from), for each N, plus no memory once. N = 0 is shared steps alone. Prints
a table, writes `bench/results/lessons_curve.json` and a PNG of env steps
(mean and the 95% paired bootstrap interval of the ratio to no memory)
against N. Every N gets its own run name, so no lessons leak between points.
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

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.admission_learning import paired_ratio_ci  # noqa: E402
from teammind.evaluation import eval_pool, resolve_checkpoint  # noqa: E402
from teammind.rl.checkpoint import atomic_write_text  # noqa: E402
from teammind.rl.evaluate import EvalConfig, load_admission_weights, parse_seeds, run_evaluation  # noqa: E402
from teammind.rl.plots import _figure, save_figure  # noqa: E402

TRAINING_SEEDS_START = 1000  # `teammind train` draws its worlds from 1000..1999 (rl/train.py), never a test seed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="twx:twc", help="environment (default twx:twc)")
    p.add_argument("--seeds", default="100..199", help="held-out test seeds (default 100..199)")
    p.add_argument("--warm-up-counts", nargs="+", type=int, default=[0, 3, 10, 30, 100], metavar="N",
                   help="numbers of training worlds (seeds 1000..) to learn lessons from; 0 = no lessons (default 0 3 10 30 100)")
    p.add_argument("--teams", type=int, default=3, help="parallel teams K (default 3)")
    p.add_argument("--max-steps", type=int, default=120, help="steps per team (default 120, twc's)")
    p.add_argument("--checkpoint", default=None, help="learned admission policy (default: the shipped one for --env)")
    p.add_argument("--workers", type=int, default=0, help="Ray rollout workers (default 0: in this process)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "lessons_curve.json")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if any(n < 0 for n in args.warm_up_counts):
        p.error(f"--warm-up-counts: {args.warm_up_counts} has a negative count; pass 0 or more worlds")
    if args.workers < 0:
        p.error(f"--workers: {args.workers} must be 0 (in this process) or more")
    return args


def plot_curve(report: dict[str, Any], path: Path) -> Path:
    """Env steps / no memory (95% paired bootstrap bars) against the number of training worlds lessons came from."""
    points = report["points"]
    fig, ax = _figure(1, 1, (6, 4))
    xs = [p["warm_up_worlds"] for p in points]
    ratios = [p["ratio_to_none"] for p in points]
    errs = np.array([[r - p["ratio_ci95"][0], p["ratio_ci95"][1] - r] for r, p in zip(ratios, points)]).T
    ax[0][0].errorbar(xs, ratios, yerr=errs, fmt="o-", capsize=3, label="learned admission + lessons")
    ax[0][0].axhline(0.5, ls="--", color="grey", label="goal: 50% of no memory")
    ax[0][0].set(title=f"{report['env']}: env steps / no memory ({len(report['seeds'])} test worlds)",
                 xlabel="training worlds the lessons came from (0 = shared steps only)", ylabel="ratio (95% paired bootstrap)",
                 ylim=(0, max(1.0, max(ratios) * 1.1)))
    ax[0][0].set_xscale("symlog", linthresh=1)
    ax[0][0].set_xlim(left=0)
    ax[0][0].legend(fontsize=8)
    return save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seeds = tuple(parse_seeds(args.seeds, "--seeds"))
    checkpoint = resolve_checkpoint(args.checkpoint, args.env)
    weights = load_admission_weights(checkpoint, "--checkpoint")
    started = time.perf_counter()
    setting = {"env": args.env, "seeds": seeds, "teams": args.teams, "max_steps": args.max_steps}

    def steps_by_seed(report: Any, variant: str) -> dict[str, float]:
        return {str(r["seed"]): r["env_steps"] for r in report.per_seed if r["variant"] == variant}

    points: list[dict[str, Any]] = []
    episodes = len(seeds) * (1 + len(args.warm_up_counts)) + sum(args.warm_up_counts)
    with eval_pool(args.workers, experiences=True) as (pool, bank), \
            tqdm(total=episodes, desc=f"lessons curve {args.env}", unit="ep", file=sys.stderr, disable=args.quiet) as bar:
        def tick(result: Any) -> None:
            bar.update()

        none = run_evaluation(EvalConfig(**setting, variants=("none",), run_name="curve-none"), pool, on_result=tick)
        base = steps_by_seed(none, "none")
        for n in args.warm_up_counts:
            warm = tuple(range(TRAINING_SEEDS_START, TRAINING_SEEDS_START + n))
            config = EvalConfig(**setting, variants=("learned",), lessons_from=warm, run_name=f"curve-{n}")
            report = run_evaluation(config, pool, experience_bank=bank, admission_weights=weights, on_result=tick)
            row, steps = report.rows[0], steps_by_seed(report, "learned")
            points.append({"warm_up_worlds": n, "lessons": report.config.get("lessons", {}).get("lessons_stored", 0),
                           "success": row["success"], "env_steps": row["env_steps"], "env_steps_std": row["env_steps_std"],
                           "admitted": row["admitted"], "ratio_to_none": row["env_steps"] / statistics.fmean(base.values()),
                           "ratio_ci95": paired_ratio_ci([steps], base, list(seeds)), "steps_by_seed": steps})
    none_steps = statistics.fmean(base.values())
    print(f"{args.env}, test seeds {args.seeds}, K={args.teams}, {args.max_steps} steps, learned admission ({checkpoint.name}); "
          f"no memory: {none_steps:.2f} steps")
    print(f"{'training worlds':>16s} {'lessons':>8s} {'success':>8s} {'env steps':>16s} {'vs none':>8s} {'95% interval':>14s} {'admitted':>9s}")
    for p in points:
        lo, hi = p["ratio_ci95"]
        print(f"{p['warm_up_worlds']:16d} {p['lessons']:8d} {p['success']:8.2f} {p['env_steps']:9.2f} ±{p['env_steps_std']:5.2f} "
              f"{p['ratio_to_none']:7.3f}x {lo:6.3f}-{hi:5.3f} {p['admitted']:9.2f}")
    report = {**setting, "seeds": list(seeds), "checkpoint": str(checkpoint), "none_env_steps": none_steps, "none_steps_by_seed": base,
              "points": points, "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version()},
              "total_s": round(time.perf_counter() - started, 1)}
    png = plot_curve(report, args.out.with_suffix(".png"))
    atomic_write_text(args.out, json.dumps(report, indent=2))
    print(f"wrote {args.out} and {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Learned admission vs the fixed baselines on held-out test seeds, over several training runs (and ablations).

    python bench/admission_learning.py --runs runs/seed0 runs/seed1 runs/seed2 --seeds 100..119 \
        --ablation no-usage=runs/abl-beta0 --ablation no-sparsity=runs/abl-sparse0

Plays none / all / novelty once (they do not depend on training) and the
selected policy (`RUN/admission.safetensors`) of every run, all on the same
test seeds, which no run trained or selected on. Prints a table, writes
`bench/results/admission_learning.json` and a PNG: mean +- spread over the
training runs of the per-run means, next to the baselines' mean +- spread over
seeds; and every run's held-out learning curve. Each row keeps its steps per
world (`steps_by_seed`), and the learned/none steps ratio gets a 95% paired
bootstrap interval over the worlds: on twc one world's steps vary far more than
the variants differ, so a ratio from 20 worlds moves by a few points.
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

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rl.checkpoint import atomic_write_text  # noqa: E402
from rl.evaluate import EvalConfig, load_admission_weights, parse_seeds, run_evaluation  # noqa: E402
from rl.plots import _figure, save_figure  # noqa: E402
from rl.workers import RolloutPool  # noqa: E402

METRICS = ("success", "env_steps", "admitted", "read_by_other", "wall_s")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", nargs="+", type=Path, required=True, help="training run folders (one per training seed)")
    p.add_argument("--ablation", action="append", default=[], help="NAME=RUN_DIR, evaluated alongside")
    p.add_argument("--seeds", default="100..119", help="held-out test seeds (default 100..119)")
    p.add_argument("--env", default=None, help="environment (default: the first run's, from its config.json)")
    p.add_argument("--max-steps", type=int, default=None, help="steps per team (default: the first run's)")
    p.add_argument("--teams", type=int, default=None, help="parallel teams K (default: the first run's)")
    p.add_argument("--workers", type=int, default=0, help="Ray rollout workers (default 0: in this process)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "admission_learning.json")
    return p.parse_args(argv)


def run_setting(args: argparse.Namespace) -> dict[str, Any]:
    """env, teams and max_steps: the flags where given, else what the first training run used."""
    config_path = args.runs[0] / "config.json"
    trained = json.loads(config_path.read_text()) if config_path.is_file() else {}
    return {
        "env": args.env or trained.get("env", "twx:coin"),
        "teams": args.teams or trained.get("teams", 3),
        "max_steps": args.max_steps or trained.get("max_steps", 30),
    }


def evaluate(setting: dict[str, Any], seeds: list[int], variants: tuple[str, ...], checkpoint: Path | None, pool: RolloutPool) -> list[dict[str, Any]]:
    """One row per variant (the `teammind eval --json` row), plus `steps_by_seed`: {seed: env steps}."""
    config = EvalConfig(**setting, seeds=tuple(seeds), variants=variants, run_name="bench")
    weights = load_admission_weights(checkpoint) if checkpoint else None
    report = run_evaluation(config, pool, admission_weights=weights)
    for row in report.rows:
        row["steps_by_seed"] = {str(r["seed"]): r["env_steps"] for r in report.per_seed
                                if r["comparison"] == "admission" and r["variant"] == row["variant"]}
    return report.rows


def paired_ratio_ci(numerator: list[dict[str, float]], denominator: dict[str, float], seeds: list[int],
                    resamples: int = 2000, level: float = 0.95) -> tuple[float, float]:
    """Bootstrap interval of mean(numerator runs' steps) / mean(denominator steps), resampling worlds.

    Worlds are resampled with their pairing kept (one world's numbers move together),
    because the spread between worlds (std ~60 steps) dwarfs the difference between variants.
    """
    rng = np.random.default_rng(0)
    keys = [str(s) for s in seeds]
    num = np.array([[run[k] for k in keys] for run in numerator], dtype=np.float64).mean(axis=0)
    den = np.array([denominator[k] for k in keys], dtype=np.float64)
    idx = rng.integers(0, len(keys), size=(resamples, len(keys)))
    ratios = num[idx].mean(axis=1) / den[idx].mean(axis=1)
    lo, hi = np.quantile(ratios, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def spread(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.pstdev(values) if len(values) > 1 else 0.0)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seeds = parse_seeds(args.seeds, "--seeds")
    ablations = dict(a.split("=", 1) for a in args.ablation)
    started = time.perf_counter()
    setting = run_setting(args)
    with RolloutPool(args.workers) as pool:
        baselines = {r["variant"]: r for r in evaluate(setting, seeds, ("none", "all", "novelty"), None, pool)}
        learned = {str(run): evaluate(setting, seeds, ("learned",), run / "admission.safetensors", pool)[0] for run in args.runs}
        ablated = {name: evaluate(setting, seeds, ("learned",), Path(run) / "admission.safetensors", pool)[0] for name, run in ablations.items()}
    none, all_ = baselines["none"], baselines["all"]
    summary: dict[str, Any] = {}
    for m in METRICS:
        mean, std = spread([r[m] for r in learned.values()])
        summary[m], summary[f"{m}_std_over_training_seeds"] = mean, std
    summary["env_steps_ratio_to_none"] = summary["env_steps"] / none["env_steps"]
    summary["env_steps_ratio_to_none_ci95"] = paired_ratio_ci([r["steps_by_seed"] for r in learned.values()],
                                                              none["steps_by_seed"], seeds)
    summary["admitted_ratio_to_all"] = summary["admitted"] / all_["admitted"] if all_["admitted"] else None
    goals = {
        "success >= admit-all": summary["success"] >= all_["success"],
        "success >= no memory": summary["success"] >= none["success"],
        "env steps <= 50% of no memory": summary["env_steps_ratio_to_none"] <= 0.5,
        "admitted <= 40% of admit-all": (summary["admitted_ratio_to_all"] or 0) <= 0.4,
    }
    print(f"{setting['env']}, test seeds {args.seeds}, K={setting['teams']}, {setting['max_steps']} steps; learned = mean +- spread over {len(learned)} training runs")
    print(f"{'variant':22s} {'success':>14s} {'env steps':>16s} {'vs none':>8s} {'admitted':>14s} {'vs all':>7s} {'read by other':>14s}")

    def line(name: str, r: dict[str, Any], std_key: str = "_std") -> None:
        ratio = r["admitted"] / all_["admitted"] if all_["admitted"] else 0.0
        print(f"{name:22s} {r['success']:8.2f} ±{r['success' + std_key]:4.2f} {r['env_steps']:9.2f} ±{r['env_steps' + std_key]:5.2f} "
              f"{r['env_steps'] / none['env_steps']:7.2f}x {r['admitted']:8.2f} ±{r['admitted' + std_key]:4.2f} {ratio:6.2f}x "
              f"{r['read_by_other']:8.2f} ±{r['read_by_other' + std_key]:4.2f}")

    for v in ("none", "all", "novelty"):
        line(v, baselines[v])
    line("learned (runs)", summary, "_std_over_training_seeds")
    for run, r in learned.items():
        line(f"  {Path(run).name}", r)
    for name, r in ablated.items():
        line(f"ablation {name}", r)
    lo, hi = summary["env_steps_ratio_to_none_ci95"]
    print(f"  learned env steps / none: {summary['env_steps_ratio_to_none']:.3f}x "
          f"(95% paired bootstrap over the {len(seeds)} worlds: {lo:.3f}-{hi:.3f})")
    for goal, ok in goals.items():
        print(f"  goal {goal}: {'met' if ok else 'NOT met'}")

    fig, ax = _figure(1, 2, (11, 4))
    for run in [*args.runs, *[Path(r) for r in ablations.values()]]:
        rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()]
        ev = [r for r in rows if r["type"] == "eval" and r["variant"] == "learned"]
        base = next(r for r in rows if r["type"] == "eval" and r["variant"] == "all")
        name = next((n for n, p in ablations.items() if Path(p) == run), run.name)
        ax[0][0].plot([r["iteration"] for r in ev], [r["admitted"] / base["admitted"] for r in ev], "o-", label=name)
        ax[0][1].plot([r["iteration"] for r in ev], [r["env_steps"] / base["env_steps"] for r in ev], "o-", label=name)
    ax[0][0].set(title="validation seeds: admitted / admit-all", xlabel="iteration", ylim=(-0.05, 1.1))
    ax[0][1].set(title="validation seeds: env steps / admit-all", xlabel="iteration")
    ax[0][0].legend(fontsize=8)
    png = save_figure(fig, args.out.with_suffix(".png"))
    report = {**setting, "seeds": seeds, "baselines": baselines, "learned_runs": learned, "learned": summary,
              "ablations": ablated, "goals": goals, "runs": [str(r) for r in args.runs],
              "selected": {str(r): json.loads((r / "selected.json").read_text()) for r in args.runs if (r / "selected.json").is_file()},
              "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version()},
              "total_s": round(time.perf_counter() - started, 1)}
    atomic_write_text(args.out, json.dumps(report, indent=2))
    print(f"wrote {args.out} and {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

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

`--lessons-from A..B` (e.g. training worlds 1000..1099) first plays those
worlds once with `all` and stores every action that raised a score as a
lesson (rl/evaluate.py); all, novelty and learned then read them on the test
seeds, `none` stays memory-free, and an extra row `lessons only` has teams
that read lessons but share no steps, to show what each part buys.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from teammind.rl.checkpoint import atomic_write_text  # noqa: E402
from teammind.graphs.experience import is_lesson_id  # noqa: E402
from teammind.rl.evaluate import EvalConfig, admission_specs, aggregate, load_admission_weights, parse_seeds, run_evaluation  # noqa: E402
from teammind.rl.plots import _figure, save_figure  # noqa: E402
from teammind.rl.workers import RolloutPool  # noqa: E402
from teammind.evaluation import eval_pool  # noqa: E402

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
    p.add_argument("--lessons-from", default=None, metavar="A..B",
                   help="warm-up seeds whose score-raising actions every memory variant reads as lessons "
                        "(rl/evaluate.py; played once, `all`); default off: shared steps only")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "admission_learning.json")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
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


def evaluate(setting: dict[str, Any], seeds: list[int], variants: tuple[str, ...], checkpoint: Path | None, pool: RolloutPool,
             bank: Any = None, lessons_from: tuple[int, ...] = (), on_result: Any = None) -> list[dict[str, Any]]:
    """One row per variant (the `teammind eval --json` row), plus `steps_by_seed`: {seed: env steps}.

    With `lessons_from`, the first call plays the warm-up and later calls reuse its lessons (same run name).
    """
    config = EvalConfig(**setting, seeds=tuple(seeds), variants=variants, run_name="bench", lessons_from=lessons_from)
    weights = load_admission_weights(checkpoint) if checkpoint else None
    report = run_evaluation(config, pool, admission_weights=weights, experience_bank=bank, on_result=on_result)
    for row in report.rows:
        row["lessons"] = report.config.get("lessons")
        row["steps_by_seed"] = {str(r["seed"]): r["env_steps"] for r in report.per_seed
                                if r["comparison"] == "admission" and r["variant"] == row["variant"]}
    return report.rows


def lessons_only(setting: dict[str, Any], seeds: list[int], pool: RolloutPool, lessons_from: tuple[int, ...],
                 on_result: Any = None) -> dict[str, Any]:
    """Teams that read the warm-up's lessons but share no steps: what the lessons alone buy.

    Runs after `evaluate` has stored the lessons (same run name); the row has the eval rows' metrics.
    """
    config = EvalConfig(**setting, seeds=tuple(seeds), variants=("none",), run_name="bench", lessons_from=lessons_from)
    specs = [replace(s, episode_id=s.episode_id.replace("-adm-none-", "-lessons-only-"), experience_namespace=config.warm_up_namespace())
             for s in admission_specs(config)]
    summaries = [r.summary for r in pool.run(specs, weights=None, version=0, on_result=on_result)]
    return {"variant": "lessons only", "seeds": seeds, **aggregate(summaries),
            "lessons_used_per_episode": statistics.fmean(sum(map(is_lesson_id, s["experiences_used"])) for s in summaries),
            "steps_by_seed": {str(s["seed"]): s["env_steps"] for s in summaries}}


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


def plot_report(report: dict[str, Any], curves: list[tuple[str, Path]], path: Path) -> Path:
    """Three panels: each run's validation curves (admitted and env steps against `all`), and the test
    seeds' env steps and admitted entries per variant (bars, mean +- std over worlds; learned: over runs)."""
    fig, ax = _figure(1, 3, (16, 4))
    for name, run in curves:
        rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()]
        ev = [r for r in rows if r["type"] == "eval" and r["variant"] == "learned"]
        base = next(r for r in rows if r["type"] == "eval" and r["variant"] == "all")
        ax[0][0].plot([r["iteration"] for r in ev], [r["admitted"] / base["admitted"] for r in ev], "o-", label=name)
        ax[0][1].plot([r["iteration"] for r in ev], [r["env_steps"] / base["env_steps"] for r in ev], "o-", label=name)
    ax[0][0].set(title="validation seeds: admitted / `all`", xlabel="iteration", ylim=(-0.05, 1.1))
    ax[0][1].set(title="validation seeds: env steps / `all`", xlabel="iteration")
    ax[0][0].legend(fontsize=8)
    rows = {**report["baselines"], "learned": report["learned"]}
    names = list(rows)
    x = np.arange(len(names))
    for offset, metric, label in ((-0.2, "env_steps", "env steps"), (0.2, "admitted", "entries admitted")):
        std = [rows[n].get(f"{metric}_std_over_training_seeds", rows[n].get(f"{metric}_std", 0.0)) for n in names]
        ax[0][2].bar(x + offset, [rows[n][metric] for n in names], 0.4, yerr=std, capsize=3, label=label)
    lessons = f", lessons of {len(report['lessons_from'])} other worlds" if report.get("lessons_from") else ""
    ax[0][2].set(title=f"test seeds ({len(report['seeds'])} worlds{lessons})\nmean ± std over worlds (learned: over runs)", xticks=x)
    ax[0][2].set_xticklabels(names, rotation=20, fontsize=8)
    ax[0][2].legend(fontsize=8)
    return save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    seeds = parse_seeds(args.seeds, "--seeds")
    ablations = dict(a.split("=", 1) for a in args.ablation)
    started = time.perf_counter()
    setting = run_setting(args)
    lessons_from = tuple(parse_seeds(args.lessons_from, "--lessons-from")) if args.lessons_from else ()
    episodes = len(seeds) * (3 + len(args.runs) + len(ablations) + (1 if lessons_from else 0)) + len(lessons_from)
    with eval_pool(args.workers, experiences=bool(lessons_from)) as (pool, bank), \
            tqdm(total=episodes, desc="admission bench", unit="ep", file=sys.stderr, disable=args.quiet) as bar:
        def tick(result: Any) -> None:
            bar.update()

        def play(variants: tuple[str, ...], checkpoint: Path | None) -> list[dict[str, Any]]:
            return evaluate(setting, seeds, variants, checkpoint, pool, bank, lessons_from, tick)

        baselines = {r["variant"]: r for r in play(("none", "all", "novelty"), None)}
        learned = {str(run): play(("learned",), run / "admission.safetensors")[0] for run in args.runs}
        ablated = {name: play(("learned",), Path(run) / "admission.safetensors")[0] for name, run in ablations.items()}
        if lessons_from:
            baselines["lessons only"] = lessons_only(setting, seeds, pool, lessons_from, tick)
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
        "success >= all": summary["success"] >= all_["success"],
        "success >= no memory": summary["success"] >= none["success"],
        "env steps <= 50% of no memory": summary["env_steps_ratio_to_none"] <= 0.5,
        "admitted <= 40% of all": (summary["admitted_ratio_to_all"] or 0) <= 0.4,
    }
    print(f"{setting['env']}, test seeds {args.seeds}, K={setting['teams']}, {setting['max_steps']} steps; learned = mean +- spread over {len(learned)} training runs")
    if lessons_from:
        info = all_["lessons"]
        print(f"memory variants also read {info['lessons_stored']} lessons of warm-up seeds {args.lessons_from} (none reads nothing)")
    print(f"{'variant':22s} {'success':>14s} {'env steps':>16s} {'vs none':>8s} {'admitted':>14s} {'vs all':>7s} {'read by other':>14s}")

    def line(name: str, r: dict[str, Any], std_key: str = "_std") -> None:
        ratio = r["admitted"] / all_["admitted"] if all_["admitted"] else 0.0
        print(f"{name:22s} {r['success']:8.2f} ±{r['success' + std_key]:4.2f} {r['env_steps']:9.2f} ±{r['env_steps' + std_key]:5.2f} "
              f"{r['env_steps'] / none['env_steps']:7.2f}x {r['admitted']:8.2f} ±{r['admitted' + std_key]:4.2f} {ratio:6.2f}x "
              f"{r['read_by_other']:8.2f} ±{r['read_by_other' + std_key]:4.2f}")

    for v in ("none", "all", "novelty", *(("lessons only",) if lessons_from else ())):
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

    report = {**setting, "seeds": seeds, "lessons_from": list(lessons_from), "baselines": baselines, "learned_runs": learned, "learned": summary,
              "ablations": ablated, "goals": goals, "runs": [str(r) for r in args.runs],
              "selected": {str(r): json.loads((r / "selected.json").read_text()) for r in args.runs if (r / "selected.json").is_file()},
              "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version()},
              "total_s": round(time.perf_counter() - started, 1)}
    curves = [(run.name, run) for run in args.runs] + [(name, Path(run)) for name, run in ablations.items()]
    png = plot_report(report, curves, args.out.with_suffix(".png"))
    atomic_write_text(args.out, json.dumps(report, indent=2))
    print(f"wrote {args.out} and {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

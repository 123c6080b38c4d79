"""Does one admission policy transfer? Train it on a mix of suites and tool workloads, test it on ones it never saw.

    python bench/admission_transfer.py --run runs/transfer --train --episodes 480   # train on bench/mixes/transfer.json, then test
    python bench/admission_transfer.py --run runs/transfer                          # test a trained run again

Training (`--train`): `teammind train --mix bench/mixes/transfer.json
--features scalar` (twx coin and cookingworld, the countries questions of the
train split and reasoning-gym chain_sum, each with the scripted teams), so the
policy reads only novelty, size, progress and the like, never the text.

Test (held out, never trained or selected on): a suite, TextWorldExpress
`mapreader` (seeds 100..119); and two tool workloads, the countries questions
of the test split (other countries) and reasoning-gym `basic_arithmetic`
(other expressions), each played by its scripted team, K = 3. On each one,
none / all / novelty and two learned policies play the same tasks in one run:
this run's policy (`learned`) and the shipped full-feature policy trained on
`coin` (`learned-full`). For both learned policies it reports the admit
probabilities on the held-out decisions: their spread, their mean per novelty
bin (max cosine of the key to what the bank holds) and their correlation with
novelty, i.e. whether the policy tells a duplicate from a new result.

The verdict: `learned` beats `novelty` on a workload when its success is at
least novelty's, its environment steps (tool calls for teams) at most 2% more,
and it stores fewer entries. Prints a table, writes
bench/results/admission_transfer.json and a PNG of p(admit) against novelty.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from teammind.rl.checkpoint import atomic_write_text  # noqa: E402
from teammind.rl.evaluate import aggregate, load_admission_weights  # noqa: E402
from teammind.rl.plots import _figure, save_figure  # noqa: E402
from teammind.rl.rollout import RolloutResult, RolloutSpec, workload_name  # noqa: E402
from teammind.rl.workers import RolloutPool  # noqa: E402

MIX = ROOT / "bench" / "mixes" / "transfer.json"
HELD_OUT = (
    {"env": "twx:mapreader", "seeds": list(range(100, 120))},
    {"env": "countries-test", "team": "teammind.suites.countries.team:scripted_team",
     "tasks": "teammind.suites.countries.tasks:load_tasks:split=test,n=20", "seeds": list(range(20))},
    {"env": "rg-basic_arithmetic", "team": "teammind.suites.reasoning_gym.team:scripted_team",
     "tasks": "teammind.suites.reasoning_gym.tasks:load_tasks:dataset=basic_arithmetic,n=20", "seeds": list(range(20))},
)
BASELINES = ("none", "all", "novelty")
NOVELTY_BINS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.01)
STEPS_TOLERANCE = 0.02
METRICS = ("success", "env_steps", "admitted", "read_by_other", "wall_s")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, required=True, help="the training run folder (its admission.safetensors is tested)")
    p.add_argument("--train", action="store_true", help="train the run first (or resume it) on --mix with scalar features")
    p.add_argument("--mix", type=Path, default=MIX, help=f"mix file for --train (default {MIX.relative_to(ROOT)})")
    p.add_argument("--episodes", type=int, default=480, help="training episodes with --train (default 480)")
    p.add_argument("--admission-budget", type=float, default=None,
                   help="with --train: target fraction of steps to admit (lambda-sparse adapts by dual ascent; default off)")
    p.add_argument("--full-policy", type=Path, default=None, help="the full-feature policy to compare (default: the shipped coin policy)")
    p.add_argument("--seeds", type=int, default=None, help="play only the first N seeds of each held-out workload (tiny runs)")
    p.add_argument("--teams", type=int, default=3, help="parallel teams K (default 3)")
    p.add_argument("--max-steps", type=int, default=30, help="steps per team in the suites (default 30)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "admission_transfer.json")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p.parse_args(argv)


def train(args: argparse.Namespace) -> None:
    from teammind.api import train as train_run
    from teammind.rl.train import TrainConfig
    from teammind.specs import TrainSpec

    config = TrainConfig(mix=TrainConfig.load_mix(args.mix), features="scalar", episodes=args.episodes, group=4, tasks_per_iteration=4,
                         eval_every=5, admission_budget=args.admission_budget)
    resume = (args.run / "config.json").is_file()
    train_run(TrainSpec(out=str(args.run), config=config, resume=resume), progress=not args.quiet)


def specs(workload: dict[str, Any], variant: str, seeds: list[int], args: argparse.Namespace) -> list[RolloutSpec]:
    admission = "learned" if variant.startswith("learned") else variant
    return [RolloutSpec(env=workload["env"], seed=s, episode_id=f"transfer-{workload['env']}-{variant}-s{s}", teams=args.teams,
                        max_steps=args.max_steps, admission=admission, retrieval="q", team=workload.get("team"), tasks=workload.get("tasks"))
            for s in seeds]


def decisions(results: list[RolloutResult]) -> list[tuple[float, float]]:
    """(novelty = max cosine to the bank, p(admit)) of every admission decision of the results."""
    return [(float(s.features["max_similarity"]), float(s.probability)) for r in results for t in r.episode.teams for s in t.steps]


def probability_report(points: list[tuple[float, float]]) -> dict[str, Any]:
    """How a policy's p(admit) spreads and moves with novelty on held-out decisions."""
    if not points:
        return {"decisions": 0}
    sims, ps = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    bins = []
    for lo, hi in zip(NOVELTY_BINS, NOVELTY_BINS[1:]):
        mask = (sims >= lo) & (sims < hi)
        if mask.any():
            bins.append({"novelty": f"{lo:.2f}-{min(hi, 1.0):.2f}", "n": int(mask.sum()), "p_admit": round(float(ps[mask].mean()), 4)})
    r = float(np.corrcoef(sims, ps)[0, 1]) if ps.std() > 0 and sims.std() > 0 else None
    return {"decisions": len(points), "p_min": round(float(ps.min()), 4), "p_max": round(float(ps.max()), 4),
            "p_std": round(float(ps.std()), 4), "p_mean": round(float(ps.mean()), 4),
            "r_with_max_similarity": None if r is None else round(r, 4), "by_novelty": bins}


def beats(learned: dict[str, float], novelty: dict[str, float]) -> bool:
    """The verdict of the module docstring for one workload."""
    return (learned["success"] >= novelty["success"] and learned["env_steps"] <= novelty["env_steps"] * (1 + STEPS_TOLERANCE)
            and learned["admitted"] < novelty["admitted"])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.train:
        train(args)
    policy_path = args.run / "admission.safetensors"
    from teammind.suites.registry import shipped_admission_path

    full_path = args.full_policy or shipped_admission_path("twx:coin")
    weights = {"learned": load_admission_weights(policy_path), "learned-full": load_admission_weights(full_path, "full_policy")}
    variants = (*BASELINES, "learned", "learned-full")
    rows: dict[str, dict[str, Any]] = {}
    probabilities: dict[str, dict[str, Any]] = {}
    points: dict[str, dict[str, list[tuple[float, float]]]] = {}
    started = time.perf_counter()
    with RolloutPool(0) as pool:
        total = sum(len(w["seeds"][: args.seeds]) for w in HELD_OUT) * len(variants)
        with tqdm(total=total, desc="held-out episodes", unit="ep", disable=True if args.quiet else None) as bar:
            for workload in HELD_OUT:
                seeds = workload["seeds"][: args.seeds]
                name = workload["env"]
                results: dict[str, list[RolloutResult]] = {}
                for variant in variants:
                    results[variant] = pool.run(specs(workload, variant, seeds, args), weights=weights.get(variant),
                                                version=variants.index(variant) + 1, on_result=lambda r: bar.update())
                rows[name] = {v: aggregate([r.summary for r in results[v]]) for v in variants}
                points[name] = {v: decisions(results[v]) for v in ("learned", "learned-full")}
                probabilities[name] = {v: probability_report(points[name][v]) for v in ("learned", "learned-full")}
                rows[name]["workload"] = workload_name(specs(workload, "none", seeds[:1], args)[0])  # type: ignore[assignment]
    verdicts = {name: beats(rows[name]["learned"], rows[name]["novelty"]) for name in rows}
    from teammind.suites.registry import trained_on

    report = {
        "policy": str(policy_path), "trained_on": trained_on(policy_path), "full_policy": str(full_path),
        "held_out": [{k: v for k, v in w.items()} for w in HELD_OUT], "seeds_played": args.seeds, "teams": args.teams,
        "rows": rows, "admit_probability": probabilities, "learned_beats_novelty": verdicts,
        "learned_beats_novelty_everywhere": all(verdicts.values()),
        "total_s": round(time.perf_counter() - started, 1),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    print_table(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(report, indent=2))
    plot(points, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")
    return 0


def print_table(report: dict[str, Any]) -> None:
    from rich.table import Table

    from teammind.console import wide_console

    table = Table(title=f"held-out workloads, K={report['teams']}: {report['policy']} (trained on {report['trained_on']})")
    for col in ("workload", "variant", *METRICS, "p(admit) std", "r(p, novelty)"):
        table.add_column(col, justify="left" if col in ("workload", "variant") else "right")
    for name, rows in report["rows"].items():
        for variant, row in rows.items():
            if variant == "workload":
                continue
            prob = report["admit_probability"][name].get(variant, {})
            table.add_row(name, variant, *(f"{row[m]:.2f}" for m in METRICS), str(prob.get("p_std", "")),
                          str(prob.get("r_with_max_similarity", "")))
    wide_console().print(table)
    for name, wins in report["learned_beats_novelty"].items():
        print(f"{name}: learned {'beats' if wins else 'does not beat'} novelty")


def plot(points: dict[str, dict[str, list[tuple[float, float]]]], path: Path) -> Path:
    fig, ax = _figure(1, len(points), (5 * len(points), 4))
    for i, (name, by_policy) in enumerate(points.items()):
        for policy, pts in by_policy.items():
            if pts:
                ax[0][i].scatter([p[0] for p in pts], [p[1] for p in pts], s=8, alpha=0.5, label=policy)
        ax[0][i].set(title=name, xlabel="novelty: max cosine to the bank", ylabel="p(admit)", ylim=(-0.05, 1.05))
        ax[0][i].legend(fontsize=8)
    return save_figure(fig, path)


if __name__ == "__main__":
    sys.exit(main())

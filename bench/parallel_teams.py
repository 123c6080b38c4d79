"""Side-by-side benchmark of parallel teams: no memory vs `all` vs novelty threshold.

Same environment, same seeds, one run: every variant plays every seed with K
teams (scripted agents by default; `--agent llm` for the embedded LLM). Prints
a table (mean and spread over seeds, ratios to no memory) and writes JSON.

    python bench/parallel_teams.py --env twx:coin --seeds 20
    python bench/parallel_teams.py --agent llm --seeds 3 --out bench/results/parallel_teams_llm.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from teammind.assemble import build_runtime  # noqa: E402
from teammind.console import summary_table, wide_console  # noqa: E402
from teammind.graphs.parallel import run_parallel_teams  # noqa: E402
from teammind.memory import MemoryBank  # noqa: E402
from teammind.memory.files import atomic_write_text  # noqa: E402
from teammind.specs import RunSpec  # noqa: E402

METRICS = ("success", "env_steps", "llm_calls", "prompt_tokens", "completion_tokens", "wall_s", "admitted", "read_by_other")
VARIANTS = ("none", "all", "novelty")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="twx:coin")
    p.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1 (default 20)")
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--teams", type=int, default=3)
    p.add_argument("--max-steps", type=int, default=30)
    p.add_argument("--agent", default="scripted", choices=("scripted", "llm"))
    p.add_argument("--llm", default="embedded")
    p.add_argument("--model", default=None)
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "parallel_teams.json")
    return p.parse_args(argv)


def run_variant(args: argparse.Namespace, variant: str, seed: int, bank: MemoryBank) -> dict[str, Any]:
    spec = RunSpec(env=args.env, seed=seed, teams=args.teams, max_steps=args.max_steps, admission=variant, agent=args.agent,
                   llm=args.llm, model=args.model)
    runtime = build_runtime(spec, run_id=f"bench-{variant}-{seed}-{int(time.time() * 1000) % 10**8}", bank=bank if variant != "none" else None)
    return run_parallel_teams(runtime)


def aggregate(rows: list[dict[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for m in METRICS:
        values = [float(r[m]) for r in rows]
        out[m] = statistics.fmean(values)
        out[f"{m}_std"] = statistics.pstdev(values) if len(values) > 1 else 0.0
    return out


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    args = parse_args(argv)
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    per_seed: dict[str, list[dict[str, Any]]] = {v: [] for v in args.variants}
    with tempfile.TemporaryDirectory(prefix="teammind-bench-") as tmp:
        bank = MemoryBank(tmp)
        started = time.perf_counter()
        with tqdm(total=len(seeds) * len(args.variants), desc="runs", unit="run") as bar:
            for seed in seeds:  # variants interleaved per seed: background load hits them alike
                for variant in args.variants:
                    per_seed[variant].append(run_variant(args, variant, seed, bank))
                    bar.update()
        total_s = time.perf_counter() - started
    summary = {v: aggregate(rows) for v, rows in per_seed.items()}
    base = summary.get("none")
    rows = []
    for v in args.variants:
        row = {"variant": v, **summary[v]}
        if base:
            for m in ("env_steps", "llm_calls", "wall_s"):
                row[f"{m}_ratio_to_none"] = summary[v][m] / base[m] if base[m] else None
        rows.append(row)
    wide_console().print(summary_table(rows, f"{args.env}, {len(seeds)} seeds, K={args.teams}, {args.agent} agents (means)"))
    for r in rows:
        spread = ", ".join(f"{m} ±{r[m + '_std']:.2f}" for m in ("success", "env_steps", "wall_s"))
        ratio = f"steps x{r['env_steps_ratio_to_none']:.2f} of none" if r.get("env_steps_ratio_to_none") else ""
        print(f"  {r['variant']:8s} {spread}  {ratio}")
    report = {
        "env": args.env, "seeds": seeds, "teams": args.teams, "max_steps": args.max_steps, "agent": args.agent,
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version()},
        "total_s": round(total_s, 2), "rows": rows, "per_seed": per_seed,
    }
    atomic_write_text(args.out, json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

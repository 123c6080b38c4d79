"""Tool workloads where parallel teams overlap: scripted teams, admission none / all / novelty, tool latency 0 and 1 s.

K scripted teams (no LLM) answer the same tasks under every admission
variant, back to back per task, in one run: multi-hop country questions over
pycountry (`teammind.suites.countries`) and reasoning-gym arithmetic solved
with the calculator (`teammind.suites.reasoning_gym.team`). Every tool call
sleeps `--latency` seconds first, so latency 1 models a web tool: there the
calls that shared memory saves are wall time. Prints one table per latency
(mean ± std over tasks, wall time as median and interquartile range) and
writes JSON with every run's counters.

    python bench/tool_workloads.py                                     # 20 tasks per workload, latency 0 and 1 s
    python bench/tool_workloads.py --tasks 5 --latency 0,0.2 --workloads countries --out /tmp/tw.json
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
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from teammind import MemoryBank, ParallelTeams
from teammind.console import wide_console
from teammind.memory.files import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]

WORKLOADS = ("countries", "chain_sum", "basic_arithmetic")
VARIANTS = ("none", "all", "novelty")
METRICS = ("success", "tool_calls", "tool_calls_shared", "wall_s", "admitted", "reads", "read_by_other")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", default="countries,chain_sum", help=f"comma-separated, of {', '.join(WORKLOADS)} (default countries,chain_sum)")
    p.add_argument("--tasks", type=int, default=20, help="tasks per workload (default 20)")
    p.add_argument("--seed", type=int, default=0, help="first task seed (default 0)")
    p.add_argument("--split", default="test", choices=("train", "test"), help="countries split (default test: the held-out countries)")
    p.add_argument("--teams", type=int, default=3, help="parallel teams K (default 3)")
    p.add_argument("--variants", default=",".join(VARIANTS), help="admission variants, comma-separated (default none,all,novelty)")
    p.add_argument("--latency", default="0,1", help="seconds added to every tool call, comma-separated (default 0,1)")
    p.add_argument("--aggregator", default="majority", choices=("majority", "first"),
                   help="majority (default: every team finishes, so call counts compare) or first (the first right answer stops the rest)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "tool_workloads.json")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    try:
        args.latency = [float(x) for x in args.latency.split(",") if x.strip()]
    except ValueError:
        p.error(f"--latency: {args.latency!r} is not comma-separated seconds; write e.g. --latency 0,1")
    for w in args.workloads:
        if w not in WORKLOADS:
            p.error(f"--workloads: {w!r} is not a workload; use {', '.join(WORKLOADS)}")
    if not args.latency or any(x < 0 for x in args.latency):
        p.error("--latency: pass seconds >= 0, e.g. --latency 0,1")
    return args


def workload(name: str, args: argparse.Namespace) -> tuple[list[Any], Callable[..., Any]]:
    """(tasks, scripted team factory taking latency_s) of a workload."""
    if name == "countries":
        from teammind.suites.countries.tasks import load_tasks as country_tasks
        from teammind.suites.countries.team import scripted_team as country_team

        return country_tasks(n=args.tasks, seed=args.seed, split=args.split), country_team
    from teammind.suites.reasoning_gym.tasks import load_tasks as rg_tasks
    from teammind.suites.reasoning_gym.team import scripted_team as arithmetic_team

    return rg_tasks(name, n=args.tasks, seed=args.seed), arithmetic_team


def stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    quartiles = statistics.quantiles(ordered, n=4, method="inclusive") if len(ordered) > 1 else [ordered[0]] * 3
    return {"mean": statistics.fmean(ordered), "std": statistics.pstdev(ordered) if len(ordered) > 1 else 0.0,
            "median": quartiles[1], "q1": quartiles[0], "q3": quartiles[2]}


def row(workload_name: str, latency: float, variant: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"workload": workload_name, "latency_s": latency, "variant": variant, "tasks": len(runs),
            **{m: stats([float(r[m] or 0.0) for r in runs]) for m in METRICS}}


def table(rows: list[dict[str, Any]], title: str) -> Any:
    from rich.table import Table

    out = Table(title=title)
    for col in ("workload", "variant", "success", "tool calls run", "calls shared", "wall s median (IQR)", "wall s mean", "admitted",
                "entries read", "read by other", "calls vs none"):
        out.add_column(col, justify="left" if col in ("workload", "variant") else "right")
    base = {r["workload"]: r["tool_calls"]["mean"] for r in rows if r["variant"] == "none"}

    def pm(stat: dict[str, float], digits: int = 1) -> str:
        return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"

    for r in rows:
        wall, ratio = r["wall_s"], (r["tool_calls"]["mean"] / base[r["workload"]] if base.get(r["workload"]) else None)
        out.add_row(r["workload"], r["variant"], f"{r['success']['mean']:.2f}", pm(r["tool_calls"]), pm(r["tool_calls_shared"]),
                    f"{wall['median']:.2f} ({wall['q1']:.2f}-{wall['q3']:.2f})", pm(wall, 2), pm(r["admitted"]), pm(r["reads"]),
                    pm(r["read_by_other"]), f"{ratio:.2f}" if ratio is not None else "")
    return out


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    args = parse_args(argv)
    loaded = {w: workload(w, args) for w in args.workloads}
    runs: dict[tuple[str, float, str], list[dict[str, Any]]] = {}
    started = time.perf_counter()
    total = sum(len(tasks) for tasks, _ in loaded.values()) * len(args.variants) * len(args.latency)
    with tempfile.TemporaryDirectory(prefix="teammind-tool-bench-") as folder, MemoryBank(Path(folder) / "bank") as bank, \
            tqdm(total=total, desc="runs", unit="run", disable=True if args.quiet else None) as bar:
        for latency in args.latency:
            for name, (tasks, team) in loaded.items():
                teams = {v: ParallelTeams(partial(team, latency_s=latency), k=args.teams, bank=bank if v != "none" else None, admission=v,
                                          aggregator=args.aggregator) for v in args.variants}
                for task in tasks:
                    for variant in args.variants:  # variants back to back per task: background load hits them alike
                        bar.set_postfix_str(f"{name} {variant} latency {latency:g}s")
                        summary = teams[variant].run(task).summary
                        runs.setdefault((name, latency, variant), []).append(
                            {"task_id": summary.get("task_id"), **{m: summary[m] for m in (*METRICS, "proposed", "answer")},
                             "team_errors": [t["error"] for t in summary["teams"].values() if t["error"]]})
                        bar.update()
    total_s = time.perf_counter() - started
    rows = [row(name, latency, variant, runs[(name, latency, variant)]) for latency in args.latency for name in args.workloads
            for variant in args.variants]
    console = wide_console()
    for latency in args.latency:
        console.print(table([r for r in rows if r["latency_s"] == latency],
                            f"K={args.teams} scripted teams, {args.tasks} tasks per workload, tool latency {latency:g} s, aggregator "
                            f"{args.aggregator} (mean ± std over tasks)"))
    report = {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "command": "python bench/tool_workloads.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "total_s": round(total_s, 2), "rows": rows,
        "runs": [{"workload": n, "latency_s": lat, "variant": v, "runs": rs} for (n, lat, v), rs in runs.items()],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(report, indent=2, default=str))
    print(f"wrote {args.out} ({total_s:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

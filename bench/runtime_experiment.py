"""The Learning to Share runtime experiment: K = 3 parallel teams on multi-hop tool questions, none / all / novelty / learned.

    python bench/runtime_experiment.py                                   # LLM teams on SmolLM2 and Gemma 3 270M, 20 tasks, tool latency 0 and 1 s
    python bench/runtime_experiment.py --teams-kind scripted              # the same grid with the scripted teams (no LLM)
    python bench/runtime_experiment.py --endpoints embedded --tasks 3 --latencies 0 --out /tmp/x.json

LLM teams are LangGraph's prebuilt ReAct agent (`create_react_agent`) on the
embedded llama.cpp servers through `chat_model`, sampling by team rank, with
the five country tools of `teammind.suites.countries` shared through
`memory.share` and the shared-memory tools; the questions are the countries
test split (each needs two to six tool calls that parallel teams repeat).
Scripted teams play the same questions, and reasoning-gym chain_sum with the
calculator. The aggregator is `first` with the task's grader (the first team
to answer correctly ends the run, as in Learning to Share), so wall time is
the time to an answer.

Every cell (workload x endpoint x tool latency) plays every task once per
variant, variants back to back on each task so machine drift hits them alike.
`learned` is what `learned` means for a workload no policy was trained on
(the novelty rule, see docs/results.md): add it to `--variants` to see it as
its own row; by construction it plays as `novelty` does. Rows: mean
and std over tasks of success, LLM calls, tool calls executed and answered
from the bank, prompt and completion tokens, wall time, entries admitted and
entries read by another team, with the ratios to `none` (and admitted to
`all`). Prints the tables, writes JSON (resumable: `--resume` keeps finished
runs) and a chart.
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

from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from teammind.rl.checkpoint import atomic_write_text  # noqa: E402
from teammind.rl.plots import _figure, save_figure  # noqa: E402

VARIANTS = ("none", "all", "novelty")
METRICS = ("success", "llm_calls", "tool_calls", "tool_calls_shared", "prompt_tokens", "completion_tokens", "wall_s", "admitted",
           "read_by_other")
RATIOS = ("llm_calls", "tool_calls", "wall_s", "prompt_tokens")
COUNTRIES_TASKS = "teammind.suites.countries.tasks:load_tasks:split=test,n={n}"
WORKLOADS = {
    "llm": {"countries": ("teammind.suites.countries.team:react_team", COUNTRIES_TASKS)},
    "scripted": {"countries": ("teammind.suites.countries.team:scripted_team", COUNTRIES_TASKS),
                 "chain_sum": ("teammind.suites.reasoning_gym.team:scripted_team",
                               "teammind.suites.reasoning_gym.tasks:load_tasks:dataset=chain_sum,seed=1000,n={n}")},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--teams-kind", choices=("llm", "scripted"), default="llm", help="LLM ReAct teams (default) or the scripted teams")
    p.add_argument("--endpoints", default="embedded,embedded:gemma3", help="LLM endpoints, comma-separated (default: both embedded models)")
    p.add_argument("--tasks", type=int, default=20, help="tasks per workload (default 20)")
    p.add_argument("--latencies", default="0,1", help="seconds added to every tool call, comma-separated (default 0,1)")
    p.add_argument("--teams", type=int, default=3, help="parallel teams K (default 3)")
    p.add_argument("--variants", default=",".join(VARIANTS), help=f"admission variants (default {','.join(VARIANTS)})")
    p.add_argument("--out", type=Path, default=None, help="JSON output (default bench/results/runtime_<kind>.json)")
    p.add_argument("--resume", action="store_true", help="keep the runs an earlier, interrupted invocation wrote to --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    args.out = args.out or ROOT / "bench" / "results" / f"runtime_{args.teams_kind}.json"
    return args


def cells(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every (workload, endpoint, latency) cell of the grid."""
    latencies = [float(x) for x in args.latencies.split(",") if x.strip()]
    endpoints = [e.strip() for e in args.endpoints.split(",") if e.strip()] if args.teams_kind == "llm" else ["-"]
    return [{"workload": w, "endpoint": e, "latency_s": lat, "team": team, "tasks": tasks.format(n=args.tasks)}
            for w, (team, tasks) in WORKLOADS[args.teams_kind].items() for e in endpoints for lat in latencies]


def team_spec(cell: dict[str, Any]) -> str:
    options = [f"latency_s={cell['latency_s']:g}"] + ([f"llm={cell['endpoint']}"] if cell["endpoint"] != "-" else [])
    return f"{cell['team']}:{','.join(options)}"


def cell_key(cell: dict[str, Any]) -> str:
    return f"{cell['workload']}|{cell['endpoint']}|{cell['latency_s']:g}"


def row(variant: str, summaries: list[dict[str, Any]], none: dict[str, float] | None, every: dict[str, float] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"variant": variant, "tasks": len(summaries)}
    for m in METRICS:
        values = [float(s[m] or 0.0) for s in summaries]
        out[m] = round(statistics.fmean(values), 4)
        out[f"{m}_std"] = round(statistics.pstdev(values), 4) if len(values) > 1 else 0.0
    for m in RATIOS:
        out[f"{m}_ratio_to_none"] = round(out[m] / none[m], 4) if none and none[m] else None
    out["admitted_ratio_to_all"] = round(out["admitted"] / every["admitted"], 4) if every and every["admitted"] else None
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from teammind import MemoryBank, ParallelTeams
    from teammind.suites.registry import load_tasks, team_factory

    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    grid = cells(args)
    done: dict[str, list[dict[str, Any]]] = {}
    if args.resume and args.out.is_file():
        done = json.loads(args.out.read_text()).get("runs", {})
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="teammind-runtime-") as folder, MemoryBank(Path(folder) / "bank") as bank, \
            tqdm(total=len(grid) * args.tasks * len(variants), desc="runs", unit="run", disable=True if args.quiet else None) as bar:
        bank.embed(["warm-up"])  # the embedder loads on first use: not inside the first memory variant's wall time
        for cell in grid:
            key = cell_key(cell)
            tasks = load_tasks(tasks=cell["tasks"])
            make_team = team_factory(team_spec(cell))
            teams = {v: ParallelTeams(make_team, k=args.teams, bank=bank if v != "none" else None, admission=v, aggregator="first",
                                      recursion_limit=20) for v in variants}
            runs = done.setdefault(key, [])
            finished = {(r["task_id"], r["variant"]) for r in runs}
            for task in tasks:
                for variant in variants:
                    if (task.id, variant) not in finished:
                        summary = teams[variant].run(task).summary
                        runs.append({"variant": variant, **{k: summary.get(k) for k in ("task_id", *METRICS, "answer", "answer_team")}})
                        write(args, grid, variants, done, started, partial=True)
                    bar.update()
    report = write(args, grid, variants, done, started, partial=False)
    print_tables(report)
    print(f"wrote {args.out} and {plot(report, args.out.with_suffix('.png'))}")
    return 0


def write(args: argparse.Namespace, grid: list[dict[str, Any]], variants: list[str], done: dict[str, list[dict[str, Any]]], started: float,
          *, partial: bool) -> dict[str, Any]:
    """The report so far, written atomically after every run (an interrupted grid resumes with --resume)."""
    tables = {}
    for cell in grid:
        runs = done.get(cell_key(cell), [])
        by_variant = {v: [r for r in runs if r["variant"] == v] for v in variants}
        if not all(by_variant.values()):
            continue
        none = row("none", by_variant["none"], None, None) if "none" in by_variant else None
        every = row("all", by_variant["all"], None, None) if "all" in by_variant else None
        tables[cell_key(cell)] = {**cell, "rows": [row(v, by_variant[v], none, every) for v in variants]}
    report = {
        "teams_kind": args.teams_kind, "teams": args.teams, "tasks_per_workload": args.tasks, "variants": variants,
        "learned_is": "the novelty rule (no policy trained for this workload; docs/results.md)", "cells": tables, "runs": done,
        "partial": partial, "total_s": round(time.perf_counter() - started, 1),
        "command": "python bench/runtime_experiment.py " + " ".join(sys.argv[1:]),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(report, indent=2))
    return report


def print_tables(report: dict[str, Any]) -> None:
    from rich.table import Table

    from teammind.console import wide_console

    console = wide_console()
    for key, cell in report["cells"].items():
        title = f"{cell['workload']}, {cell['endpoint']}, tool latency {cell['latency_s']:g} s, K={report['teams']}, {report['tasks_per_workload']} tasks"
        table = Table(title=title)
        for col in ("variant", *METRICS, "LLM calls / none", "wall / none", "admitted / all"):
            table.add_column(col, justify="left" if col == "variant" else "right")
        for r in cell["rows"]:
            ratios = (r["llm_calls_ratio_to_none"], r["wall_s_ratio_to_none"], r["admitted_ratio_to_all"])
            table.add_row(r["variant"], *(f"{r[m]:.2f}" for m in METRICS), *("-" if x is None else f"x{x:.2f}" for x in ratios))
        console.print(table)


def plot(report: dict[str, Any], path: Path) -> Path:
    """Per cell: wall time and LLM calls (or tool calls) of each variant, relative to none."""
    keys = list(report["cells"])
    fig, ax = _figure(1, 2, (12, 4))
    width = 0.8 / max(1, len(report["variants"]))
    for j, metric in enumerate(("wall_s", "llm_calls" if report["teams_kind"] == "llm" else "tool_calls")):
        for i, variant in enumerate(report["variants"]):
            values = [next(r[f"{metric}_ratio_to_none"] or 0.0 for r in report["cells"][k]["rows"] if r["variant"] == variant) for k in keys]
            ax[0][j].bar([x + i * width for x in range(len(keys))], values, width=width, label=variant)
        ax[0][j].axhline(1.0, color="grey", linewidth=0.8)
        ax[0][j].set_xticks([x + 0.4 - width / 2 for x in range(len(keys))], [k.replace("|", "\n") for k in keys], fontsize=7)
        ax[0][j].set(title=f"{metric} / none", ylim=(0, None))
        ax[0][j].legend(fontsize=8)
    return save_figure(fig, path)


if __name__ == "__main__":
    sys.exit(main())

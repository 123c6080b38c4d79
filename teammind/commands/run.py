"""`teammind run`: one task, K parallel teams over one shared bank, with live progress.

    teammind run --env twx:coin --seed 3 --teams 3 --admission novelty --agent scripted
    teammind run --env twx:cookingworld --agent llm --llm embedded --json out.json

Ends with a summary table; `--json PATH` writes the summary as one JSON object
whose keys are documented in the README (success, env_steps, llm_calls,
prompt_tokens, completion_tokens, wall_s, admitted, read_by_other, ...).
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from dataclasses import replace
from typing import Any

from teammind.commands.flags import errors_named_by_flag, spec_from_flags
from teammind.memory import MemoryBankError
from teammind.memory.files import atomic_write_text
from teammind.specs import ADMISSION_VOCABULARY, AGENTS, AGGREGATORS, RETRIEVALS, TEAM_SHAPES, RunSpec

D = RunSpec()

def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """Flags shared by `run` and `eval`; defaults are RunSpec's."""
    p.add_argument("--env", default=D.env, help="environment spec: twx:<game>, rg:<dataset>, sciworld:<task>, or module:factory[:key=value,...]")
    p.add_argument("--teams", type=int, default=D.teams, help=f"parallel teams K (default {D.teams})")
    p.add_argument("--max-steps", type=int, default=D.max_steps, help=f"step limit per team (default {D.max_steps})")
    p.add_argument("--admission", default=D.admission,
                   help=f"{ADMISSION_VOCABULARY} (default {D.admission}; learned without a path: the policy trained for the environment "
                        "(twx:coin, twx:twc), elsewhere the novelty rule, which beat the transfer-trained policy on held-out workloads)")
    p.add_argument("--retrieval", default=D.retrieval, choices=RETRIEVALS, help=f"similarity only, or Q-reranked (default {D.retrieval})")
    p.add_argument("--agent", default=D.agent, choices=AGENTS, help="scripted explorer or LLM agent")
    p.add_argument("--llm", default=D.llm, help="embedded (local llama.cpp server) or an OpenAI-compatible base URL")
    p.add_argument("--model", default=D.model, help="model name for --llm URL (default: the server's first model)")
    p.add_argument("--api-key", default=D.api_key, help="key for --llm URL (default: $TEAMMIND_LLM_API_KEY or $OPENAI_API_KEY)")
    p.add_argument("--aggregator", default=D.aggregator, choices=AGGREGATORS,
                   help="first successful team (stops early), majority, best score, or an LLM judge (uses --llm)")
    p.add_argument("--team", default=D.team, metavar="|".join(TEAM_SHAPES) + "|module:factory",
                   help="one acting agent per team, an LLM orchestrator setting subgoals for the agent, or your own LangGraph "
                        "team: module:factory[:key=value,...] with factory(memory, **options) -> graph (modules resolve from "
                        "the current folder); it works on --task or --tasks instead of --env")
    p.add_argument("--bank", default=D.bank, help="bank folder (default: a temporary one; 'memory' = in memory)")
    p.add_argument("--experiences", default=D.experiences, metavar="DIR",
                   help="experience store folder: retrieve past episodes at the start (MemRL), write this one back at the end, "
                        "with its score-raising actions as lessons")


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("run", help="run one task with K parallel teams over a shared bank")
    add_run_arguments(p)
    p.add_argument("--seed", type=int, default=D.seed, help="decides the world; the same for every team")
    p.add_argument("--run-id", default=D.run_id, help="names the run (and its checkpoint thread); default random")
    p.add_argument("--checkpoint", default=D.checkpoint, help="SQLite checkpoint file; with --resume continues --run-id")
    p.add_argument("--resume", action="store_true", help="resume --run-id from --checkpoint")
    p.add_argument("--trace", default=D.trace, help="write the step trace (JSONL) here")
    p.add_argument("--task", default=D.task, help="with --team module:factory: the question your teams work on")
    p.add_argument("--tasks", default=D.tasks, metavar="module:loader",
                   help="with --team module:factory: a loader returning tasks, e.g. teammind.suites.reasoning_gym.tasks:load_tasks:dataset=chain_sum,n=10")
    p.add_argument("--grader", default=D.grader, metavar="module:function",
                   help="grades an answer (-> float or bool; 1 passes) for tasks without a grader of their own")
    p.add_argument("--spec", default=None, metavar="FILE", help="run this spec.json (flags that differ from their defaults override it)")
    p.add_argument("--json", default=None, help="write the summary as one JSON object here")
    p.add_argument("--quiet", action="store_true", help="no live progress")
    p.set_defaults(func=cmd_run)


def spec_from_args(args: argparse.Namespace) -> RunSpec:
    """The RunSpec the flags describe."""
    values = {name: getattr(args, name) for name in RunSpec.defaults() if hasattr(args, name)}
    return spec_from_flags(RunSpec, values, args.spec)


def cmd_run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    from teammind.api import run
    from teammind.console import summary_table, wide_console

    console = Console(stderr=True)
    spec = spec_from_args(args)
    if spec.run_id is None:
        spec = replace(spec, run_id=uuid.uuid4().hex[:12])

    def progress_table(teams: dict[str, Any]) -> Table:
        t = Table(title=f"{spec.env} seed {spec.seed} - run {spec.run_id}")
        for c in ("team", "steps", "score", "admitted", "reads", "status"):
            t.add_column(c)
        for name in sorted(teams):
            s = teams[name]
            status = "error: " + s["error"][:40] if s.get("error") else ("success" if s["success"] else ("done" if s["done"] else "running"))
            t.add_row(name, str(s["steps"]), f"{s['score']:.2f}", str(s["admitted"]), str(len(s["reads"])), status)
        return t

    if spec.user_team:
        with errors_named_by_flag(RunSpec):
            summary = run(spec)
        print_user_team_summary(spec, summary)
        if args.json:
            atomic_write_text(args.json, json.dumps(summary, indent=2, default=str))
        return 0
    with errors_named_by_flag(RunSpec):
        if args.quiet or not console.is_terminal:
            summary = run(spec)
        else:
            with Live(console=console, refresh_per_second=8) as live:
                summary = run(spec, on_update=lambda v: live.update(progress_table(v["teams"])) if v.get("teams") else None)
    info = summary.get("experience_update")
    if info:
        console.print(f"experiences: used {info['used']} (and {info['lessons_used']} lessons), Q updated with reward "
                      f"{info['reward']:+.0f}, wrote {info['written']} and {info['lessons_written']} new lessons")
    wide_console().print(summary_table([{"variant": summary["admission"], **summary}], f"{spec.env} seed {spec.seed}"))
    if args.json:
        atomic_write_text(args.json, json.dumps(summary, indent=2))
    return 0


USER_TEAM_COLUMNS = ("task", "success", "answer", "tool_calls", "tool_calls_shared", "llm_calls", "prompt_tokens", "wall_s", "admitted")


def print_user_team_summary(spec: RunSpec, summary: dict[str, Any]) -> None:
    """One row per task (your own team), then the totals of a task list."""
    from rich.markup import escape
    from rich.table import Table

    from teammind.console import wide_console

    runs = summary.get("runs", [summary])
    table = Table(title=f"{spec.team} x {spec.teams}, admission {spec.admission}")
    for c in USER_TEAM_COLUMNS:
        table.add_column(c, justify="left" if c in ("task", "answer") else "right")
    for r in runs:
        cells = {**r, "task": escape(r.get("task_id") or r["task"][:40]), "answer": escape((r.get("answer") or "")[:30]),
                 "success": "-" if r["success"] is None else f"{r['success']:.0f}"}
        table.add_row(*(f"{cells[c]:.2f}" if isinstance(cells.get(c), float) else str(cells.get(c, "")) for c in USER_TEAM_COLUMNS))
    if "runs" in summary:
        success = "-" if summary["success"] is None else f"{summary['success']:.2f}"
        table.add_row("total", success, "", *(f"{summary[c]:g}" for c in USER_TEAM_COLUMNS[3:]), style="bold")
    wide_console().print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="teammind-run")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(["run", *(argv if argv is not None else sys.argv[1:])])
    try:
        return int(args.func(args))
    except (MemoryBankError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

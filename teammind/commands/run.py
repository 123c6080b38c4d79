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
import tempfile
import uuid
from pathlib import Path
from typing import Any

from teammind.memory import AdmissionPolicy, AdmitAll, InvalidFieldError, MemoryBank, MemoryBankError, NoveltyThreshold, RetrievalConfig
from teammind.memory.files import atomic_write_text

ADMISSION_CHOICES = "none|all|novelty[:THRESHOLD]|learned[:PATH]"


def parse_admission(spec: str, env: str | None = None) -> AdmissionPolicy | None:
    """CLI admission spec -> policy; None means memory off ('none')."""
    name, _, arg = spec.partition(":")
    if name == "none":
        return None
    if name == "all":
        return AdmitAll()
    if name == "novelty":
        return NoveltyThreshold(float(arg)) if arg else NoveltyThreshold()
    if name == "learned":
        from teammind.memory import LearnedAdmission

        from teammind.suites.registry import shipped_admission_path

        path = arg or shipped_admission_path(env)
        if not Path(path).is_file():
            raise InvalidFieldError("--admission", f"no admission checkpoint at {path}", "pass learned:PATH to a .safetensors admission policy")
        return LearnedAdmission.load(path)
    raise InvalidFieldError("--admission", f"unknown value {spec!r}", f"use one of {ADMISSION_CHOICES}")


def parse_retrieval(spec: str) -> RetrievalConfig:
    if spec == "similarity":
        return RetrievalConfig(lam=0.0)
    if spec == "q":
        return RetrievalConfig()
    raise InvalidFieldError("--retrieval", f"unknown value {spec!r}", "use similarity or q")


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """Flags shared by `run` (and later `eval`)."""
    p.add_argument("--env", default="twx:coin", help="environment spec: twx:<game>, rg:<dataset>, sciworld:<task>, or module:factory")
    p.add_argument("--teams", type=int, default=3, help="parallel teams K (default 3)")
    p.add_argument("--max-steps", type=int, default=30, help="step limit per team (default 30)")
    p.add_argument("--admission", default="novelty", help=f"{ADMISSION_CHOICES} (default novelty; learned without a path: the shipped policy, twc's own on twx:twc)")
    p.add_argument("--retrieval", default="q", choices=("similarity", "q"), help="similarity only, or Q-reranked (default q)")
    p.add_argument("--agent", default="scripted", choices=("scripted", "llm"), help="scripted explorer or LLM agent")
    p.add_argument("--llm", default="embedded", help="embedded (local llama.cpp server) or an OpenAI-compatible base URL")
    p.add_argument("--model", default=None, help="model name for --llm URL (default: the server's first model)")
    p.add_argument("--api-key", default=None, help="key for --llm URL (default: $TEAMMIND_LLM_API_KEY or $OPENAI_API_KEY)")
    p.add_argument("--aggregator", default="first", choices=("first", "majority", "best", "llm"),
                   help="first successful team (stops early), majority, best score, or an LLM judge (uses --llm)")
    p.add_argument("--team", default="single", choices=("single", "orchestrator"),
                   help="one acting agent per team, or an LLM orchestrator setting subgoals for the agent")
    p.add_argument("--bank", default=None, help="bank folder (default: a temporary one; 'memory' = in memory)")
    p.add_argument("--experiences", default=None, metavar="DIR",
                   help="experience store folder: retrieve past episodes at the start (MemRL), write this one back at the end, "
                        "with its score-raising actions as lessons")


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("run", help="run one task with K parallel teams over a shared bank")
    add_run_arguments(p)
    p.add_argument("--seed", type=int, default=0, help="decides the world; the same for every team")
    p.add_argument("--run-id", default=None, help="names the run (and its checkpoint thread); default random")
    p.add_argument("--checkpoint", default=None, help="SQLite checkpoint file; with --resume continues --run-id")
    p.add_argument("--resume", action="store_true", help="resume --run-id from --checkpoint")
    p.add_argument("--trace", default=None, help="write the step trace (JSONL) here")
    p.add_argument("--json", default=None, help="write the summary as one JSON object here")
    p.add_argument("--quiet", action="store_true", help="no live progress")
    p.set_defaults(func=cmd_run)


def make_llm_client(args: argparse.Namespace) -> Any:
    from teammind.agents.llm import LLMClient
    from teammind.agents.llm_server import ensure_llm

    return LLMClient(ensure_llm(args.llm, model=args.model, api_key=getattr(args, "api_key", None)))


def make_agent_factory(args: argparse.Namespace, env_spec: str) -> Any:
    worker = _make_worker_factory(args, env_spec)
    if getattr(args, "team", "single") == "single":
        return worker
    from teammind.agents.orchestrator import OrchestratorWorkerAgent

    planner = make_llm_client(args)
    return lambda team: OrchestratorWorkerAgent(planner, worker(team))


def _make_worker_factory(args: argparse.Namespace, env_spec: str) -> Any:
    if args.agent == "scripted":
        from teammind.suites import scripted_agent_factory

        try:
            return scripted_agent_factory(env_spec)
        except ValueError as err:
            raise InvalidFieldError("--agent", str(err), "use --agent llm, or an environment with a scripted agent") from err
    from teammind.agents.llm_agent import LLMAgent

    client = make_llm_client(args)
    return lambda team: LLMAgent(client)


def open_bank(spec: str | None, policy: AdmissionPolicy | None, retrieval: RetrievalConfig) -> tuple[MemoryBank | None, Any]:
    if policy is None:
        return None, None
    if spec == "memory":
        return MemoryBank.ephemeral(admission=policy, retrieval=retrieval), None
    if spec:
        return MemoryBank(spec, admission=policy, retrieval=retrieval), None
    tmp = tempfile.TemporaryDirectory(prefix="teammind-bank-")
    return MemoryBank(tmp.name, admission=policy, retrieval=retrieval), tmp


def build_runtime(args: argparse.Namespace, seed: int, run_id: str | None = None, trace_path: str | None = None, bank: MemoryBank | None = None) -> Any:
    from teammind.graphs.config import RunConfig
    from teammind.graphs.runtime import RunRuntime
    from teammind.graphs.trace import TraceWriter
    from teammind.suites import make_env_factory

    policy = parse_admission(args.admission, args.env)
    retrieval = parse_retrieval(args.retrieval)
    experience_bank = getattr(args, "experience_bank", None)
    config = RunConfig(
        seed=seed, teams=args.teams, max_steps=args.max_steps, memory=policy is not None,
        admission=policy or AdmitAll(), retrieval=retrieval, aggregator=args.aggregator,
        experience_namespace=experience_namespace(args.env) if experience_bank is not None else None,
        experience_retrieval=RetrievalConfig(k1=10, k2=3, lam=retrieval.lam),
    )
    env_factory = make_env_factory(args.env)
    return RunRuntime(
        env_factory, make_agent_factory(args, args.env), config, bank=bank, run_id=run_id,
        task_name=args.env.replace(":", "-"), trace=TraceWriter(trace_path),
        aggregator_llm=make_llm_client(args) if args.aggregator == "llm" else None,
        experience_bank=experience_bank, utility=shipped_utility(experience_bank) if experience_bank and args.retrieval == "q" else None,
    )


def experience_namespace(env: str) -> tuple[str, ...]:
    """Experiences of one environment spec share a namespace across runs."""
    return ("teammind", "experience", env.replace(":", "-"))


def shipped_utility(bank: MemoryBank) -> Any:
    """The shipped Q-network blended with each experience's own Q (None if no network is shipped)."""
    from teammind.suites.registry import shipped_qnet_path
    from teammind.rl.q_learner import QUtility, load_qnet

    path = shipped_qnet_path()
    return QUtility(load_qnet(path), bank) if path.is_file() else None


def wide_console() -> Any:
    """A console that does not squeeze tables when output goes to a file or pipe."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


def summary_table(rows: list[dict[str, Any]], title: str) -> Any:
    from rich.table import Table

    table = Table(title=title)
    cols = ("variant", "success", "env_steps", "llm_calls", "prompt_tokens", "wall_s", "admitted", "read_by_other")
    for c in cols:
        table.add_column(c, justify="left" if c == "variant" else "right")
    for r in rows:
        table.add_row(*(f"{r[c]:.2f}" if isinstance(r.get(c), float) else str(r.get(c, "")) for c in cols))
    return table


def cmd_run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    from teammind.graphs.parallel import run_parallel_teams

    console = Console(stderr=True)
    policy = parse_admission(args.admission, args.env)
    bank, tmp = open_bank(args.bank, policy, parse_retrieval(args.retrieval))
    run_id = args.run_id or uuid.uuid4().hex[:12]
    if args.resume and not (args.checkpoint and args.run_id):
        raise InvalidFieldError("--resume", "needs --checkpoint and --run-id", "pass the checkpoint file and the run id to continue")
    args.experience_bank = MemoryBank(args.experiences) if args.experiences else None
    runtime = build_runtime(args, args.seed, run_id, args.trace, bank)

    def progress_table(teams: dict[str, Any]) -> Table:
        t = Table(title=f"{args.env} seed {args.seed} - run {run_id}")
        for c in ("team", "steps", "score", "admitted", "reads", "status"):
            t.add_column(c)
        for name in sorted(teams):
            s = teams[name]
            status = "error: " + s["error"][:40] if s.get("error") else ("success" if s["success"] else ("done" if s["done"] else "running"))
            t.add_row(name, str(s["steps"]), f"{s['score']:.2f}", str(s["admitted"]), str(len(s["reads"])), status)
        return t

    try:
        if args.quiet or not console.is_terminal:
            summary = run_parallel_teams(runtime, checkpoint_path=args.checkpoint, resume=args.resume)
        else:
            with Live(console=console, refresh_per_second=8) as live:
                summary = run_parallel_teams(
                    runtime, checkpoint_path=args.checkpoint, resume=args.resume,
                    on_update=lambda v: live.update(progress_table(v["teams"])) if v.get("teams") else None,
                )
        if args.experience_bank is not None:
            from teammind.rl.q_learner import learn_from_episode

            info = learn_from_episode(args.experience_bank, experience_namespace(args.env), summary, lessons=True)
            console.print(f"experiences: used {len(info['used'])} (and {len(info['lessons_used'])} lessons), Q updated with reward "
                          f"{info['reward']:+.0f}, wrote {info['written']} and {len(info['lessons_written'])} new lessons")
    finally:
        if tmp is not None:
            tmp.cleanup()
        if args.experience_bank is not None:
            args.experience_bank.close()
    wide_console().print(summary_table([{"variant": summary["admission"], **summary}], f"{args.env} seed {args.seed}"))
    if args.json:
        atomic_write_text(args.json, json.dumps(summary, indent=2))
    return 0


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

"""The three verbs of the library: `run` one task with K teams, `evaluate` variants side by side, `train` the learned parts.

Each takes a typed spec (`teammind.specs`) and returns plain JSON-ready data:
exactly what `teammind run|eval|train --json` writes, because the CLI calls
these functions.
"""

from __future__ import annotations

import os
import platform
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from teammind.assemble import build_runtime, experience_namespace, make_chat_model, make_llm_client, open_bank, parse_admission, parse_retrieval
from teammind.memory import MemoryBank
from teammind.memory.files import atomic_write_text
from teammind.specs import EvalSpec, RunSpec, TrainSpec

SPEC_FILE = "spec.json"


def run(spec: RunSpec, *, on_update: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Play `spec`'s task with K parallel teams over one shared bank; returns the run summary.

    `on_update` receives the live state after every step (the CLI's progress table).
    With `spec.experiences`, past episodes are read at the start and this one is
    written back at the end (its Q update and lessons are under "experience_update").
    """
    if spec.user_team:
        return run_user_team(spec)
    from teammind.graphs.parallel import run_parallel_teams

    policy = parse_admission(spec.admission, spec.env)
    bank, tmp = open_bank(spec.bank, policy, parse_retrieval(spec.retrieval))
    experience_bank = MemoryBank(spec.experiences) if spec.experiences else None
    try:
        runtime = build_runtime(spec, bank=bank, experience_bank=experience_bank, run_id=spec.run_id or uuid.uuid4().hex[:12])
        summary = run_parallel_teams(runtime, checkpoint_path=spec.checkpoint, resume=spec.resume, on_update=on_update)
        if experience_bank is not None:
            from teammind.rl.q_learner import learn_from_episode

            info = learn_from_episode(experience_bank, experience_namespace(spec.env), summary, lessons=True)
            summary["experience_update"] = {
                "used": len(info["used"]), "lessons_used": len(info["lessons_used"]), "reward": info["reward"],
                "written": info["written"], "lessons_written": len(info["lessons_written"]),
            }
    finally:
        if tmp is not None:
            tmp.cleanup()
        if experience_bank is not None:
            experience_bank.close()
    return summary


USER_TEAM_TOTALS = ("tool_calls", "tool_calls_shared", "llm_calls", "prompt_tokens", "completion_tokens", "wall_s", "admitted", "proposed",
                    "read_by_other")


def run_user_team(spec: RunSpec) -> dict[str, Any]:
    """Your own team (spec.team = module:factory) as K parallel teams on the spec's task(s).

    One task returns its run summary; a task list returns {"runs": [...]} with
    the success rate and the summed costs over them.
    """
    from teammind.assemble import user_tasks, user_team_factory
    from teammind.teams import ParallelTeams

    tasks = user_tasks(spec)
    policy = parse_admission(spec.admission)
    bank, tmp = open_bank(spec.bank, policy, parse_retrieval(spec.retrieval))
    try:
        teams = ParallelTeams(user_team_factory(spec), k=spec.teams, bank=bank, admission=policy, aggregator=spec.aggregator,
                              judge=make_chat_model(spec.llm, spec.model, spec.api_key) if spec.aggregator == "llm" else None,
                              retrieval=parse_retrieval(spec.retrieval), max_steps=spec.max_steps, trace=spec.trace)
        summaries = [teams.run(task).summary for task in tasks]
    finally:
        if bank is not None:
            bank.close()
        if tmp is not None:
            tmp.cleanup()
    if spec.task is not None:
        return summaries[0]
    graded = [s["success"] for s in summaries if s["success"] is not None]
    return {"runs": summaries, "tasks": len(summaries), "success": sum(graded) / len(graded) if graded else None,
            "admission": summaries[0]["admission"], **{k: round(sum(s[k] for s in summaries), 3) for k in USER_TEAM_TOTALS}}


def evaluate(spec: EvalSpec, *, llm: Any = None, quiet: bool = True) -> dict[str, Any]:
    """Every admission variant (and retrieval variant, with a stream) on the same seeds, in one run.

    Returns {"rows", "retrieval_rows", "per_seed", "config"}; with `spec.out`, also
    writes the run folder (spec.json, eval.json, per_seed.jsonl, charts). `llm`
    overrides the client built from `spec.llm` for agent llm.
    """
    from teammind.evaluation import execute, resolve_checkpoint, resolve_qnet, write_run_folder
    from teammind.rl.evaluate import EvalConfig, load_admission_weights, load_qnet_weights

    config = EvalConfig(env=spec.env, seeds=spec.seeds, teams=spec.teams, max_steps=spec.max_steps, agent=spec.agent,
                        variants=spec.variants, retrieval_variants=spec.retrieval_variants, epochs=spec.epochs,
                        stream_admission=spec.stream_admission, stream_tasks=spec.stream_tasks,
                        run_name=spec.run_name or f"eval-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}",
                        failure_reward=float(spec.failure_reward), lessons_from=spec.lessons_from, team=spec.team, tasks=spec.tasks,
                        grader=spec.grader)
    from teammind.rl.rollout import workload_name

    checkpoint = resolve_checkpoint(spec.checkpoint, config.env if spec.team is None else None) if config.needs_admission_weights else None
    if checkpoint is not None:
        from teammind.assemble import warn_if_off_environment

        warn_if_off_environment(checkpoint, workload_name(config))
    admission_weights = load_admission_weights(checkpoint, "checkpoint") if checkpoint else None
    qnet = resolve_qnet(spec.qnet) if "q" in config.retrieval_variants else None
    qnet_weights = load_qnet_weights(qnet, "qnet") if qnet else None
    out = Path(spec.out).expanduser() if spec.out else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / SPEC_FILE, spec.to_json())
    started = time.perf_counter()
    if spec.agent == "llm" and llm is None:
        llm = make_llm_client(spec.llm, spec.model, spec.api_key)
    report = execute(config, workers=spec.workers, llm=llm, admission_weights=admission_weights, qnet_weights=qnet_weights,
                     out=out, quiet=quiet)
    report.config.update({
        "checkpoint": str(checkpoint) if checkpoint else None, "qnet": str(qnet) if qnet else None, "workers": spec.workers,
        **({"llm": spec.llm, "model": spec.model} if spec.agent == "llm" else {}),
        "experience_store": str(out / "experience") if out and (config.retrieval_variants or config.lessons_from) else None,
        "total_s": round(time.perf_counter() - started, 2),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    })
    data: dict[str, Any] = report.to_dict()
    if out is not None:
        write_run_folder(out, data)
    return data


def train(spec: TrainSpec, *, progress: bool = False) -> dict[str, Any]:
    """Train the admission controller (and experience Q-values) into `spec.out`; resumable after a crash.

    Returns {"last": the last metrics line, "evals": every held-out evaluation,
    "selected": the selected policy's evaluation or None, "files": paths}.
    """
    from teammind.rl.train import Training

    out = Path(spec.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / SPEC_FILE, spec.to_json())
    training = Training(spec.config, out, workers=spec.workers, ray_address=spec.ray_address, resume=spec.resume, progress=progress)
    last = training.run()
    evals = [m for m in training.metrics() if m.get("type") == "eval"]
    files = {"policy": str(out / "admission.safetensors"), "qnet": str(out / "qnet.safetensors"), "curves": str(out / "curves.png"),
             "metrics": str(out / "metrics.jsonl")}
    return {"last": last, "evals": evals, "selected": training.best, "files": files}

"""One suite, every variant, side by side: the evaluation table behind docs/results.md.

A suite is a list of cells; a cell is one environment played by one kind of
agent (`scripted` or `llm`). Each cell runs `teammind eval`'s two comparisons
on the same seeds in one run (rl/evaluate.py):

* admission: no memory (`none`), `all`, `novelty` threshold, `learned` (the
  shipped TextWorldExpress policy; on other suites that is a transfer test);
* retrieval: a task stream over `epochs` passes, `similarity` only vs `q`
  (Q-reranked; per-entry Q plus, where it was trained, the shipped Q-network).

Cells and their sizes (seeds, teams, step budget, epochs) are the presets in
`SUITES`; each preset says why its sizes are what they are. Scripted cells
use 20 seeds (the easy/hard arc stream 40), LLM cells 5 (the embedded SmolLM2 by default, any
OpenAI-compatible endpoint with `--llm URL`).

    python bench/suite.py twx                    # TextWorldExpress: coin, mapreader, cookingworld
    python bench/suite.py rg                     # reasoning-gym: arc_1d, two streams (scripted), chain_sum + gsm_symbolic (LLM)
    python bench/suite.py sciworld               # ScienceWorld
    python bench/suite.py rg --agents scripted   # only the scripted cells
    python bench/suite.py twx --quick            # 2 seeds, 1 epoch pair: a smoke run

Writes OUT/suite.json ({"suite", "rows", "retrieval_rows", "cells", "commands", "machine"}:
every row carries `env`, `agent`, `variant`, `seeds`, each metric's mean and
`<metric>_std`, and the ratios to no memory), OUT/<cell>/ (eval.json,
per_seed.jsonl, admission.png, retrieval.png), OUT/suite.md (the tables in
Markdown) and OUT/suite.png (bars per
variant for every cell). `teammind report OUT` renders the folder as one page.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from teammind.memory.files import atomic_write_text  # noqa: E402


@dataclass(frozen=True)
class Cell:
    """One environment x agent kind of a suite, with the sizes it is played at."""

    env: str
    agent: str  # "scripted" | "llm"
    seeds: tuple[int, ...]
    teams: int
    max_steps: int
    epochs: int  # passes of the retrieval stream
    stream_tasks: str = "repeat"  # "fresh": every stream epoch plays new seeds (rl/evaluate.py EvalConfig.stream_seeds)
    qnet: bool = False  # rank with the shipped Q-network (trained on TextWorldExpress) as well as per-entry Q
    why: str = ""
    label: str = ""  # a short folder name when the spec is long

    @property
    def name(self) -> str:
        return f"{self.label or self.env.replace(':', '-').replace(',', '+')}-{self.agent}"


ARC_FAMILIES = tuple(f"move_{k}pix_solid_{d}" for k in (1, 2, 3, 4) for d in ("left", "right")) + ("gravity_left", "gravity_right")
# The easy/hard stream: easy families' rules are the solver's first three hypotheses (found within 3 steps even
# after a wrong hint costs the teams their first round); the hard families share the rule 5th in the library,
# found in 3 steps only when no hint or its own rule's hint is followed. Half the puzzles are hard (weights 4 x 6 : 6 x 4).
EASY_FAMILIES = ("move_1pix_solid_right", "move_1pix_colorful_right", "move_1pix_solid_left", "move_1pix_colorful_left",
                 "move_2pix_solid_right", "move_2pix_colorful_right")
HARD_FAMILIES = ("move_3pix_solid_right", "move_3pix_colorful_right", "move_3pix_solid_wrapped_right", "move_3pix_colorful_wrapped_right")
EASY_HARD_SPEC = ("rg:arc_1d:task_names=" + "|".join(EASY_FAMILIES + HARD_FAMILIES)
                  + ",task_weights=" + "|".join(["4"] * len(EASY_FAMILIES) + ["6"] * len(HARD_FAMILIES)))
TEST_SEEDS = tuple(range(100, 120))  # never used to train (1000..1999) or select (0..11) the shipped policy
LLM_SEEDS = tuple(range(100, 105))

SUITES: dict[str, tuple[Cell, ...]] = {
    "twx": (
        Cell("twx:coin", "scripted", TEST_SEEDS, 3, 30, 3, qnet=True,
             why="the shipped policy's own game and sizes (K=3, 30 steps); TWX is deterministic, so 3 stream epochs show all there is"),
        Cell("twx:mapreader", "scripted", TEST_SEEDS, 3, 30, 3, qnet=True, why="a second TWX game: the coin is far away, a map helps"),
        Cell("twx:cookingworld", "scripted", TEST_SEEDS, 3, 40, 3, qnet=True,
             why="the longest TWX game the scripted explorer solves (8-28 steps alone), hence 40 steps"),
        Cell("twx:twc", "scripted", TEST_SEEDS, 3, 120, 3, qnet=True,
             why="put misplaced things away, learning where each belongs by trying (a wrong put costs the put and "
                 "the take-back): shared trials are worth most here; 120 steps cover a solo team (28-87 steps)"),
        Cell("twx:coin", "llm", LLM_SEEDS, 2, 10, 2, qnet=True,
             why="SmolLM2 on 2 CPU cores takes ~1-3 s a call: 2 teams x 10 steps keeps a cell under ~20 min"),
    ),
    "rg": (
        Cell(f"rg:arc_1d:task_names={'|'.join(ARC_FAMILIES)}", "scripted", tuple(range(20)), 3, 4, 10, stream_tasks="fresh", label="rg-arc_1d-10families",
             why="10 look-alike arc_1d rule families; 4 steps per team do not cover the 43-hypothesis library, so shared "
                 "failures and transferred rules decide success; the stream brings new puzzles every epoch"),
        Cell(EASY_HARD_SPEC, "scripted", tuple(range(40)), 3, 3, 10, stream_tasks="fresh", label="rg-arc_1d-easy-hard",
             why="similar-looking experiences that differ in usefulness: every arc puzzle looks alike to the embedder, "
                 "easy puzzles are solved with any hint, hard ones only with their own rule's, so the store fills with "
                 "easy plans that mislead on hard puzzles; 40 seeds because 20 move one epoch's success by about 0.1"),
        Cell("rg:chain_sum:max_answers=3", "llm", tuple(range(5)), 2, 4, 2, stream_tasks="fresh", label="rg-chain_sum",
             why="sums of a few numbers, within reach of SmolLM2-135M; 3 answer attempts in 4 steps, so a team can "
                 "use a teammate's wrong answer (shared memory) before its own next try"),
        Cell("rg:gsm_symbolic:max_answers=3", "llm", tuple(range(5)), 2, 4, 2, stream_tasks="fresh", label="rg-gsm_symbolic",
             why="grade-school word problems from 100 templates; calculate + answer with 3 attempts in 4 steps"),
    ),
    "sciworld": (
        Cell("sciworld:find-animal", "scripted", tuple(range(20)), 3, 30, 3, stream_tasks="fresh",
             why="find, focus, move: rooms to explore (teams share what they saw) and names and rooms that transfer "
                 "between variations (experiences); fresh variations every epoch"),
        Cell("sciworld:find-animal", "llm", tuple(range(5)), 2, 8, 2, stream_tasks="fresh",
             why="SmolLM2 on 2 CPU cores; 8 steps per team keeps the cell near 10 minutes"),
    ),
}


def quick(cell: Cell) -> Cell:
    """A smoke-sized cell: 2 seeds, 2 epochs, short episodes."""
    return replace(cell, seeds=cell.seeds[:2], epochs=2, max_steps=min(cell.max_steps, 6))


def run_cell(cell: Cell, out: Path, *, llm: Any, workers: int, quiet: bool) -> dict[str, Any]:
    """Both comparisons of one cell; writes OUT/<cell>/ and returns its eval data."""
    from teammind.evaluation import execute, write_run_folder
    from teammind.suites.registry import shipped_admission_path, shipped_qnet_path
    from teammind.rl.evaluate import EvalConfig, load_admission_weights, load_qnet_weights

    config = EvalConfig(env=cell.env, seeds=cell.seeds, teams=cell.teams, max_steps=cell.max_steps, agent=cell.agent,
                        retrieval_variants=("similarity", "q"), epochs=cell.epochs, stream_tasks=cell.stream_tasks,
                        run_name=f"suite-{cell.name}-{time.strftime('%Y%m%d-%H%M%S')}")
    admission = load_admission_weights(shipped_admission_path(cell.env))
    qnet = load_qnet_weights(shipped_qnet_path()) if cell.qnet else None
    folder = out / cell.name
    started = time.perf_counter()
    report = execute(config, workers=workers if cell.agent == "scripted" else 0, llm=llm if cell.agent == "llm" else None,
                     admission_weights=admission, qnet_weights=qnet, out=folder, quiet=quiet)
    report.config.update({"cell": cell.name, "why": cell.why, "qnet": str(shipped_qnet_path()) if cell.qnet else None,
                          "total_s": round(time.perf_counter() - started, 2)})
    data = report.to_dict()
    write_run_folder(folder, data)
    return data


def tag_rows(rows: list[dict[str, Any]], cell: Cell) -> list[dict[str, Any]]:
    return [{"env": cell.env, "agent": cell.agent, "cell": cell.name, **r} for r in rows]


def plot_suite(path: Path, suite: str, rows: list[dict[str, Any]], retrieval_rows: list[dict[str, Any]]) -> None:
    """One row of panels per cell: success (or score), env steps, LLM calls per admission variant; the stream's curves."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from teammind.rl.plots import save_figure

    cells = list(dict.fromkeys(r["cell"] for r in rows))
    fig, axes = plt.subplots(len(cells), 4, figsize=(15, 3.2 * len(cells)), squeeze=False)
    for i, cell in enumerate(cells):
        mine = [r for r in rows if r["cell"] == cell]
        names = [r["variant"] for r in mine]
        first = ("score", "score (partial credit)") if mine[0]["env"].startswith("sciworld:") else ("success", "success")
        last = ("llm_calls", "LLM calls") if mine[0]["agent"] == "llm" else ("admitted", "entries admitted")
        for ax, (key, label) in zip(axes[i][:3], (first, ("env_steps", "env steps"), last)):
            ax.bar(names, [r[key] for r in mine], yerr=[r[f"{key}_std"] for r in mine], capsize=3, color="tab:blue", alpha=0.8)
            ax.set_title(f"{cell}: {label}", fontsize=8)
            if key in ("success", "score"):
                ax.set_ylim(0, 1.05)
        ax = axes[i][3]
        for r in (r for r in retrieval_rows if r["cell"] == cell):
            ax.errorbar(range(1, len(r["success_by_epoch"]) + 1), r["success_by_epoch"], yerr=r["success_by_epoch_std"],
                        marker="o", capsize=3, label=r["variant"])
        epochs = max((len(r["success_by_epoch"]) for r in retrieval_rows if r["cell"] == cell), default=1)
        ax.set_xticks(list(range(1, epochs + 1)))
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("stream epoch", fontsize=8)
        ax.set_title(f"{cell}: stream success", fontsize=8)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"suite {suite}: admission variants (bars, mean ±std over seeds) and retrieval stream (curves)", fontsize=10)
    save_figure(fig, path)


def print_table(suite: str, rows: list[dict[str, Any]], retrieval_rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    from teammind.console import wide_console

    def ms(r: dict[str, Any], k: str) -> str:
        return f"{r[k]:.2f} ±{r[f'{k}_std']:.2f}"

    def ratio(x: float | None) -> str:
        return "-" if x is None else f"x{x:.2f}"

    table = Table(title=f"suite {suite}: admission (mean ±std over seeds)")
    for c in ("cell", "variant", "seeds", "success", "score", "env steps", "LLM calls", "prompt tok", "compl tok", "wall s",
              "admitted", "read by other", "steps/none", "calls/none", "wall/none"):
        table.add_column(c, justify="left" if c in ("cell", "variant") else "right")
    for r in rows:
        table.add_row(r["cell"], r["variant"], str(len(r["seeds"])), ms(r, "success"), ms(r, "score"), ms(r, "env_steps"),
                      ms(r, "llm_calls"), f"{r['prompt_tokens']:.0f}", f"{r['completion_tokens']:.0f}", ms(r, "wall_s"), ms(r, "admitted"),
                      ms(r, "read_by_other"), ratio(r["env_steps_ratio_to_none"]), ratio(r["llm_calls_ratio_to_none"]),
                      ratio(r["wall_s_ratio_to_none"]))
    stream = Table(title=f"suite {suite}: retrieval stream (success per epoch)")
    for c in ("cell", "variant", "seeds", "success by epoch", "last", "vs similarity", "Q~success r (n)"):
        stream.add_column(c)
    for r in retrieval_rows:
        delta = r.get("last_epoch_success_delta_to_similarity")
        corr = "-" if r["q_success_r"] is None else f"{r['q_success_r']:.2f}"
        stream.add_row(r["cell"], r["variant"], str(len(r["seeds"])), " > ".join(f"{x:.2f}" for x in r["success_by_epoch"]),
                       f"{r['last_epoch_success']:.2f}", "-" if delta is None else f"{delta:+.2f}", f"{corr} ({r['q_success_n']})")
    console = wide_console()
    console.print(table)
    console.print(stream)


def markdown(result: dict[str, Any]) -> str:
    """The suite's two tables as Markdown (docs/results.md pastes them)."""

    def ms(r: dict[str, Any], k: str, digits: int = 2) -> str:
        return f"{r[k]:.{digits}f} ± {r[f'{k}_std']:.{digits}f}"

    def ratio(x: float | None) -> str:
        return "-" if x is None else f"{x:.2f}x"

    lines = [
        "| cell | variant | seeds | success | score | env steps | LLM calls | prompt tokens | completion tokens | wall s "
        "| admitted | read by other | steps / none | LLM calls / none | wall / none |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['cell']} | {r['variant']} | {len(r['seeds'])} | {ms(r, 'success')} | {ms(r, 'score')} "
            f"| {ms(r, 'env_steps', 1)} | {ms(r, 'llm_calls', 1)} | {r['prompt_tokens']:.0f} | {r['completion_tokens']:.0f} "
            f"| {ms(r, 'wall_s')} | {ms(r, 'admitted', 1)} | {ms(r, 'read_by_other', 1)} | {ratio(r['env_steps_ratio_to_none'])} "
            f"| {ratio(r['llm_calls_ratio_to_none'])} | {ratio(r['wall_s_ratio_to_none'])} |"
        )
    lines += ["", "| cell | retrieval | seeds | epochs | success by epoch | last epoch | vs similarity | last epoch env steps "
              "| experiences used / episode | Q~success r (n) |",
              "|---|---|---:|---:|---|---:|---:|---:|---:|---:|"]
    for r in result["retrieval_rows"]:
        delta = r.get("last_epoch_success_delta_to_similarity")
        corr = "-" if r["q_success_r"] is None else f"{r['q_success_r']:.2f}"
        lines.append(
            f"| {r['cell']} | {r['variant']} | {len(r['seeds'])} | {r['epochs']} "
            f"| {' > '.join(f'{x:.2f}' for x in r['success_by_epoch'])} | {ms(r, 'success')} "
            f"| {'-' if delta is None else f'{delta:+.2f}'} | {ms(r, 'env_steps', 1)} | {r['experiences_used_per_episode']:.2f} "
            f"| {corr} ({r['q_success_n']}) |"
        )
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("suite", choices=sorted(SUITES), help="which suite's cells to run")
    p.add_argument("--agents", nargs="+", choices=("scripted", "llm"), default=["scripted", "llm"], help="which cells (default both)")
    p.add_argument("--only", nargs="+", default=None, metavar="ENV", help="only the cells of these environment specs")
    p.add_argument("--llm", default="embedded", help="embedded (local llama.cpp server) or an OpenAI-compatible base URL")
    p.add_argument("--model", default=None, help="model name for --llm URL")
    p.add_argument("--api-key", default=None, help="key for --llm URL (default: $TEAMMIND_LLM_API_KEY or $OPENAI_API_KEY)")
    p.add_argument("--workers", type=int, default=0, help="Ray rollout workers for scripted cells (default 0: in this process)")
    p.add_argument("--quick", action="store_true", help="smoke sizes: 2 seeds, 2 epochs, at most 6 steps")
    p.add_argument("--out", type=Path, default=None, help="run folder (default bench/results/suite_<suite>)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--keep", action="store_true",
                   help="keep the rows of OUT/suite.json for cells this call does not play (re-run one cell, add the LLM cells later)")
    args = p.parse_args(argv)
    if args.workers < 0:
        p.error(f"--workers: {args.workers} must be 0 (in this process) or more")
    known = {c.env for c in SUITES[args.suite]}
    for env in args.only or ():
        if env not in known:
            p.error(f"--only: {env!r} is not a cell of suite {args.suite}; choose from {sorted(known)}")
    args.out = args.out or ROOT / "bench" / "results" / f"suite_{args.suite}"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cells = [quick(c) if args.quick else c for c in SUITES[args.suite]
             if c.agent in args.agents and (args.only is None or c.env in args.only)]
    llm = None
    if any(c.agent == "llm" for c in cells):
        from teammind.assemble import make_llm_client

        llm = make_llm_client(args.llm, args.model, getattr(args, "api_key", None))
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    retrieval_rows: list[dict[str, Any]] = []
    cells_meta: list[dict[str, Any]] = []
    commands: list[str] = []
    started = time.perf_counter()
    for cell in cells:
        data = run_cell(cell, args.out, llm=llm, workers=args.workers, quiet=args.quiet)
        rows += tag_rows(data["rows"], cell)
        retrieval_rows += tag_rows(data["retrieval_rows"], cell)
        cells_meta.append({"cell": cell.name, "folder": cell.name, **data["config"]})
    if args.keep and (args.out / "suite.json").is_file():  # read now, not at the start: another call may have written since
        previous = json.loads((args.out / "suite.json").read_text())
        replaced = {c.name for c in cells}
        rows = [r for r in previous["rows"] if r["cell"] not in replaced] + rows
        retrieval_rows = [r for r in previous["retrieval_rows"] if r["cell"] not in replaced] + retrieval_rows
        cells_meta = [c for c in previous["cells"] if c["cell"] not in replaced] + cells_meta
        commands = list(previous.get("commands", [previous.get("command", "")]))
    result = {
        "suite": args.suite, "quick": args.quick, "rows": rows, "retrieval_rows": retrieval_rows, "cells": cells_meta,
        "commands": [*commands, "python bench/suite.py " + " ".join(sys.argv[1:] if argv is None else argv)],
        "total_s": round(time.perf_counter() - started, 1),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    atomic_write_text(args.out / "suite.json", json.dumps(result, indent=2))
    atomic_write_text(args.out / "suite.md", markdown(result))
    plot_suite(args.out / "suite.png", args.suite, rows, retrieval_rows)
    print_table(args.suite, rows, retrieval_rows)
    print(f"wrote {args.out}/suite.json and suite.png in {result['total_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

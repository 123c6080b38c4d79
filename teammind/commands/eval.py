"""`teammind eval`: admission variants and retrieval variants side by side, on the same seeds.

    teammind eval --seeds 0..19                                   # none / all / novelty / learned (shipped policy)
    teammind eval --seeds 0..19 --checkpoint run/admission.safetensors --out eval-run --json eval.json
    teammind eval --seeds 0..9 --epochs 4                          # plus the MemRL stream: similarity vs q
    teammind eval --seeds 0,3,7 --variants none all --retrieval-variants similarity q --workers 2
    teammind eval --env twx:twc --max-steps 120 --seeds 100..119 --lessons-from 1000..1099   # memory also reads lessons of 100 other worlds

The admission comparison always runs (argmax decisions make a second pass a
replay, so it has no epochs). The retrieval comparison (a task stream with
experience write-back and Q updates, see rl/evaluate.py) runs when
`--retrieval-variants` is given or `--epochs` is 2 or more: `--epochs` alone
compares `similarity q`; `--retrieval-variants` alone streams 3 epochs (epoch
1 reads an empty store and epoch 2 only entries whose Q is still 0, so Q
ranking can first matter in epoch 3); `--epochs 1` with `--retrieval-variants`
is refused as a stream that cannot show a difference. `--lessons-from A..B`
first plays those warm-up seeds and stores every action that raised a score
as a lesson; the memory variants of the admission comparison (not `none`)
then read them, frozen, on `--seeds`.

Prints one table per comparison; `--json PATH` writes
{"rows", "retrieval_rows", "per_seed", "config"}; `--out DIR` keeps eval.json,
per_seed.jsonl, admission.png, retrieval.png (and the stream's experience
store in DIR/experience).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from teammind.commands.flags import errors_named_by_flag, spec_from_flags
from teammind.memory import InvalidFieldError
from teammind.memory.files import atomic_write_text
from teammind.specs import ADMISSION_VARIANTS, RETRIEVALS, STREAM_TASKS, EvalSpec

SHARED_RUN_FLAGS = ("env", "teams", "max_steps", "agent", "llm", "model", "api_key")  # from `teammind run`, same meaning
DEFAULT_STREAM_EPOCHS = 3


class _Moved(argparse.Action):
    """A `teammind run` flag that eval replaces with a list of variants: say so instead of 'unrecognized arguments'."""

    def __init__(self, option_strings: list[str], dest: str, replacement: str = "", **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs="?", help=argparse.SUPPRESS, **kwargs)
        self.replacement = replacement

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option_string: str | None = None) -> None:
        parser.error(f"{option_string}: eval compares every variant side by side; use {self.replacement}")


def _seeds_arg(text: str) -> list[int]:
    from teammind.rl.evaluate import parse_seeds

    try:
        return parse_seeds(text, "--seeds")
    except InvalidFieldError as err:
        raise argparse.ArgumentTypeError(f"{err.problem}. Fix: {err.fix}") from None


def _add_shared_run_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of `teammind run` that mean the same here (one definition, so help and defaults never drift)."""
    from teammind.commands.run import add_run_arguments

    donor = argparse.ArgumentParser(add_help=False)
    add_run_arguments(donor)
    for action in donor._actions:  # noqa: SLF001 - argparse's own `parents=` copies actions the same way
        if action.dest in SHARED_RUN_FLAGS:
            p._add_action(action)  # noqa: SLF001


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("eval", help="compare admission (and retrieval) variants side by side on the same seeds",
                              description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    _add_shared_run_arguments(p)
    p.add_argument("--seeds", default=None, type=_seeds_arg, help="A..B (inclusive) or a comma list, e.g. 0..19 or 0,3,7 "
                   "(with --team: indices into the task list)")
    p.add_argument("--team", default=None, metavar="module:factory",
                   help="evaluate your own LangGraph team instead of --env (factory(memory) -> graph); needs --tasks")
    p.add_argument("--tasks", default=None, metavar="module:loader",
                   help="your team's tasks, e.g. teammind.suites.reasoning_gym.tasks:load_tasks:dataset=chain_sum,n=20 "
                        "(a held-out split through the loader's options, e.g. :split=test)")
    p.add_argument("--grader", default=None, metavar="module:function", help="grades answers of tasks without a grader of their own")
    p.add_argument("--variants", nargs="+", choices=ADMISSION_VARIANTS, default=list(ADMISSION_VARIANTS),
                   help="admission variants to compare (default: all four)")
    p.add_argument("--retrieval-variants", nargs="+", choices=RETRIEVALS, default=None,
                   help="retrieval variants of the experience stream (turns the stream on; default with --epochs >= 2: similarity q)")
    p.add_argument("--epochs", type=int, default=None,
                   help=f"passes of the retrieval stream over the seeds (>= 2 turns it on; default {DEFAULT_STREAM_EPOCHS} when it is on)")
    p.add_argument("--stream-tasks", choices=STREAM_TASKS, default="repeat",
                   help="repeat: every epoch replays --seeds (default); fresh: every epoch plays new seeds, so only transfer helps")
    p.add_argument("--stream-admission", choices=ADMISSION_VARIANTS, default="all", help="admission during the stream (default all)")
    p.add_argument("--failure-reward", type=float, default=-1.0,
                   help="Q target of a failed episode in the stream: -1 (MemRL's default) to 0 (unused experiences then rank below useful ones)")
    p.add_argument("--lessons-from", type=_seeds_arg, default=None, metavar="A..B",
                   help="warm-up seeds (disjoint from --seeds): played once with --stream-admission before the admission comparison; "
                        "each action that raised a score becomes a lesson every memory variant (not none) reads. Default: off")
    p.add_argument("--checkpoint", default=None, help="learned admission policy (.safetensors; default: the shipped one for --env: twc's own on twx:twc, else the coin-trained one)")
    p.add_argument("--qnet", default=None,
                   help="Q-network for the q variant (.safetensors), or 'none' for per-entry Q only (default: the shipped one if present)")
    p.add_argument("--workers", type=int, default=0, help="Ray rollout workers (default 0: in this process)")
    p.add_argument("--run-name", default=None, help="names the experience namespaces (default: a fresh timestamped name)")
    p.add_argument("--out", default=None, help="keep a run folder: eval.json, per_seed.jsonl, PNG charts")
    p.add_argument("--spec", default=None, metavar="FILE", help="run this spec.json (flags that differ from their defaults override it)")
    p.add_argument("--json", default=None, help="write {rows, retrieval_rows, per_seed, config} here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--admission", action=_Moved, replacement="--variants none all novelty learned")
    p.add_argument("--retrieval", action=_Moved, replacement="--retrieval-variants similarity q")
    p.set_defaults(func=cmd_eval)


# -- resolving flags -----------------------------------------------------------------


def resolve_stream(epochs: int | None, retrieval_variants: list[str] | None) -> tuple[tuple[str, ...], int]:
    """(retrieval variants, epochs) of the stream; no variants = no stream. See the module docstring for the rules."""
    if epochs is not None and epochs < 1:
        raise InvalidFieldError("--epochs", f"is {epochs}", "pass 1 (admission only) or more")
    if retrieval_variants:
        if len(set(retrieval_variants)) != len(retrieval_variants):
            raise InvalidFieldError("--retrieval-variants", f"repeats a name in {retrieval_variants}", "list every variant once")
        if epochs == 1:
            raise InvalidFieldError("--epochs", "is 1 with --retrieval-variants: a one-epoch stream only reads an empty store",
                                    f"pass --epochs {DEFAULT_STREAM_EPOCHS} (Q ranking can first differ in epoch 3), or drop --retrieval-variants")
        return tuple(retrieval_variants), epochs or DEFAULT_STREAM_EPOCHS
    if epochs is not None and epochs >= 2:
        return RETRIEVALS, epochs
    return (), 1


def spec_from_args(args: argparse.Namespace) -> EvalSpec:
    """The EvalSpec the flags describe (on top of --spec FILE when given); errors name the flag."""
    if args.seeds is None and args.spec is None:
        raise InvalidFieldError("--seeds", "is missing", "pass --seeds A..B (or a comma list), or --spec RUN/spec.json")
    retrieval_variants, epochs = resolve_stream(args.epochs, args.retrieval_variants)
    values = {
        "env": args.env, "seeds": tuple(args.seeds) if args.seeds is not None else EvalSpec().seeds, "teams": args.teams,
        "max_steps": args.max_steps, "agent": args.agent, "llm": args.llm, "model": args.model, "api_key": args.api_key,
        "variants": tuple(args.variants), "retrieval_variants": retrieval_variants, "epochs": epochs,
        "stream_tasks": args.stream_tasks, "stream_admission": args.stream_admission, "failure_reward": args.failure_reward,
        "lessons_from": tuple(args.lessons_from or ()), "checkpoint": args.checkpoint, "qnet": args.qnet, "workers": args.workers,
        "run_name": args.run_name, "out": args.out, "team": args.team, "tasks": args.tasks, "grader": args.grader,
    }
    return spec_from_flags(EvalSpec, values, args.spec)


# -- the command ------------------------------------------------------------------


def cmd_eval(args: argparse.Namespace) -> int:
    from teammind.api import evaluate
    from teammind.console import wide_console

    spec = spec_from_args(args)
    with errors_named_by_flag(EvalSpec):
        data = evaluate(spec, quiet=args.quiet)
    console = wide_console()
    what = f"{spec.team} on {spec.tasks}" if spec.team else spec.env
    title = f"{what}, seeds {_seed_text(spec.seeds)}, K={spec.teams}, max {spec.max_steps} steps" + ("" if spec.team else f", {spec.agent} agents")
    if data["rows"]:
        console.print(admission_table(data["rows"], f"admission: {title} (mean ±std over seeds)"))
        lessons = data["config"].get("lessons")
        if lessons:
            console.print(f"memory variants read {lessons['lessons_stored']} lessons of warm-up seeds {_seed_text(tuple(lessons['warm_up_seeds']))} "
                          f"({lessons['warm_up']}); none reads nothing")
    if data["retrieval_rows"]:
        console.print(retrieval_table(data["retrieval_rows"], f"retrieval stream: {title}, {spec.epochs} epochs, admission {spec.stream_admission}"))
    if args.json:
        atomic_write_text(Path(args.json).expanduser(), json.dumps(data, indent=2))
        print(f"wrote {args.json}")
    if spec.out is not None:
        print(f"wrote {spec.out}/")
    return 0


def _seed_text(seeds: tuple[int, ...]) -> str:
    if len(seeds) > 2 and list(seeds) == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}..{seeds[-1]}"
    return ",".join(map(str, seeds))


# -- tables -------------------------------------------------------------------------


def _mean_std(row: dict[str, Any], key: str, sep: str = " ") -> str:
    m, s = row.get(key), row.get(f"{key}_std")
    if m is None:
        return "-"
    digits = 0 if abs(m) >= 100 else 2
    return f"{m:.{digits}f}{sep}±{s:.{digits}f}" if s is not None else f"{m:.{digits}f}"


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"x{x:.2f}"


def _label(key: str) -> str:
    """Header text that rich can wrap (at spaces) instead of cutting it short."""
    return key.replace("_", " ")


def admission_table(rows: list[dict[str, Any]], title: str) -> Any:
    """One row per admission variant: every ROW_KEYS metric (mean over ±std), then the ratios."""
    from rich.table import Table

    from teammind.rl.evaluate import ROW_KEYS, TOOL_KEYS

    table = Table(title=title)
    keys = ROW_KEYS + tuple(k for k in TOOL_KEYS if rows and k in rows[0])  # your own teams: tool calls run and shared
    ratios = (("env_steps_ratio_to_none", "steps / none"), ("llm_calls_ratio_to_none", "llm calls / none"),
              ("wall_s_ratio_to_none", "wall s / none"), ("admitted_ratio_to_all", "admitted / all"))
    table.add_column("variant", no_wrap=True, min_width=10)
    for c in (*(_label(k) for k in keys), *(label for _, label in ratios)):  # the seeds are in the title
        table.add_column(c, justify="right")
    for r in rows:
        table.add_row(r["variant"], *(_mean_std(r, k, "\n") for k in keys),
                      *(_ratio(r.get(k)) for k, _ in ratios))
    return table


def retrieval_table(rows: list[dict[str, Any]], title: str) -> Any:
    """One row per retrieval variant: success per epoch, the last epoch's metrics, and the Q-success check."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("variant", no_wrap=True, min_width=10)
    for c in ("seeds", "success by epoch", "last success", "vs similarity", "env steps", "wall s", "experiences used / episode", "Q~success r (n)"):
        table.add_column(c, justify="left" if c == "success by epoch" else "right")
    for r in rows:
        corr = "-" if r["q_success_r"] is None else f"{r['q_success_r']:.2f}"
        delta = r.get("last_epoch_success_delta_to_similarity")
        table.add_row(
            r["variant"], str(len(r["seeds"])), " > ".join(f"{x:.2f}" for x in r["success_by_epoch"]), _mean_std(r, "success"),
            "-" if delta is None else f"{delta:+.2f}", _mean_std(r, "env_steps"), _mean_std(r, "wall_s"),
            f"{r['experiences_used_per_episode']:.2f}", f"{corr} ({r['q_success_n']})",
        )
    return table


# -- files ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    from teammind.cli import main as cli_main

    return cli_main(["eval", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())

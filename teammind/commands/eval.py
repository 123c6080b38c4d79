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
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from teammind.memory import InvalidFieldError
from teammind.rl.checkpoint import atomic_write_text
from teammind.rl.plots import save_figure
from teammind.rl.rollout import ADMISSION_VARIANTS, RETRIEVAL_VARIANTS

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
    p.add_argument("--seeds", required=True, type=_seeds_arg, help="A..B (inclusive) or a comma list, e.g. 0..19 or 0,3,7")
    p.add_argument("--variants", nargs="+", choices=ADMISSION_VARIANTS, default=list(ADMISSION_VARIANTS),
                   help="admission variants to compare (default: all four)")
    p.add_argument("--retrieval-variants", nargs="+", choices=RETRIEVAL_VARIANTS, default=None,
                   help="retrieval variants of the experience stream (turns the stream on; default with --epochs >= 2: similarity q)")
    p.add_argument("--epochs", type=int, default=None,
                   help=f"passes of the retrieval stream over the seeds (>= 2 turns it on; default {DEFAULT_STREAM_EPOCHS} when it is on)")
    p.add_argument("--stream-tasks", choices=("repeat", "fresh"), default="repeat",
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
        return RETRIEVAL_VARIANTS, epochs
    return (), 1


def resolve_checkpoint(path: str | None, env: str | None = None) -> Path:
    """--checkpoint, or the shipped policy for `env`; a missing file says which flag fixes it."""
    from teammind.suites.registry import shipped_admission_path

    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise InvalidFieldError("--checkpoint", f"no admission checkpoint at {p}",
                                    "pass the .safetensors file written by `teammind train` (RUN/admission.safetensors), or drop learned from --variants")
        return p
    shipped = shipped_admission_path(env)
    if not shipped.is_file():
        raise InvalidFieldError("--checkpoint", f"the shipped admission policy {shipped} is not installed",
                                "pass --checkpoint PATH to a policy from `teammind train` (RUN/admission.safetensors), or drop learned from --variants")
    return shipped


def resolve_qnet(path: str | None) -> Path | None:
    """--qnet PATH, 'none', or the shipped Q-network when it is installed (else None: per-entry Q only)."""
    from teammind.suites.registry import shipped_qnet_path

    if path is not None and path.lower() == "none":
        return None
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise InvalidFieldError("--qnet", f"no Q-network at {p}", "pass RUN/qnet.safetensors from `teammind train`, or --qnet none")
        return p
    shipped = shipped_qnet_path()
    return shipped if shipped.is_file() else None


def build_config(args: argparse.Namespace) -> Any:
    """EvalConfig from the flags; its errors are renamed to the flag that sets the field."""
    from teammind.rl.evaluate import EvalConfig

    retrieval_variants, epochs = resolve_stream(args.epochs, args.retrieval_variants)
    if len(set(args.variants)) != len(args.variants):
        raise InvalidFieldError("--variants", f"repeats a name in {args.variants}", "list every variant once")
    run_name = args.run_name or f"eval-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    try:
        return EvalConfig(env=args.env, seeds=tuple(args.seeds), teams=args.teams, max_steps=args.max_steps, agent=args.agent,
                          variants=tuple(args.variants), retrieval_variants=retrieval_variants, epochs=epochs,
                          stream_admission=args.stream_admission, stream_tasks=args.stream_tasks, run_name=run_name,
                          failure_reward=args.failure_reward, lessons_from=tuple(args.lessons_from or ()))
    except InvalidFieldError as err:
        raise InvalidFieldError("--" + err.field.replace("_", "-"), err.problem, err.fix) from err


# -- the command ------------------------------------------------------------------


def cmd_eval(args: argparse.Namespace) -> int:
    from teammind.commands.run import wide_console
    from teammind.rl.evaluate import load_admission_weights, load_qnet_weights

    if isinstance(args.workers, bool) or args.workers < 0:
        raise InvalidFieldError("--workers", f"is {args.workers}", "pass 0 (in this process) or a positive number of Ray workers")
    config = build_config(args)
    checkpoint = resolve_checkpoint(args.checkpoint, config.env) if config.needs_admission_weights else None
    admission_weights = load_admission_weights(checkpoint, "--checkpoint") if checkpoint else None
    qnet = resolve_qnet(args.qnet) if "q" in config.retrieval_variants else None
    qnet_weights = load_qnet_weights(qnet, "--qnet") if qnet else None
    check_llm_workers(args.agent, args.workers)  # before the LLM server starts
    out = Path(args.out).expanduser() if args.out else None
    started = time.perf_counter()
    llm = None
    if args.agent == "llm":
        from teammind.commands.run import make_llm_client

        llm = make_llm_client(args)
    report = execute(config, workers=args.workers, llm=llm, admission_weights=admission_weights, qnet_weights=qnet_weights,
                     out=out, quiet=args.quiet)
    report.config.update({
        "checkpoint": str(checkpoint) if checkpoint else None, "qnet": str(qnet) if qnet else None, "workers": args.workers,
        **({"llm": args.llm, "model": args.model} if args.agent == "llm" else {}),
        "experience_store": str(out / "experience") if out and (config.retrieval_variants or config.lessons_from) else None,
        "total_s": round(time.perf_counter() - started, 2),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    })
    console = wide_console()
    title = f"{config.env}, seeds {_seed_text(config.seeds)}, K={config.teams}, max {config.max_steps} steps, {config.agent} agents"
    if report.rows:
        console.print(admission_table(report.rows, f"admission: {title} (mean ±std over seeds)"))
        lessons = report.config.get("lessons")
        if lessons:
            console.print(f"memory variants read {lessons['lessons_stored']} lessons of warm-up seeds {_seed_text(tuple(lessons['warm_up_seeds']))} "
                          f"({lessons['warm_up']}); none reads nothing")
    if report.retrieval_rows:
        console.print(retrieval_table(report.retrieval_rows, f"retrieval stream: {title}, {config.epochs} epochs, admission {config.stream_admission}"))
    data = report.to_dict()
    if args.json:
        atomic_write_text(Path(args.json).expanduser(), json.dumps(data, indent=2))
        print(f"wrote {args.json}")
    if out is not None:
        write_run_folder(out, data)
        print(f"wrote {out}/")
    return 0


def check_llm_workers(agent: str, workers: int) -> None:
    """LLM agents run in this process only: Ray rollout workers have no LLM client setting yet."""
    if agent == "llm" and workers > 0:
        raise InvalidFieldError("--agent", "llm runs in this process only (Ray rollout workers have no LLM client setting)",
                                "use --workers 0 with --agent llm")


@contextmanager
def eval_pool(workers: int, *, experiences: bool, out: Path | None = None, llm: Any = None) -> Iterator[tuple[Any, Any]]:
    """(rollout pool, experience bank or None): with `experiences`, a store in out/experience (else a temporary
    folder) that the pool's workers read, served by a Chroma server when workers > 0."""
    from teammind.memory import MemoryBank
    from teammind.rl.workers import RolloutPool

    with ExitStack() as stack:
        bank = None
        pool_kwargs: dict[str, Any] = {}
        if experiences:
            folder = out / "experience" if out else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="teammind-eval-"))) / "experience"
            if workers > 0:
                from teammind.rl.workers import ChromaServer  # only now: W > 0 needs a store many processes can open

                store = stack.enter_context(ChromaServer(folder)).store()
                bank = store.open()
                pool_kwargs["experience"] = store
            else:
                bank = MemoryBank(folder)
                pool_kwargs["experience_bank"] = bank
            stack.callback(bank.close)
        yield stack.enter_context(RolloutPool(workers, llm=llm, **pool_kwargs)), bank


def execute(config: Any, *, workers: int = 0, llm: Any = None, admission_weights: Any = None, qnet_weights: Any = None,
            out: Path | None = None, quiet: bool = False) -> Any:
    """Play `config` (an `EvalConfig`) on a rollout pool with a progress bar; the stream's store lives in out/experience.

    `llm` is the LLM client for agent=llm (in-process only: workers must be 0).
    """
    from tqdm import tqdm

    from teammind.rl.evaluate import run_evaluation

    check_llm_workers(config.agent, workers)
    with ExitStack() as stack:
        pool, bank = stack.enter_context(eval_pool(workers, experiences=bool(config.retrieval_variants or config.lessons_from),
                                                   out=out, llm=llm))
        bar = stack.enter_context(tqdm(total=config.episodes(), desc=f"eval {config.env} {config.agent}", unit="ep", disable=quiet,
                                       file=sys.stderr))

        def progress(result: Any) -> None:
            spec = result.spec
            kind = spec.episode_id.rsplit("-s", 1)[0]
            stage = ("warm-up" if kind.endswith("-warm") else f"admission {spec.admission}" if kind.endswith(f"-adm-{spec.admission}")
                     else f"stream {spec.retrieval}")
            bar.set_postfix_str(f"{stage} seed {spec.seed}", refresh=False)
            bar.update()

        return run_evaluation(config, pool, experience_bank=bank, admission_weights=admission_weights,
                              qnet_weights=qnet_weights, on_result=progress)


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

    from teammind.rl.evaluate import ROW_KEYS

    table = Table(title=title)
    ratios = (("env_steps_ratio_to_none", "steps / none"), ("llm_calls_ratio_to_none", "llm calls / none"),
              ("wall_s_ratio_to_none", "wall s / none"), ("admitted_ratio_to_all", "admitted / all"))
    table.add_column("variant", no_wrap=True, min_width=10)
    for c in (*(_label(k) for k in ROW_KEYS), *(label for _, label in ratios)):  # the seeds are in the title
        table.add_column(c, justify="right")
    for r in rows:
        table.add_row(r["variant"], *(_mean_std(r, k, "\n") for k in ROW_KEYS),
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


def write_run_folder(out: Path, data: dict[str, Any]) -> list[Path]:
    """eval.json, per_seed.jsonl and the charts; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "eval.json", out / "per_seed.jsonl"]
    atomic_write_text(written[0], json.dumps(data, indent=2))
    atomic_write_text(written[1], "".join(json.dumps(r) + "\n" for r in data["per_seed"]))
    written += plot_charts(out, data["rows"], data["retrieval_rows"])
    return written


def plot_charts(out: Path, rows: list[dict[str, Any]], retrieval_rows: list[dict[str, Any]]) -> list[Path]:
    """admission.png: bars per variant (success, env steps, admitted) with ±std; retrieval.png: success per epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    if rows:
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
        names = [r["variant"] for r in rows]
        for ax, (key, label) in zip(axes, (("success", "success rate"), ("env_steps", "env steps"), ("admitted", "entries admitted"))):
            ax.bar(names, [r[key] for r in rows], yerr=[r[f"{key}_std"] for r in rows], capsize=4, color="tab:blue", alpha=0.8)
            ax.set_title(f"{label} (mean ±std over {len(rows[0]['seeds'])} seeds)", fontsize=9)
            if key == "success":
                ax.set_ylim(0, 1.05)
        fig.suptitle("admission variants", fontsize=11)
        path = out / "admission.png"
        save_figure(fig, path)
        written.append(path)
    if retrieval_rows:
        fig, ax = plt.subplots(figsize=(6, 4))
        n = len(retrieval_rows)
        for i, r in enumerate(retrieval_rows):  # dodged a little: equal curves stay visible
            epochs = [e + 1 + 0.06 * (i - (n - 1) / 2) for e in range(len(r["success_by_epoch"]))]
            ax.errorbar(epochs, r["success_by_epoch"], yerr=r["success_by_epoch_std"], marker="o", capsize=3, label=r["variant"])
        ax.set_xlabel("epoch")
        ax.set_ylabel("success rate (mean over seeds)")
        ax.set_ylim(-0.05, 1.05)
        ax.set_xticks(list(range(1, len(retrieval_rows[0]["success_by_epoch"]) + 1)))
        names = " vs ".join(r["variant"] for r in retrieval_rows)
        ax.set_title(f"retrieval stream: {names} (mean ±std over {len(retrieval_rows[0]['seeds'])} seeds)", fontsize=10)
        ax.legend(loc="best")
        path = out / "retrieval.png"
        save_figure(fig, path)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    from teammind.cli import main as cli_main

    return cli_main(["eval", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())

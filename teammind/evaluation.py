"""An evaluation on a rollout pool (with its experience store and progress bar), and the run folder it leaves.

`teammind.evaluate(EvalSpec)` and the benches run evaluations through here.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from teammind.memory import InvalidFieldError
from teammind.memory.files import atomic_write_text
from teammind.rl.plots import save_figure
from teammind.rl.rollout import workload_name


def resolve_checkpoint(path: str | None, env: str | None = None) -> Path:
    """`path`, or the shipped policy for `env`; a missing file says what fixes it."""
    from teammind.suites.registry import shipped_admission_path

    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise InvalidFieldError("checkpoint", f"no admission checkpoint at {p}",
                                    "pass the .safetensors file written by `teammind train` (RUN/admission.safetensors), or drop learned from the variants")
        return p
    shipped = shipped_admission_path(env)
    if not shipped.is_file():
        raise InvalidFieldError("checkpoint", f"the shipped admission policy {shipped} is not installed",
                                "pass the checkpoint path of a policy from `teammind train` (RUN/admission.safetensors), or drop learned from the variants")
    return shipped


def resolve_qnet(path: str | None) -> Path | None:
    """`path`, 'none', or the shipped Q-network when it is installed (else None: per-entry Q only)."""
    from teammind.suites.registry import shipped_qnet_path

    if path is not None and path.lower() == "none":
        return None
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise InvalidFieldError("qnet", f"no Q-network at {p}", "pass RUN/qnet.safetensors from `teammind train`, or none")
        return p
    shipped = shipped_qnet_path()
    return shipped if shipped.is_file() else None


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

    if config.agent == "llm" and workers > 0:
        raise InvalidFieldError("workers", f"is {workers} with agent llm (Ray rollout workers have no LLM client setting)", "use workers=0 with agent llm")
    with ExitStack() as stack:
        pool, bank = stack.enter_context(eval_pool(workers, experiences=bool(config.retrieval_variants or config.lessons_from),
                                                   out=out, llm=llm))
        bar = stack.enter_context(tqdm(total=config.episodes(), desc=f"eval {workload_name(config)}", unit="ep", disable=quiet,
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

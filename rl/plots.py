"""Learning curves of a training run (matplotlib, Agg: no display needed)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _figure(rows: int, cols: int, size: tuple[float, float]) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(rows, cols, figsize=size, squeeze=False)


def save_figure(fig: Any, path: str | Path) -> Path:
    """Save atomically (a half-written PNG is never left behind) and close the figure."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".png")
    os.close(fd)
    try:
        fig.tight_layout()
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _smooth(values: Sequence[float], window: int = 5) -> list[float]:
    out, acc = [], []
    for v in values:
        acc.append(v)
        acc = acc[-window:]
        out.append(sum(acc) / len(acc))
    return out


def plot_training(metrics: list[dict[str, Any]], path: str | Path, q_points: Sequence[tuple[float, float]] = ()) -> Path:
    """Four panels: return, admitted fraction, held-out env steps (learned vs baselines), Q against success."""
    train = [m for m in metrics if m.get("type") == "train"]
    evals = [m for m in metrics if m.get("type") == "eval"]
    fig, ax = _figure(2, 2, (11, 7.5))
    it = [m["iteration"] for m in train]

    a = ax[0][0]
    if train:
        a.plot(it, [m["return_mean"] for m in train], alpha=0.35, color="tab:blue", label="mean team return")
        a.plot(it, _smooth([m["return_mean"] for m in train]), color="tab:blue", label="smoothed")
        a.plot(it, _smooth([m["success"] for m in train]), color="tab:green", label="success (smoothed)")
    a.set(title="training reward", xlabel="iteration", ylabel="R = R_final + R_first")
    a.legend(fontsize=8)

    a = ax[0][1]
    if train:
        a.plot(it, [m["admitted_fraction"] for m in train], color="tab:orange", alpha=0.35)
        a.plot(it, _smooth([m["admitted_fraction"] for m in train]), color="tab:orange", label="admitted / proposed (sampled)")
        a.plot(it, _smooth([m["p_admit"] for m in train]), color="tab:red", label="mean pi(admit)")
    learned = [m for m in evals if m["variant"] == "learned"]
    base_all = next((m for m in evals if m["variant"] == "all"), None)
    if learned and base_all and base_all["admitted"]:
        a.plot([m["iteration"] for m in learned], [m["admitted"] / base_all["admitted"] for m in learned], "o-", color="black",
               label="held-out: admitted vs all")
    a.set(title="admission", xlabel="iteration", ylim=(0, 1.05))
    a.legend(fontsize=8)

    a = ax[1][0]
    for variant, color in (("none", "tab:gray"), ("all", "tab:purple")):
        base = next((m for m in evals if m["variant"] == variant), None)
        if base is not None:
            a.axhline(base["env_steps"], color=color, linestyle="--", label=f"{variant}: {base['env_steps']:.1f} steps, success {base['success']:.2f}")
    if learned:
        a.errorbar([m["iteration"] for m in learned], [m["env_steps"] for m in learned], yerr=[m["env_steps_std"] for m in learned],
                   fmt="o-", color="tab:blue", capsize=3, label="learned (argmax)")
        a.plot([m["iteration"] for m in learned], [m["success"] * max(1.0, max(m["env_steps"] for m in learned)) for m in learned],
               alpha=0)  # keeps the axis honest when success is plotted on the twin axis
        twin = a.twinx()
        twin.plot([m["iteration"] for m in learned], [m["success"] for m in learned], "s:", color="tab:green", label="learned success")
        twin.set_ylim(0, 1.05)
        twin.set_ylabel("success")
    a.set(title="held-out seeds: environment steps (K teams summed)", xlabel="iteration", ylabel="env steps")
    a.legend(fontsize=8, loc="upper right")

    a = ax[1][1]
    if q_points:
        qs, succ = zip(*q_points)
        a.scatter(qs, succ, alpha=0.6)
        if len(q_points) >= 3 and len(set(qs)) > 1 and len(set(succ)) > 1:
            import numpy as np

            r = float(np.corrcoef(qs, succ)[0, 1])
            a.set_title(f"experience Q vs success of episodes using it (r = {r:.2f})")
        else:
            a.set_title("experience Q vs success of episodes using it")
    else:
        a.set_title("experience Q vs success (no experience used yet)")
    a.set(xlabel="Q", ylabel="success rate", ylim=(-0.05, 1.05))
    return save_figure(fig, path)

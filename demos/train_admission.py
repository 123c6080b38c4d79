"""Demo: train the admission controller for a few minutes, then compare it with the fixed baselines.

    python -m teammind.demos.train_admission                      # ~10 minutes on 2 cores
    python -m teammind.demos.train_admission --episodes 32 --out runs/demo-small

Scripted teams play TextWorldExpress `coin` worlds. The controller starts
near `all` and learns, from which shared steps other teams actually read,
to keep only those; the held-out evaluation shows success, environment steps
and entries admitted for no memory, `all` and the learned policy side by
side, and `curves.png` in the run folder shows how it got there.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--episodes", type=int, default=160, help="training episodes (default 160)")
    p.add_argument("--max-steps", type=int, default=30)
    p.add_argument("--eval-seeds", default="0..11")
    p.add_argument("--workers", type=int, default=0, help="Ray rollout workers (0 = in this process)")
    p.add_argument("--out", default=None, help="run folder (default: a temporary folder)")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)

    from teammind.cli import main as teammind

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="teammind-train-")) / "run"
    code = teammind([
        "train", "--env", "twx:coin", "--out", str(out), "--episodes", str(args.episodes), "--max-steps", str(args.max_steps),
        "--eval-seeds", args.eval_seeds, "--workers", str(args.workers), *(["--quiet"] if args.quiet else []),
    ])
    if code == 0:
        print(f"\nlearning curves: {out / 'curves.png'}")
        print(f"compare on more seeds: teammind eval --checkpoint {out / 'admission.safetensors'} --seeds 0..19")
    return code


if __name__ == "__main__":
    sys.exit(main())

"""What the embedder's cache of single texts saves: scripted teams with `all`, cache on vs off, alternating.

    python bench/embed_cache.py --env twx:twc --seeds 100..105 --repeats 2

Scripted agents ask the bank the same short queries every step ("where is
the coin", "X does not go in the P in the R"). `Embedder` keeps the vectors
of single texts (`cache_size`, default 4096); a batch of one has no padding,
so a cached vector is exactly what encoding the text again would give. This
bench plays the same worlds with the cache off and on, alternating run by
run so background load hits both alike, and checks that every world takes
the same steps either way. Prints a table (median wall time per pass, the
on/off ratio) and writes `bench/results/embed_cache.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.admission_bound import play  # noqa: E402
from teammind.memory import get_embedder  # noqa: E402
from teammind.rl.checkpoint import atomic_write_text  # noqa: E402
from teammind.rl.evaluate import parse_seeds  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", default="twx:twc", help="environment spec (default twx:twc)")
    p.add_argument("--seeds", default="100..105", help="worlds played per pass (default 100..105)")
    p.add_argument("--teams", type=int, default=3, help="parallel teams K (default 3)")
    p.add_argument("--max-steps", type=int, default=120, help="steps per team (default 120)")
    p.add_argument("--repeats", type=int, default=2, help="passes per setting, alternating off/on (default 2)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "embed_cache.json", help="JSON output")
    args = p.parse_args(argv)
    try:
        seeds = parse_seeds(args.seeds, "--seeds")
    except ValueError as err:
        p.error(str(err))
    if args.repeats < 1:
        p.error("--repeats: must be at least 1")
    embedder = get_embedder()
    default_size = embedder.cache_size
    play(args.env, seeds[:1], args.teams, args.max_steps, None)  # warm-up: JVM, model, Chroma code paths
    wall: dict[str, list[float]] = {"off": [], "on": []}
    steps: dict[str, list[float]] = {}
    for _ in range(args.repeats):
        for setting in ("off", "on"):
            embedder.cache_size = default_size if setting == "on" else 0
            embedder.clear_cache()  # every pass starts cold
            started = time.perf_counter()
            rows = play(args.env, seeds, args.teams, args.max_steps, None)
            wall[setting].append(time.perf_counter() - started)
            played = [r["env_steps"] for r in rows]
            if steps.setdefault(setting, played) != played:
                raise SystemExit(f"{setting}: the same worlds took different steps on a second pass ({played} vs {steps[setting]})")
    embedder.cache_size = default_size
    same = steps["on"] == steps["off"]
    off, on = statistics.median(wall["off"]), statistics.median(wall["on"])
    print(f"{args.env}, seeds {args.seeds}, K={args.teams}, `all`; median of {args.repeats} passes each")
    print(f"{'cache':>6s} {'wall s / pass':>14s} {'passes':>24s}")
    for setting, median in (("off", off), ("on", on)):
        print(f"{setting:>6s} {median:14.1f} {' '.join(f'{w:.1f}' for w in wall[setting]):>24s}")
    print(f"on / off: {on / off:.3f}x; same steps in every world: {same}")
    report = {"env": args.env, "seeds": seeds, "teams": args.teams, "max_steps": args.max_steps, "cache_size": default_size,
              "wall_s": wall, "median_s": {"off": off, "on": on}, "ratio_on_off": on / off, "same_steps": same,
              "env_steps": steps["on"], "command": "python bench/embed_cache.py " + " ".join(sys.argv[1:] if argv is None else argv),
              "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version()}}
    atomic_write_text(args.out, json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())

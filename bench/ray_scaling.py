"""Rollout throughput with 1 vs 2 Ray workers: does `RolloutPool(workers=W)` scale on this machine?

Each pool plays the same N specs (default 16 episodes of `twx:coin`, K=3
teams, max_steps 30, admission `all`, distinct sample seeds). Before timing,
each pool plays a warm-up batch of 2 other episodes (first JVM start,
embedder and Chroma warm-up are not steady state). Timed batches alternate
between the pools (1, 2, 2, 1, 1, 2, ...), so background load hits both
alike; the report gives median episodes/s, the speedup, and CPU use
measured from /proc/stat (busy core-seconds / (wall x cores)), and checks that
every batch gave the same summaries (timings aside).

Each worker gets `cores // W` torch threads (one core per worker with 2
workers on 2 cores), and its JVMs are sized to the same share (rl/workers.py).

    python bench/ray_scaling.py                       # 16 episodes, 3 repeats, 1 vs 2 workers
    python bench/ray_scaling.py --episodes 8 --repeats 1
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from teammind.memory.files import atomic_write_text  # noqa: E402
from teammind.rl.rollout import RolloutResult, RolloutSpec
from teammind.rl.workers import RolloutPool

TIMING_KEYS = ("wall_s",)
WARMUP_EPISODES = 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="twx:coin")
    p.add_argument("--episodes", type=int, default=16, help="episodes per timed batch (seeds first-seed..)")
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--teams", type=int, default=3)
    p.add_argument("--max-steps", type=int, default=30)
    p.add_argument("--admission", default="all", choices=("none", "all", "novelty"))
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="pool sizes to compare (default 1 2)")
    p.add_argument("--repeats", type=int, default=3, help="timed batches per pool size")
    p.add_argument("--cores", type=int, default=os.cpu_count() or 1, help="cores to share out: torch threads per worker = cores // W")
    p.add_argument("--torch-threads", type=int, default=None, help="threads per worker for every pool (default: cores // W)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ray_scaling.json")
    args = p.parse_args(argv)
    if args.torch_threads is not None and args.torch_threads < 1:
        p.error(f"--torch-threads: {args.torch_threads} must be >= 1")
    for name in ("episodes", "repeats", "cores"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')}: {getattr(args, name)} must be >= 1")
    if any(w < 1 for w in args.workers):
        p.error(f"--workers: {args.workers} must all be >= 1 (0 is the in-process loop, not a Ray pool)")
    return args


def make_specs(args: argparse.Namespace, seeds: range, tag: str) -> list[RolloutSpec]:
    return [
        RolloutSpec(env=args.env, seed=s, episode_id=f"{tag}-s{s}", teams=args.teams, max_steps=args.max_steps,
                    admission=args.admission, retrieval="q", sample_seed=10_000 + s)
        for s in seeds
    ]


def busy_core_seconds() -> float:
    """Core-seconds the whole machine has spent busy since boot (/proc/stat; 0 where it does not exist)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _proc_stats() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds of it and its reaped children) for every process in /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(entry)] = (int(fields[1]), sum(int(x) for x in fields[11:15]) / tick)  # utime stime cutime cstime
    return out


def pool_cpu_seconds(pids: list[int]) -> float:
    """CPU seconds of the workers and everything below them (their JVMs; exited ones count once reaped)."""
    if not os.path.isdir("/proc"):
        return 0.0
    stats = _proc_stats()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [p for p in pids if p in stats]
    while todo:
        pid = todo.pop()
        total += stats[pid][1]
        todo.extend(children.get(pid, []))
    return total


def load_1m() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def fingerprint(results: list[RolloutResult]) -> list[dict[str, Any]]:
    """What must not depend on the pool size: every summary, timings aside."""
    return [{k: v for k, v in r.summary.items() if k not in TIMING_KEYS} for r in results]


def timed_batch(pool: RolloutPool, specs: list[RolloutSpec], cores: int) -> tuple[dict[str, Any], list[RolloutResult]]:
    load = load_1m()
    pids = [info["pid"] for info in pool.worker_info()]
    own0, busy0, t0 = pool_cpu_seconds(pids), busy_core_seconds(), time.perf_counter()
    results = pool.run(specs)
    wall = time.perf_counter() - t0
    busy = busy_core_seconds() - busy0
    own = pool_cpu_seconds(pids) - own0
    row = {
        "workers": pool.workers, "episodes": len(specs), "wall_s": round(wall, 3), "episodes_per_s": round(len(specs) / wall, 4),
        "cpu_util": round(busy / (wall * cores), 3) if busy else None, "load_1m_before": round(load, 2),
        # the pool's own processes (workers + JVMs): CPU per episode, and how many cores they kept busy on average
        "pool_cpu_s_per_episode": round(own / len(specs), 3), "pool_cores_busy": round(own / wall, 3),
        "episode_wall_s_mean": round(statistics.fmean(r.wall_s for r in results), 3),
        "env_steps": sum(int(r.summary["env_steps"]) for r in results),
    }
    return row, results


def main(argv: list[str] | None = None) -> int:
    import ray
    from rich.table import Table

    from teammind.console import wide_console

    args = parse_args(argv)
    sizes = list(dict.fromkeys(args.workers))
    specs = make_specs(args, range(args.first_seed, args.first_seed + args.episodes), "bench")
    warmup = make_specs(args, range(args.first_seed + args.episodes, args.first_seed + args.episodes + WARMUP_EPISODES), "warm")
    threads = {w: args.torch_threads or max(1, args.cores // w) for w in sizes}
    started = time.perf_counter()
    # Every pool stays open for the whole run (started and warmed once), so Ray gets one logical CPU
    # slot per worker of all pools; the real CPU use of each pool is set by its threads per worker.
    ray.init(num_cpus=sum(sizes), include_dashboard=False, log_to_driver=False)
    pools: dict[int, RolloutPool] = {}
    batches: list[dict[str, Any]] = []
    reference: list[dict[str, Any]] | None = None
    mismatches: list[str] = []
    try:
        for w in sizes:
            t0 = time.perf_counter()
            pools[w] = RolloutPool(w, torch_threads=threads[w])
            start_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            pools[w].run(warmup)
            print(f"workers={w}: started in {start_s:.1f} s, warm-up ({WARMUP_EPISODES} episodes) {time.perf_counter() - t0:.1f} s", flush=True)
        for rep in range(args.repeats):
            order = sizes if rep % 2 == 0 else sizes[::-1]
            for w in order:
                row, results = timed_batch(pools[w], specs, args.cores)
                row["repeat"] = rep
                row["torch_threads"] = threads[w]
                batches.append(row)
                print(f"repeat {rep} workers={w}: {row['episodes_per_s']:.3f} episodes/s ({row['wall_s']:.1f} s; machine cpu {row['cpu_util']}, "
                      f"pool {row['pool_cores_busy']} cores, {row['pool_cpu_s_per_episode']} cpu-s/episode; load {row['load_1m_before']})", flush=True)
                fp = fingerprint(results)
                if reference is None:
                    reference = fp
                elif fp != reference:
                    bad = [specs[i].episode_id for i, (a, b) in enumerate(zip(fp, reference)) if a != b]
                    mismatches.append(f"repeat {rep} workers={w}: {bad}")
    finally:
        for pool in pools.values():
            pool.close()
        ray.shutdown()
    total_s = time.perf_counter() - started

    rows = []
    for w in sizes:
        mine = [b for b in batches if b["workers"] == w]
        eps = [b["episodes_per_s"] for b in mine]
        utils = [b["cpu_util"] for b in mine if b["cpu_util"] is not None]
        rows.append({
            "workers": w, "torch_threads": threads[w], "batches": len(mine),
            "episodes_per_s_median": round(statistics.median(eps), 4), "episodes_per_s_min": min(eps), "episodes_per_s_max": max(eps),
            "batch_wall_s_median": round(statistics.median(b["wall_s"] for b in mine), 3),
            "cpu_util_median": round(statistics.median(utils), 3) if utils else None,
            "pool_cores_busy_median": round(statistics.median(b["pool_cores_busy"] for b in mine), 3),
            "pool_cpu_s_per_episode_median": round(statistics.median(b["pool_cpu_s_per_episode"] for b in mine), 3),
            "load_1m_median": round(statistics.median(b["load_1m_before"] for b in mine), 2),
        })
    base = rows[0]["episodes_per_s_median"]
    for r in rows:
        r["speedup"] = round(r["episodes_per_s_median"] / base, 3)
    paired = []  # speedup of the last size over the first within each repeat: robust to slow drifts in background load
    for rep in range(args.repeats):
        by = {b["workers"]: b["episodes_per_s"] for b in batches if b["repeat"] == rep}
        paired.append(round(by[sizes[-1]] / by[sizes[0]], 3))

    table = Table(title=f"{args.env}: {args.episodes} episodes x {args.repeats} repeats, K={args.teams}, max_steps {args.max_steps}, "
                        f"admission {args.admission}, {args.cores} cores")
    for col in ("workers", "threads/worker", "episodes/s (median)", "min", "max", "batch s", "pool cores busy", "pool cpu-s/ep",
                "machine cpu", "load", "speedup"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(str(r["workers"]), str(r["torch_threads"]), f"{r['episodes_per_s_median']:.3f}", f"{r['episodes_per_s_min']:.3f}",
                      f"{r['episodes_per_s_max']:.3f}", f"{r['batch_wall_s_median']:.2f}", f"{r['pool_cores_busy_median']:.2f}",
                      f"{r['pool_cpu_s_per_episode_median']:.2f}",
                      f"{r['cpu_util_median']:.2f}" if r["cpu_util_median"] is not None else "-", f"{r['load_1m_median']:.1f}",
                      f"x{r['speedup']:.2f}")
    wide_console().print(table)
    print(f"  paired speedup per repeat ({sizes[-1]} vs {sizes[0]} workers): {paired}")
    busy_load = max(b["load_1m_before"] for b in batches)
    if busy_load > args.cores:
        print(f"  WARNING: the machine was busy (1-min load up to {busy_load:.1f} on {args.cores} cores): other processes took CPU "
              "from the pools, so these numbers understate scaling; 'pool cores busy' shows what each pool got")
    identical = not mismatches
    print("  summaries identical across pool sizes and repeats" if identical else f"  SUMMARIES DIFFER: {mismatches}")

    report = {
        "env": args.env, "episodes": args.episodes, "seeds": [s.seed for s in specs], "teams": args.teams, "max_steps": args.max_steps,
        "admission": args.admission, "repeats": args.repeats, "warmup_episodes": WARMUP_EPISODES,
        "machine": {"cpu_count": os.cpu_count(), "cores_shared_out": args.cores, "python": platform.python_version(), "ray": ray.__version__},
        "rows": rows, "speedup": rows[-1]["speedup"], "max_load_1m": busy_load, "paired_speedups": paired, "summaries_identical": identical,
        "mismatches": mismatches, "batches": batches, "total_s": round(total_s, 1),
    }
    atomic_write_text(args.out, json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())

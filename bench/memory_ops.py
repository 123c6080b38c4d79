"""Benchmark of the memory bank's hot paths and of the bank at app scale, with the real components only.

Measures, on a real bank folder (the product default: a SQLite ledger, Chroma
for namespaces past the exact-search threshold) and the real all-MiniLM-L6-v2
embedder:

1. batched write throughput through `MemoryBank.add` (embedding included),
   split into embedding-only and ledger + index write-only rates;
2. admission decision time: `policy.decide(features)` alone for the fixed and
   learned policies, and the full `MemoryBank.propose` (embedding + novelty
   query + decision + write when admitted), with a per-stage breakdown;
3. two-phase retrieval latency at each namespace size: `search_by_vector`
   (query embedding precomputed), `search` (end to end) and the index alone
   (an exact scan below the threshold, Chroma's HNSW above it), interleaved
   query by query so drift hits all three alike;
4. one namespace per user, as LangGraph apps use a store (1k and 10k users):
   `BankStore.put`, `BankStore.search` in one user's namespace (query
   embedded), `list_namespaces`, folder size, and results from another
   namespace (must be none);
5. N processes x M `update_q` + `record_use` on one entry of one folder:
   updates lost (must be none);
6. bank time per team-step in K = 3 lock-step rounds, one call per team
   against the round's batch API (`search_many` + `evaluate_many`), split into
   embedding and the rest, with the admission decisions of both compared;
7. the embedder's options on this CPU (batch sizes, fp32, one thread, ONNX
   Runtime when the onnx package is installed): throughput and cosine
   agreement with the default's vectors.

Prints a rich table with a goals column and writes JSON (atomically)::

    .venv/bin/python bench/memory_ops.py                       # sizes 10k and 100k, 1k and 10k user namespaces
    .venv/bin/python bench/memory_ops.py --quick --out /tmp/x.json --path /tmp/bank
    .venv/bin/python bench/memory_ops.py --md docs/table.md    # also a markdown table
    .venv/bin/python bench/memory_ops.py --skip writes admission retrieval embedder   # only the app-scale sections

Keys are generated deterministically from `--seed`: 15-25-word agent-step
summaries over rooms, objects, actions, tools and results, so the index and
the embedder see realistic, varied text rather than repeated strings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "memory_ops.json"
DEFAULT_SIZES = (10_000, 100_000)
QUICK = {"sizes": [1000], "write_n": 300, "queries": 30}
SCALE_FULL = {"namespace_counts": [1000, 10_000], "scale_ops": 200, "list_repeats": 10, "processes": 3, "updates": 30,
              "rounds": 60, "round_prefill": 300, "embed_n": 512, "embed_repeats": 3}  # fmt: skip
SCALE_QUICK = {"namespace_counts": [1000], "scale_ops": 20, "list_repeats": 3, "processes": 2, "updates": 5,
               "rounds": 10, "round_prefill": 50, "embed_n": 64, "embed_repeats": 1}  # fmt: skip
WRITE_BATCH = 256
FILL_BATCH = 1024
DECIDE_REPEATS = 2000

GOALS = {
    "write_entries_per_s": 1500.0,  # bank.add incl. embedding, entries/s (>=)
    "put_ms": 10.0,  # BankStore.put into a bank of many namespaces, p50 ms (<=)
    "namespace_search_p95_ms": 15.0,  # BankStore.search in one namespace incl. the query embedding, p95 ms (<=)
    "list_namespaces_ms": 50.0,  # BankStore.list_namespaces(), p50 ms (<=)
    "team_step_ms": 3.0,  # bank time per team-step in a K-team round through the batch API, p50 ms (<=)
    "decide_p95_us": 1000.0,  # policy.decide alone, p95 microseconds (<)
    "retrieval_p95_ms": 25.0,  # two-phase retrieval at the largest size (100k), p95 ms (<=)
}
GOAL_SIZE = 100_000

# -- deterministic, realistic agent-step text ----------------------------------

ROOMS = (
    "kitchen", "pantry", "living room", "bedroom", "bathroom", "garage", "cellar", "attic", "hallway", "laundry room",
    "study", "greenhouse", "workshop", "balcony", "dining room", "nursery", "office", "library", "shed", "porch",
    "basement", "closet", "foyer", "sunroom", "barn", "lab", "storage room", "corridor", "terrace", "garden",
)
ADJECTIVES = (
    "red", "blue", "green", "rusty", "wooden", "metal", "glass", "broken", "locked", "open", "small", "large", "dusty",
    "shiny", "old", "new", "heavy", "empty", "full", "cracked", "wet", "frozen", "hot", "sealed", "striped", "plastic",
)
OBJECTS = (
    "key", "drawer", "cabinet", "fridge", "stove", "sink", "box", "chest", "lamp", "book", "mug", "knife", "apple",
    "banana", "carrot", "potato", "thermometer", "beaker", "battery", "wire", "light bulb", "switch", "door", "window",
    "shelf", "toolbox", "hammer", "screwdriver", "map", "coin", "letter", "bottle", "jar", "flower pot", "seed packet",
    "microscope", "magnet", "candle", "towel", "basket", "sponge", "soap", "clock", "radio", "remote", "kettle",
)
ACTIONS = (
    "opened", "closed", "picked up", "put down", "examined", "moved", "heated", "cooled", "cut", "cooked", "filled",
    "emptied", "unlocked", "locked", "connected", "disconnected", "read", "searched", "inspected", "pushed", "pulled",
    "turned on", "turned off", "poured water into", "placed the item in", "compared", "measured", "cleaned",
)
TOOLS = (
    "the look command", "the inventory tool", "the navigation tool", "a web search", "the python tool",
    "the calculator", "the map tool", "a shell command", "the retrieval tool", "the thermometer reading",
)
RESULTS = (
    "which revealed a hidden compartment", "but nothing happened", "and the task score increased by ten",
    "which failed because it was locked", "and found the missing piece", "which produced an error message",
    "and the temperature rose to ninety degrees", "which completed the subgoal", "but the container was already empty",
    "and the door to the next area opened", "which gave a clue about the recipe", "and the circuit was closed",
    "but the agent lacked the right tool", "which confirmed the earlier hypothesis", "and the plant started to grow",
)
CONNECTORS = ("after", "before", "while", "once", "right after", "just before")
PRIOR = (
    "checking the inventory", "walking from the {room}", "reading the task description", "failing the previous attempt",
    "talking to the other team", "looking around the {room}", "dropping the {obj}", "finding the {adj} {obj}",
)
VALUE_LINES = (
    "Observation: You are in the {room}. You see a {adj} {obj}, a {adj2} {obj2} and a door to the {room2}.",
    "Action: {action} the {obj}. Result: {result}.",
    "Inventory: {obj}, {obj2}, a {adj} {obj3}.",
    "Score: {score}/100. Moves: {moves}.",
    "Thought: the {obj2} might be needed later to finish the task in the {room2}.",
    "Tool output: {tool} returned {n} items matching '{obj}'.",
)


def make_key(rng: random.Random) -> str:
    """One agent-step summary of 15-25 words."""
    room, room2 = rng.sample(ROOMS, 2)
    obj, obj2 = rng.sample(OBJECTS, 2)
    parts = [
        f"Agent {rng.choice(ACTIONS)} the {rng.choice(ADJECTIVES)} {obj} in the {room} using {rng.choice(TOOLS)}",
        rng.choice(RESULTS),
    ]
    if rng.random() < 0.7:
        prior = rng.choice(PRIOR).format(room=room2, obj=obj2, adj=rng.choice(ADJECTIVES))
        parts.append(f"{rng.choice(CONNECTORS)} {prior}")
    if rng.random() < 0.5:
        parts.append(f"at step {rng.randint(1, 30)}")
    words = " ".join(parts).split()
    while len(words) < 15:
        words += f"near the {rng.choice(ADJECTIVES)} {rng.choice(OBJECTS)}".split()
    return " ".join(words[:25])


def make_value(rng: random.Random) -> str:
    """A raw step output: a few observation / action / tool lines (roughly 40-120 tokens)."""
    lines = rng.sample(VALUE_LINES, rng.randint(2, 5))
    room, room2 = rng.sample(ROOMS, 2)
    obj, obj2, obj3 = rng.sample(OBJECTS, 3)
    fields = {
        "room": room, "room2": room2, "obj": obj, "obj2": obj2, "obj3": obj3,
        "adj": rng.choice(ADJECTIVES), "adj2": rng.choice(ADJECTIVES), "action": rng.choice(ACTIONS).capitalize(),
        "result": rng.choice(RESULTS), "score": rng.randint(0, 100), "moves": rng.randint(1, 60),
        "tool": rng.choice(TOOLS), "n": rng.randint(0, 12),
    }  # fmt: skip
    return "\n".join(line.format(**fields) for line in lines)


def make_task(rng: random.Random) -> str:
    return f"Find the {rng.choice(ADJECTIVES)} {rng.choice(OBJECTS)} and bring it to the {rng.choice(ROOMS)}"


class TextGen:
    """Deterministic stream of (key, value) pairs; separate streams per purpose."""

    def __init__(self, seed: int, stream: str) -> None:
        self.rng = random.Random(f"{seed}:{stream}")

    def keys(self, n: int) -> list[str]:
        return [make_key(self.rng) for _ in range(n)]

    def pairs(self, n: int) -> list[tuple[str, str]]:
        return [(make_key(self.rng), make_value(self.rng)) for _ in range(n)]


# -- statistics ---------------------------------------------------------------


def summarize(samples_s: Sequence[float], scale: float) -> dict[str, float]:
    """p50 / p95 / mean / min / max of timings (seconds) in the unit `scale` (1e3 = ms, 1e6 = us)."""
    arr = np.asarray(samples_s, dtype=np.float64) * scale
    return {
        "n": int(arr.size),
        "p50": float(np.percentile(arr, 50)),
        "p95": float(np.percentile(arr, 95)),
        "mean": float(arr.mean()),
        "min": float(arr.min()),
        "max": float(arr.max()),
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


# -- machine info ---------------------------------------------------------------


class CpuMeter:
    """CPU time the rest of the machine used while a stage ran (other processes skew timings on 2 cores)."""

    def __init__(self) -> None:
        self.t0, self.busy0, self.own0 = time.perf_counter(), self._busy(), self._own()

    @staticmethod
    def _busy() -> float | None:
        try:
            with open("/proc/stat", encoding="ascii") as f:
                fields = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _own() -> float:
        t = os.times()
        return t.user + t.system

    def read(self) -> dict[str, float | None]:
        wall = time.perf_counter() - self.t0
        busy1, own = self._busy(), self._own() - self.own0
        if busy1 is None or self.busy0 is None:
            return {"wall_s": wall, "own_cpu_s": own, "other_cpu_s": None, "other_cpu_share": None}
        other = max(0.0, busy1 - self.busy0 - own)
        return {"wall_s": wall, "own_cpu_s": own, "other_cpu_s": other, "other_cpu_share": other / (wall * (os.cpu_count() or 1))}



def machine_info(embedder: Any) -> dict[str, Any]:
    import chromadb
    import torch

    cpu_model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu_count": os.cpu_count(),
        "cpu_usable": usable,
        "cpu_model": cpu_model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "chromadb": chromadb.__version__,
        "numpy": np.__version__,
        "embedder_bf16": bool(getattr(embedder, "use_bf16", False)),
        "embedder_batch_size": int(getattr(embedder, "batch_size", 0)),
        "loadavg_1m_at_end": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


# -- the benchmark ----------------------------------------------------------------


@dataclass
class Params:
    sizes: list[int]
    write_n: int
    queries: int
    path: str
    seed: int
    write_batch: int = WRITE_BATCH
    fill_batch: int = FILL_BATCH
    decide_repeats: int = DECIDE_REPEATS
    namespace_counts: list[int] = field(default_factory=lambda: list(SCALE_FULL["namespace_counts"]))
    scale_ops: int = 200
    list_repeats: int = 10
    processes: int = 3
    updates: int = 30
    teams: int = 3
    rounds: int = 60
    round_prefill: int = 300
    embed_n: int = 512
    embed_repeats: int = 3


def make_entries(pairs: Sequence[tuple[str, str]], ns: tuple[str, ...], seed: int, start: int = 0) -> list[Any]:
    from teammind.memory import Entry, Origin

    rng = random.Random(f"{seed}:ids:{ns}:{start}")
    return [
        Entry.new(ns, k, v, origin=Origin(team=f"team-{j % 3}", agent="actor", step=j % 30), id=f"{rng.getrandbits(128):032x}")
        for j, (k, v) in enumerate(pairs, start)
    ]


def bench_writes(bank: Any, p: Params, run: str) -> dict[str, Any]:
    """bank.add in batches (embedding + Chroma) vs embedding alone and Chroma upsert alone (fresh namespace), per batch."""
    pairs = TextGen(p.seed, "write").pairs(p.write_n)
    keys = [k for k, _ in pairs]
    key_words = [len(k.split()) for k in keys]

    # warm-up: embedder kernels and a Chroma collection (not counted)
    warm = make_entries(TextGen(p.seed, "warm").pairs(64), ("bench", run, "warm"), p.seed)
    bank.add(warm)

    t_build, entries = timed(lambda: make_entries(pairs, ("bench", run, "write"), p.seed))
    chroma_entries = make_entries(pairs, ("bench", run, "write-chroma"), p.seed)
    t_add, t_embed, t_chroma = [], [], []
    order = random.Random(f"{p.seed}:write-order")
    for i in range(0, len(entries), p.write_batch):
        sl = slice(i, i + p.write_batch)

        def add(sl: slice = sl) -> None:
            dt, _ = timed(lambda: bank.add(entries[sl]))
            t_add.append(dt)

        def embed_then_chroma(sl: slice = sl) -> None:
            dt, vecs = timed(lambda: bank.embed(keys[sl]))
            t_embed.append(dt)
            dt, _ = timed(lambda: bank._write(chroma_entries[sl], [v[None, :] for v in vecs]))
            t_chroma.append(dt)

        # interleaved batch by batch, in random order, so load from other processes hits all three alike
        steps = [add, embed_then_chroma]
        order.shuffle(steps)
        for step in steps:
            step()
    sizes = [len(entries[i : i + p.write_batch]) for i in range(0, len(entries), p.write_batch)]

    def per_batch_rate(ts: list[float]) -> float:
        return float(np.median([n / t for n, t in zip(sizes, ts)]))

    n = len(entries)
    assert bank.episodic.count(("bench", run, "write")) == n, "bank.add did not write every entry"
    return {
        "n": n,
        "batch": p.write_batch,
        "key_words_min": min(key_words),
        "key_words_max": max(key_words),
        "key_words_mean": statistics.fmean(key_words),
        "entry_build_s": t_build,
        "add_s": sum(t_add),
        "add_entries_per_s": n / sum(t_add),
        "add_batch_entries_per_s_p50": per_batch_rate(t_add),
        "embed_s": sum(t_embed),
        "embed_entries_per_s": n / sum(t_embed),
        "embed_batch_entries_per_s_p50": per_batch_rate(t_embed),
        "chroma_s": sum(t_chroma),
        "chroma_entries_per_s": n / sum(t_chroma),
        "chroma_batch_entries_per_s_p50": per_batch_rate(t_chroma),
        "embed_share_of_add": sum(t_embed) / sum(t_add),
        "chroma_share_of_add": sum(t_chroma) / sum(t_add),
    }


def bench_admission(bank: Any, p: Params, run: str) -> dict[str, Any]:
    """policy.decide alone (features precomputed) and the full propose, for each policy."""
    from teammind.memory import AdmitAll, LearnedAdmission, NoveltyThreshold, StepCandidate
    from teammind.memory.tokens import count_tokens

    ns = ("bench", run, "write")  # holds write_n entries: a realistic novelty query
    gen = TextGen(p.seed, "admission")
    trng = random.Random(f"{p.seed}:tasks")
    tasks = [make_task(trng) for _ in range(8)]
    cand_rng = random.Random(f"{p.seed}:cand")
    tool_names = ("look", "inventory", "python", "search", "navigate")

    def candidate(key: str, value: str, i: int) -> StepCandidate:
        return StepCandidate(
            namespace=ns, task=tasks[i % len(tasks)], key=key, value=value, tool=cand_rng.choice(tool_names),
            error=cand_rng.random() < 0.1, step_index=i % 30, max_steps=30, n_teams=3,
        )  # fmt: skip

    policies = {"AdmitAll": AdmitAll(), "NoveltyThreshold": NoveltyThreshold(), "LearnedAdmission": LearnedAdmission(seed=p.seed)}

    # (a) decide alone: a pool of real features, each policy decides on every one
    pool_n = min(64, max(8, p.queries))
    feats = []
    for i, (k, v) in enumerate(gen.pairs(pool_n)):
        f = bank.features_for(candidate(k, v, i))
        feats.append(replace(f, value_tokens=count_tokens(v)))
    decide: dict[str, Any] = {}
    for name, pol in policies.items():
        for f in feats[:16]:  # warm-up
            pol.decide(f)
        samples = []
        for j in range(p.decide_repeats):
            f = feats[j % len(feats)]
            t0 = time.perf_counter()
            pol.decide(f)
            samples.append(time.perf_counter() - t0)
        decide[name] = summarize(samples, 1e6)

    # (b) full propose, one fresh candidate per call, with a per-stage breakdown
    propose: dict[str, Any] = {}
    n = max(5, p.queries)
    for name, pol in policies.items():
        cands = [candidate(k, v, i) for i, (k, v) in enumerate(gen.pairs(n + 5))]
        for c in cands[:5]:  # warm-up (also fills the task-embedding cache, as in a running team)
            bank.propose(c, pol)
        samples, admitted = [], 0
        for c in cands[5:]:
            t0 = time.perf_counter()
            prop = bank.propose(c, pol)
            samples.append(time.perf_counter() - t0)
            admitted += prop.admitted
        propose[name] = {**summarize(samples, 1e3), "admitted": admitted}

    # stage breakdown of propose (same calls propose makes, timed one by one)
    stages: dict[str, list[float]] = {"embed_key": [], "novelty_query": [], "decide": [], "write": []}
    pol = policies["NoveltyThreshold"]
    for i, (k, v) in enumerate(gen.pairs(n)):
        c = candidate(k, v, i)
        dt, key_vec = timed(lambda c=c: bank.embedder.encode([c.key])[0])
        stages["embed_key"].append(dt)
        task_vec = bank.embedder.encode([c.task])[0]
        dt, f = timed(lambda c=c, kv=key_vec: bank.features_from_vectors(c, task_vec, kv))
        stages["novelty_query"].append(dt)
        dt, _ = timed(lambda f=f: pol.decide(f))
        stages["decide"].append(dt)
        e = make_entries([(k, v)], ns, p.seed, start=10_000_000 + i)
        dt, _ = timed(lambda e=e, kv=key_vec: bank._write(e, [kv[None, :]]))
        stages["write"].append(dt)
    return {
        "decide_us": decide,
        "decide_repeats": p.decide_repeats,
        "propose_ms": propose,
        "propose_stages_ms": {k: summarize(v, 1e3) for k, v in stages.items()},
        "namespace_size": bank.episodic.count(ns),
    }


def fill(bank: Any, ns: tuple[str, ...], target: int, p: Params, gen: TextGen) -> dict[str, Any]:
    """Grow namespace `ns` to `target` entries through bank.add (embedding included); rate per tenth of the fill."""
    from tqdm.auto import tqdm

    have = bank.episodic.count(ns)
    todo = target - have
    if todo <= 0:
        return {"added": 0, "seconds": 0.0, "entries_per_s": 0.0, "rate_curve": []}
    t0 = time.perf_counter()
    curve, seg_n, seg_t, seg_len = [], 0, 0.0, max(p.fill_batch, todo // 10)
    with tqdm(total=todo, desc=f"fill to {target:,}", unit="entry", disable=None, file=sys.stderr) as bar:
        done = 0
        while done < todo:
            m = min(p.fill_batch, todo - done)
            entries = make_entries(gen.pairs(m), ns, p.seed, start=have + done)
            dt, _ = timed(lambda: bank.add(entries))
            done += m
            seg_n, seg_t = seg_n + m, seg_t + dt
            if seg_n >= seg_len or done == todo:
                curve.append({"size": have + done, "entries_per_s": seg_n / seg_t})
                seg_n, seg_t = 0, 0.0
            bar.update(m)
    dt = time.perf_counter() - t0
    return {"added": todo, "seconds": dt, "entries_per_s": todo / dt, "rate_curve": curve}


def write_split_at(bank: Any, ns: tuple[str, ...], p: Params, gen: TextGen) -> dict[str, float]:
    """Embedding-only and Chroma-upsert-only rates for one fill batch written into the (large) namespace."""
    pairs = gen.pairs(p.fill_batch)
    start = 10**9 + bank.episodic.count(ns)  # ids disjoint from the fill's
    entries = make_entries(pairs, ns, p.seed, start=start)
    t_embed, vecs = timed(lambda: bank.embed([k for k, _ in pairs]))
    t_chroma, _ = timed(lambda: bank._write(entries, [v[None, :] for v in vecs]))
    n = len(pairs)
    return {
        "n": n,
        "embed_entries_per_s": n / t_embed,
        "chroma_entries_per_s": n / t_chroma,
        "serial_entries_per_s": n / (t_embed + t_chroma),
    }


def bench_retrieval(bank: Any, p: Params, run: str) -> dict[str, Any]:
    """At each size: search_by_vector, search and bare collection.query, interleaved per query."""
    ns = ("bench", run, "retrieval")
    fill_gen = TextGen(p.seed, "fill")
    k1 = bank.retrieval.k1
    queries = TextGen(p.seed, "queries").keys(p.queries)
    warm_q = TextGen(p.seed, "warm-queries").keys(max(10, p.queries // 10))
    t_qe, qvecs = timed(lambda: bank.embed(queries))
    warm_vecs = bank.embed(warm_q)
    cfg = bank.retrieval
    out: dict[str, Any] = {"k1": k1, "k2": cfg.k2, "delta": cfg.delta, "lam": cfg.lam, "sizes": {}}
    for size in sorted(p.sizes):
        filled = fill(bank, ns, size, p, fill_gen)
        count = bank.episodic.count(ns)
        assert count == size, f"namespace holds {count}, expected {size}"

        def bare(v: np.ndarray) -> Any:  # the index alone: an exact scan below the threshold, Chroma's HNSW above it
            return bank.index.query(ns, "step", np.asarray(v, dtype=np.float32).reshape(1, -1), k1)

        for q, v in zip(warm_q, warm_vecs):  # warm-up: index pages, sqlite cache, code paths
            bare(v)
            bank.search_by_vector(ns, v)
            bank.search(ns, q)
        t_bare, t_vec, t_e2e, hits = [], [], [], []
        bank.embedder.clear_cache()  # the same queries are searched at every size: time their embedding, not the cache
        order = random.Random(f"{p.seed}:order:{size}")
        for q, v in zip(queries, qvecs):
            calls = [
                ("bare", lambda v=v: bare(v)),
                ("vec", lambda v=v: bank.search_by_vector(ns, v)),
                ("e2e", lambda q=q: bank.search(ns, q)),
            ]
            order.shuffle(calls)  # no call always runs first (cache) or last
            for name, fn in calls:
                dt, res = timed(fn)
                {"bare": t_bare, "vec": t_vec, "e2e": t_e2e}[name].append(dt)
                if name == "vec":
                    hits.append(len(res))
        b, s, e = summarize(t_bare, 1e3), summarize(t_vec, 1e3), summarize(t_e2e, 1e3)
        out["sizes"][str(size)] = {
            "size": size,
            "fill": filled,
            "bare_chroma_query_ms": b,
            "search_by_vector_ms": s,
            "search_ms": e,
            "overhead_p50_ms": s["p50"] - b["p50"],
            "overhead_p95_ms": s["p95"] - b["p95"],
            "overhead_ratio_p50": s["p50"] / b["p50"],
            "overhead_ratio_p95": s["p95"] / b["p95"],
            "mean_hits": statistics.fmean(hits),
            "index": "chroma-hnsw" if bank.ledger.state(ns).collection else "exact",
        }
        # after the timed queries (so the size above is exact): where write time goes in a namespace this big
        out["sizes"][str(size)]["write_split_after"] = write_split_at(bank, ns, p, fill_gen)
    out["query_embed_batch_ms_per_query"] = 1e3 * t_qe / len(queries)
    return out


# -- app scale: many namespaces, many processes, a K-team round, the embedder's options -----------------


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def bench_namespace_scale(embedder: Any, p: Params) -> dict[str, Any]:
    """One user namespace per user, as LangGraph apps use a store: put, search in one namespace, list_namespaces, folder size."""
    from langgraph.store.base import PutOp

    from teammind.memory import BankStore, MemoryBank

    out: dict[str, Any] = {}
    for n in p.namespace_counts:
        folder = Path(p.path) / f"namespaces-{n}-{uuid.uuid4().hex[:6]}"
        bank = MemoryBank(folder, embedder=embedder)
        store = BankStore(bank)
        gen = TextGen(p.seed, f"users-{n}")
        texts = gen.keys(n)
        t_build, _ = timed(lambda: store.batch([PutOp(("users", f"u{i}"), "memory", {"text": t}) for i, t in enumerate(texts)]))
        extra = gen.keys(p.scale_ops)
        embedder.clear_cache()
        puts = [timed(lambda j=j, t=t: store.put(("users", f"new{j}"), "memory", {"text": t}))[0] for j, t in enumerate(extra)]
        rng = random.Random(f"{p.seed}:users:{n}")
        queries = TextGen(p.seed, f"user-queries-{n}").keys(p.scale_ops)
        searches, foreign = [], 0
        for q in queries:
            uid = f"u{rng.randrange(n)}"
            dt, res = timed(lambda q=q, uid=uid: store.search(("users", uid), query=q))
            searches.append(dt)
            foreign += sum(r.namespace != ("users", uid) for r in res)
        lists = [timed(lambda: store.list_namespaces())[0] for _ in range(p.list_repeats)]
        full = [timed(lambda: store.list_namespaces(prefix=("users",), limit=n + p.scale_ops))[0] for _ in range(p.list_repeats)]
        listed = len(store.list_namespaces(prefix=("users",), limit=n + p.scale_ops))
        store.close()
        size = folder_bytes(folder)
        out[str(n)] = {
            "namespaces": n, "build_s": t_build, "build_entries_per_s": n / t_build,
            "put_ms": summarize(puts, 1e3), "search_ms": summarize(searches, 1e3), "foreign_results": foreign,
            "list_namespaces_ms": summarize(lists, 1e3), "list_all_ms": summarize(full, 1e3), "listed": listed,
            "folder_mb": size / 2**20, "folder_bytes_per_entry": size / (n + len(extra)),
        }  # fmt: skip
    return out


UPDATER = """
import sys
from teammind.memory import MemoryBank
bank = MemoryBank(sys.argv[1])
for _ in range(int(sys.argv[3])):
    bank.update_q(("bench", "shared"), [sys.argv[2]], reward=1.0, alpha=0.1)
    bank.record_use(("bench", "shared"), [sys.argv[2]], team="p")
"""


def bench_processes(embedder: Any, p: Params) -> dict[str, Any]:
    """N processes x M update_q + record_use on one entry of one bank folder: updates lost (expected 0)."""
    import subprocess

    from teammind.memory import MemoryBank

    folder = Path(p.path) / f"processes-{uuid.uuid4().hex[:6]}"
    bank = MemoryBank(folder, embedder=embedder)
    entry = bank.add_step(("bench", "shared"), "one step every process rewards", "value")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", UPDATER, str(folder), entry.id, str(p.updates)], env=env, stderr=subprocess.PIPE, text=True)
             for _ in range(p.processes)]  # fmt: skip
    errors = [proc.communicate()[1] for proc in procs if proc.wait() != 0]
    wall = time.perf_counter() - t0
    got = bank.get(("bench", "shared"), entry.id)
    expected = p.processes * p.updates
    return {
        "processes": p.processes, "updates_each": p.updates, "expected": expected, "visits": got.visits,
        "uses": sum(got.uses.values()), "lost_updates": expected - got.visits, "lost_uses": expected - sum(got.uses.values()),
        "q_error": abs(got.q - (1 - 0.9**expected)), "wall_s": wall, "errors": errors[:1],
    }  # fmt: skip


def bench_round(bank: Any, p: Params, run: str) -> dict[str, Any]:
    """Bank time per team-step in lock-step rounds of K teams: one call per team vs the round's batch API.

    Each team searches with a query from a small set (scripted agents repeat theirs) and proposes a fresh key;
    both paths run on twin namespaces that receive the same entries, round by round in alternating order.
    """
    from teammind.memory import MemoryBank, NoveltyThreshold, SearchRequest, StepCandidate
    from teammind.memory.embeddings import Embedder

    k, policy = p.teams, NoveltyThreshold()
    # each path gets its own embedder (same model, own cache): a key embedded by one path must not be a cache hit for the other
    banks = {"one_by_one": bank, "batched": MemoryBank(p.path, embedder=TimedEmbedder(Embedder()))}
    bank.embedder = TimedEmbedder(bank.embedder)
    gen = TextGen(p.seed, "round")
    trng = random.Random(f"{p.seed}:round-tasks")
    tasks = [make_task(trng) for _ in range(k)]
    query_pool = TextGen(p.seed, "round-queries").keys(8)
    spaces = {"one_by_one": ("bench", run, "round-a"), "batched": ("bench", run, "round-b")}
    seed_pairs = gen.pairs(p.round_prefill)
    for ns in spaces.values():
        bank.add(make_entries(seed_pairs, ns, p.seed))
    times: dict[str, list[float]] = {name: [] for name in spaces}
    embed_times: dict[str, list[float]] = {name: [] for name in spaces}
    same = True
    order = random.Random(f"{p.seed}:round-order")
    for r in range(p.rounds):
        pairs = gen.pairs(k)
        queries = [query_pool[(r * k + t) % len(query_pool)] for t in range(k)]
        decisions: dict[str, list[bool]] = {}
        names = list(spaces)
        order.shuffle(names)
        for name in names:
            ns, b = spaces[name], banks[name]
            cands = [StepCandidate(ns, tasks[t], key, value, step_index=r % 30, n_teams=k) for t, (key, value) in enumerate(pairs)]
            b.embedder.spent = 0.0
            t0 = time.perf_counter()
            if name == "one_by_one":
                for q in queries:
                    b.search(ns, q)
                proposals = [b.evaluate(c, policy) for c in cands]
            else:
                b.search_many([SearchRequest(ns, q) for q in queries])
                proposals = b.evaluate_many(cands, policy)
            b.commit(proposals)
            times[name].append((time.perf_counter() - t0) / k)
            embed_times[name].append(b.embedder.spent / k)
            decisions[name] = [pr.admitted for pr in proposals]
        same = same and decisions["one_by_one"] == decisions["batched"]
    warm = max(1, p.rounds // 10)  # the first rounds fill the embedder's cache of tasks and queries
    bank.embedder = bank.embedder.inner
    banks["batched"].close()
    return {
        "teams": k, "rounds": p.rounds, "prefill": p.round_prefill, "decisions_identical": same,
        **{f"{name}_ms_per_team_step": summarize(ts[warm:], 1e3) for name, ts in times.items()},
        **{f"{name}_embed_ms_per_team_step": summarize(ts[warm:], 1e3) for name, ts in embed_times.items()},
        **{f"{name}_rest_ms_per_team_step": summarize(np.subtract(times[name], embed_times[name])[warm:], 1e3) for name in times},
    }  # fmt: skip


class TimedEmbedder:
    """An embedder that adds the seconds its calls take to `spent` (to split bank time into embedding and the rest)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.spent = inner, 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _timed(self, encode: Callable[[Any], np.ndarray], texts: Any) -> np.ndarray:
        t0 = time.perf_counter()
        try:
            return encode(texts)
        finally:
            self.spent += time.perf_counter() - t0

    def encode(self, texts: Any) -> np.ndarray:
        return self._timed(self.inner.encode, texts)

    def encode_many(self, texts: Any) -> np.ndarray:
        return self._timed(self.inner.encode_many, texts)


def bench_embedder(embedder: Any, p: Params) -> dict[str, Any]:
    """Bulk embedding throughput of each option on this CPU, and its cosine agreement with the default's vectors."""
    import torch

    from teammind.memory.embeddings import Embedder

    texts = TextGen(p.seed, "embed-options").keys(p.embed_n)
    ref = embedder.encode(texts)
    options: dict[str, Callable[[list[str]], np.ndarray]] = {}
    default_batch = embedder.batch_size
    for bs in (32, 64, 128, 256):
        options[f"torch {'bf16' if embedder.use_bf16 else 'fp32'} batch {bs}"] = lambda t, bs=bs: _with_batch(embedder, bs, t)
    fp32 = Embedder(precision="fp32", cache_size=0)
    options["torch fp32 batch 64"] = fp32.encode
    options["torch bf16 batch 64, 1 thread"] = lambda t: _one_thread(embedder, t)
    ort = onnx_encoder(embedder)
    if ort is not None:
        options["onnxruntime fp32 batch 64"] = ort
    out: dict[str, Any] = {}
    for name, fn in options.items():
        rates, vecs = [], None
        for _ in range(p.embed_repeats):
            dt, vecs = timed(lambda fn=fn: fn(texts))
            rates.append(len(texts) / dt)
        cos = np.sum(np.asarray(vecs) * ref, axis=1)
        out[name] = {"entries_per_s": float(np.median(rates)), "cosine_min": float(cos.min()), "cosine_mean": float(cos.mean())}
    embedder.batch_size = default_batch
    torch.set_num_threads(torch.get_num_threads())
    return {"n": len(texts), "options": out, "onnx": "measured" if ort is not None else "skipped: the onnx package is not installed"}


def _with_batch(embedder: Any, bs: int, texts: list[str]) -> np.ndarray:
    old, embedder.batch_size = embedder.batch_size, bs
    try:
        return embedder.encode(texts)
    finally:
        embedder.batch_size = old


def _one_thread(embedder: Any, texts: list[str]) -> np.ndarray:
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return embedder.encode(texts)
    finally:
        torch.set_num_threads(old)


def onnx_encoder(embedder: Any) -> Callable[[list[str]], np.ndarray] | None:
    """The same weights under ONNX Runtime (exported once into a temp folder), or None without the onnx package."""
    import importlib.util

    if importlib.util.find_spec("onnx") is None:
        return None
    import onnxruntime
    import torch

    model = embedder._model[0].auto_model
    tok = embedder._model.tokenizer

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.m = model

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            return self.m(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state

    path = Path(tempfile.mkdtemp(prefix="tm-onnx-")) / "minilm.onnx"
    enc = tok(["a warm-up text", "another one"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    torch.onnx.export(Wrapped().eval(), tuple(enc[n] for n in names), str(path), input_names=names, output_names=["out"],
                      dynamic_axes={n: {0: "b", 1: "s"} for n in [*names, "out"]}, opset_version=17, dynamo=False)  # fmt: skip
    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = os.cpu_count() or 1
    sess = onnxruntime.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def encode(texts: list[str]) -> np.ndarray:
        out = []
        for i in range(0, len(texts), 64):
            e = tok(texts[i : i + 64], padding=True, truncation=True, max_length=256, return_tensors="np")
            h = sess.run(None, {n: e[n].astype(np.int64) for n in names})[0]
            m = e["attention_mask"][..., None].astype(np.float32)
            v = (h * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
            out.append(v / np.linalg.norm(v, axis=1, keepdims=True))
        return np.concatenate(out).astype(np.float32)

    return encode



def _goal(text: str, value: float, met: bool) -> dict[str, Any]:
    return {"goal": text, "value": value, "met": bool(met)}


def goals(results: dict[str, Any]) -> dict[str, Any]:
    """Goal checks, keyed by the table row they belong to.

    The retrieval goal is defined at 100k entries; a run without that size checks
    it at its largest size and says so. Fill rates are checked against the write
    goal too: they show whether the write goal holds as a namespace grows.
    Sections left out of a run (--skip) have no goals.
    """
    write_goal, decide_goal, ret_goal = GOALS["write_entries_per_s"], GOALS["decide_p95_us"], GOALS["retrieval_p95_ms"]
    out: dict[str, Any] = {}
    if "writes" in results:
        w = results["writes"]["add_entries_per_s"]
        out["write_throughput"] = _goal(f">= {write_goal:.0f}/s", w, w >= write_goal)
    for name, d in results.get("admission", {}).get("decide_us", {}).items():
        out[f"decide_{name}"] = _goal(f"p95 < {decide_goal:.0f} us", d["p95"], d["p95"] < decide_goal)
    sizes = results.get("retrieval", {}).get("sizes", {})
    for size, d in sizes.items():
        if d["fill"]["added"]:
            v = d["fill"]["entries_per_s"]
            out[f"fill_to_{size}"] = _goal(f">= {write_goal:.0f}/s", v, v >= write_goal)
    if sizes:
        size = str(GOAL_SIZE) if str(GOAL_SIZE) in sizes else str(max(int(s) for s in sizes))
        where = f"{GOAL_SIZE // 1000}k" + ("" if int(size) == GOAL_SIZE else f" (run: {int(size):,})")
        for metric in ("search_by_vector", "search"):
            v = sizes[size][f"{metric}_ms"]["p95"]
            out[f"retrieval_{metric}_at_{size}"] = _goal(f"p95 <= {ret_goal:.0f} ms @ {where}", v, v <= ret_goal)
    for n, d in results.get("namespace_scale", {}).items():
        out[f"put_at_{n}"] = _goal(f"p50 <= {GOALS['put_ms']:.0f} ms", d["put_ms"]["p50"], d["put_ms"]["p50"] <= GOALS["put_ms"])
        v = d["search_ms"]["p95"]
        out[f"ns_search_at_{n}"] = _goal(f"p95 <= {GOALS['namespace_search_p95_ms']:.0f} ms, 0 foreign", v,
                                         v <= GOALS["namespace_search_p95_ms"] and d["foreign_results"] == 0)  # fmt: skip
        v = d["list_namespaces_ms"]["p50"]
        out[f"list_at_{n}"] = _goal(f"p50 <= {GOALS['list_namespaces_ms']:.0f} ms", v, v <= GOALS["list_namespaces_ms"])
    if "processes" in results:
        d = results["processes"]
        out["processes_no_lost_update"] = _goal(f"{d['expected']} of {d['expected']} kept", max(d["visits"], 1e-9),
                                                d["lost_updates"] == 0 and d["lost_uses"] == 0 and not d["errors"])  # fmt: skip
    if "round" in results:
        v = results["round"]["batched_ms_per_team_step"]["p50"]
        out["team_step_batched"] = _goal(f"p50 <= {GOALS['team_step_ms']:.0f} ms", v, v <= GOALS["team_step_ms"])
    return out


# -- report ------------------------------------------------------------------------

Row = tuple[str, str, str, str, str]  # metric, p50 / value, p95, goal, status


def table_rows(r: dict[str, Any]) -> list[Row]:
    """Rows shared by the rich and the markdown table."""
    g = r["goals"]

    def row(metric: str, value: str, p95: str = "", goal_key: str | None = None) -> Row:
        if goal_key is None or goal_key not in g:
            return (metric, value, p95, "", "")
        return (metric, value, p95, g[goal_key]["goal"], "met" if g[goal_key]["met"] else "NOT met")

    def lat(d: dict[str, float], digits: int = 2) -> tuple[str, str]:
        return f"{d['p50']:.{digits}f}", f"{d['p95']:.{digits}f}"

    rows: list[Row] = []
    if "writes" in r:
        w = r["writes"]
        rows += [
            row(f"bank.add, {w['batch']}/batch, embedding incl. (entries/s)", f"{w['add_entries_per_s']:,.0f}", "", "write_throughput"),
            row(f"  embedding only (entries/s; {w['embed_share_of_add']:.0%} of add time)", f"{w['embed_entries_per_s']:,.0f}"),
            row(f"  ledger + index write only (entries/s; {w['chroma_share_of_add']:.0%} of add time)", f"{w['chroma_entries_per_s']:,.0f}"),
        ]
    a = r.get("admission", {})
    for name, d in a.get("decide_us", {}).items():
        rows.append(row(f"{name}.decide (us)", *lat(d, 1), f"decide_{name}"))
    for name, d in a.get("propose_ms", {}).items():
        rows.append(row(f"bank.propose, {name} (ms)", *lat(d)))
    for stage, d in a.get("propose_stages_ms", {}).items():
        rows.append(row(f"  propose stage: {stage} (ms)", *lat(d, 3)))
    k1, fill_batch = r.get("retrieval", {}).get("k1"), r["params"]["fill_batch"]
    for size, d in r.get("retrieval", {}).get("sizes", {}).items():
        n, f, ws = int(size), d["fill"], d["write_split_after"]
        if f["added"]:
            label = f"fill {n - f['added']:,} -> {n:,} via bank.add, {fill_batch}/batch (entries/s)"
            rows.append(row(label, f"{f['entries_per_s']:,.0f}", "", f"fill_to_{size}"))
        split = f"{ws['embed_entries_per_s']:,.0f} / {ws['chroma_entries_per_s']:,.0f}"
        rows.append(row(f"  at {n:,}: embedding only / ledger + index write only (entries/s)", split))
        rows.append(row(f"bare index query ({d['index']}) k1={k1} @ {n:,} (ms)", *lat(d["bare_chroma_query_ms"])))
        vec_key = f"retrieval_search_by_vector_at_{size}"
        rows.append(row(f"search_by_vector (two-phase) @ {n:,} (ms)", *lat(d["search_by_vector_ms"]), vec_key))
        overhead = [f"{d[f'overhead_{q}_ms']:+.2f} ({d[f'overhead_ratio_{q}']:.2f}x)" for q in ("p50", "p95")]
        rows.append(row(f"  two-phase overhead vs the index alone @ {n:,} (ms, ratio)", *overhead))
        rows.append(row(f"search (embed query + two-phase) @ {n:,} (ms)", *lat(d["search_ms"]), f"retrieval_search_at_{size}"))
    for n, d in r.get("namespace_scale", {}).items():
        k = f"{int(n):,}"
        rows.append(row(f"{k} user namespaces: BankStore.put (ms)", *lat(d["put_ms"]), f"put_at_{n}"))
        rows.append(row(f"{k} user namespaces: BankStore.search in one, query embedded (ms)", *lat(d["search_ms"]), f"ns_search_at_{n}"))
        rows.append(row(f"{k} user namespaces: list_namespaces() (ms)", *lat(d["list_namespaces_ms"]), f"list_at_{n}"))
        rows.append(row(f"  list all {d['listed']:,} namespaces (ms)", *lat(d["list_all_ms"])))
        rows.append(row(f"  folder size (MB; bytes per entry)", f"{d['folder_mb']:.1f}", f"{d['folder_bytes_per_entry']:,.0f}"))
        rows.append(row(f"  bulk build through one store.batch of puts (entries/s)", f"{d['build_entries_per_s']:,.0f}"))
    if "processes" in r:
        d = r["processes"]
        label = f"{d['processes']} processes x {d['updates_each']} update_q + record_use on one entry: visits kept"
        rows.append(row(label, f"{d['visits']} / {d['expected']}", f"lost {d['lost_updates']}", "processes_no_lost_update"))
    if "round" in r:
        d = r["round"]
        rows.append(row(f"K={d['teams']} round, one call per team: bank ms per team-step", *lat(d["one_by_one_ms_per_team_step"])))
        rows.append(row(f"K={d['teams']} round, search_many + evaluate_many: bank ms per team-step", *lat(d["batched_ms_per_team_step"]),
                        "team_step_batched"))  # fmt: skip
        for name in ("one_by_one", "batched"):
            rows.append(row(f"  {name}: embedding / the rest (ms per team-step)",
                            f"{d[f'{name}_embed_ms_per_team_step']['p50']:.2f} / {d[f'{name}_rest_ms_per_team_step']['p50']:.2f}"))  # fmt: skip
        rows.append(row("  same admission decisions on both paths", str(d["decisions_identical"])))
    for name, d in r.get("embedder", {}).get("options", {}).items():
        rows.append(row(f"embedder: {name} (entries/s; min cosine to default)", f"{d['entries_per_s']:,.0f}", f"{d['cosine_min']:.5f}"))
    return rows


def print_table(r: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    m = r["machine"]
    title = f"memory_ops ({m['cpu_usable']} CPUs, torch {m['torch']}, chromadb {m['chromadb']}, bf16={m['embedder_bf16']})"
    t = Table(title=title)
    for col, just in (("metric", "left"), ("p50 / value", "right"), ("p95", "right"), ("goal", "left"), ("status", "left")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    t.caption = contention_note(r)
    for row in table_rows(r):
        style = "red" if row[4] == "NOT met" else ("green" if row[4] == "met" else None)
        t.add_row(*row, style=style)
    Console(width=None if sys.stdout.isatty() else 140).print(t)


def contention_note(r: dict[str, Any]) -> str:
    shares = {k: v["other_cpu_share"] for k, v in r.get("contention", {}).items() if v.get("other_cpu_share") is not None}
    if not shares:
        return ""
    parts = ", ".join(f"{k} {100 * v:.0f}%" for k, v in shares.items())
    return f"CPU used by other processes during each stage (share of all cores): {parts}"


def markdown_table(r: dict[str, Any]) -> str:
    lines = ["| metric | p50 / value | p95 | goal | status |", "|---|---:|---:|---|---|"]
    for row in table_rows(r):
        cells = [c.replace("|", "\\|") for c in row]
        cells[0] = cells[0].replace("  ", "&nbsp;&nbsp;", 1) if cells[0].startswith("  ") else cells[0]
        lines.append("| " + " | ".join(cells) + " |")
    note = contention_note(r)
    return "\n".join(lines) + "\n" + (f"\n{note}\n" if note else "")


# -- CLI ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sizes = " ".join(map(str, DEFAULT_SIZES))
    ap.add_argument("--sizes", type=int, nargs="+", default=None, help=f"namespace sizes for retrieval (default {sizes})")
    ap.add_argument("--write-n", type=int, default=None, help="entries written in the write-throughput test (default 2000)")
    ap.add_argument("--queries", type=int, default=None, help="timed queries per size; propose calls per policy (default 200)")
    ap.add_argument("--path", default=None, help="bank folder (PersistentClient); default a temp dir removed afterwards")
    ap.add_argument("--seed", type=int, default=0, help="seed of the generated keys, values and ids (default 0)")
    out_help = "JSON results, written atomically (default bench/results/memory_ops.json)"
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=out_help)
    ap.add_argument("--md", type=Path, default=None, help="also write the table as markdown to this file")
    ap.add_argument("--quick", action="store_true", help="smoke test: --sizes 1000 --write-n 300 --queries 30 (flags win)")
    ap.add_argument("--namespaces", type=int, nargs="+", default=None, help="namespace counts of the app-scale section (default 1000 10000)")
    ap.add_argument("--skip", nargs="+", default=[], choices=["writes", "admission", "retrieval", "namespace_scale", "processes", "round", "embedder"],
                    help="sections to leave out")  # fmt: skip
    args = ap.parse_args(argv)
    base = QUICK if args.quick else {"sizes": list(DEFAULT_SIZES), "write_n": 2000, "queries": 200}
    for k, v in base.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    for name in ("write_n", "queries"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")
    if any(s < 1 for s in args.sizes):
        ap.error("--sizes must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    from teammind.memory import MemoryBank, get_embedder
    from teammind.memory.files import atomic_write_text

    tmp_path = None
    if args.path is None:
        tmp_path = tempfile.mkdtemp(prefix="teammind-bench-")
        path = tmp_path
    else:
        path = str(Path(args.path).expanduser())
    scale = dict(SCALE_QUICK if args.quick else SCALE_FULL)
    if args.namespaces:
        scale["namespace_counts"] = sorted(set(args.namespaces))
    p = Params(sizes=sorted(set(args.sizes)), write_n=args.write_n, queries=args.queries, path=path, seed=args.seed, **scale)
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None  # >~0.5 on idle = someone else is busy
    run = uuid.uuid4().hex[:8]  # namespaces are per run, so reusing --path never mixes runs
    t_start = time.perf_counter()
    try:
        t_load, embedder = timed(get_embedder)
        bank = MemoryBank(path, embedder=embedder)
        stage = lambda s: print(f"[memory_ops] {s}", file=sys.stderr, flush=True)  # noqa: E731
        stage(f"bank at {path} (run {run})")
        results: dict[str, Any] = {}
        stage_s: dict[str, float] = {"embedder_load": t_load}
        contention: dict[str, Any] = {}
        sections = [
            ("writes", bench_writes, f"writes: {p.write_n} entries"),
            ("admission", bench_admission, "admission"),
            ("retrieval", bench_retrieval, f"retrieval at sizes {p.sizes}"),
            ("namespace_scale", lambda b, p, r: bench_namespace_scale(embedder, p), f"user namespaces: {p.namespace_counts}"),
            ("processes", lambda b, p, r: bench_processes(embedder, p), f"{p.processes} processes x {p.updates} updates"),
            ("round", bench_round, f"K={p.teams} rounds: {p.rounds}"),
            ("embedder", lambda b, p, r: bench_embedder(embedder, p), "embedder options"),
        ]
        skip = set(args.skip) | ({"embedder"} if args.quick else set())
        for name, fn, note in sections:
            if name in skip:
                continue
            stage(note)
            meter = CpuMeter()
            stage_s[name], results[name] = timed(lambda fn=fn: fn(bank, p, run))
            contention[name] = meter.read()
        bank.close()
    finally:
        if tmp_path is not None:
            shutil.rmtree(tmp_path, ignore_errors=True)
    report = {
        "benchmark": "memory_ops",
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]) if argv is None else "main(" + repr(list(argv)) + ")",
        "machine": machine_info(embedder),
        "params": {
            "sizes": p.sizes, "write_n": p.write_n, "queries": p.queries, "seed": p.seed, "quick": args.quick,
            "path": "temp dir" if tmp_path else path, "client": "PersistentClient", "write_batch": p.write_batch,
            "fill_batch": p.fill_batch, "decide_repeats": p.decide_repeats, "run": run, "skipped": sorted(skip),
            **{k: getattr(p, k) for k in SCALE_FULL},
        },  # fmt: skip
        "stage_s": stage_s,
        "contention": contention,  # other_cpu_share: fraction of all cores other processes used during the stage
        **results,
        "total_s": time.perf_counter() - t_start,
    }
    report["machine"]["loadavg_1m_at_start"] = load_start
    report["goals"] = goals(report)
    report["all_goals_met"] = all(g["met"] for g in report["goals"].values())
    atomic_write_text(args.out, json.dumps(report, indent=2) + "\n")
    if args.md is not None:
        atomic_write_text(args.md, markdown_table(report))
    print_table(report)
    print(f"results -> {args.out}  ({report['total_s']:.0f} s)", file=sys.stderr)
    return report


if __name__ == "__main__":
    main()

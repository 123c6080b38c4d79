"""How few steps can admission alone buy? Rules that admit a step by its tool, side by side with `all`.

    python bench/admission_bound.py --env twx:twc --seeds 100..119 --rules put put,open put,move put,take all

A rule is a comma-separated set of tools (the first word of the step's
action: `put`, `take`, `move`, `open`, ...), `all`, or `none` (no shared
memory at all: the baseline the steps goal is measured against). Each rule plays the
same seeds with the same scripted teams; only what enters the shared bank
changes. Where the best rule is no better than the learned policy, a goal
that admission misses is bound by the agents' strategy, not by what the
policy learned. Prints a table and writes `bench/results/admission_bound.json`.

For each rule it also splits the winning team's steps by what they did
(`winner_steps`, mean per world): the first take of each thing, puts that
were right, puts that were wrong and the take-backs they forced, moves and
opens; and counts the distinct wrong puts all teams made (`wrong_facts`),
of which the winner made `winner_wrong`. On twc this shows why sharing stops
near half of no memory's steps: sharing divides the wrong trials between
the K teams, but every team still walks, opens, takes and puts for itself.
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

from teammind.memory.admission import AdmissionFeatures, AdmissionPolicy  # noqa: E402
from teammind.rl.checkpoint import atomic_write_text  # noqa: E402
from teammind.rl.evaluate import parse_seeds  # noqa: E402


class AdmitTools(AdmissionPolicy):
    """Admit a step when its tool is in `tools` (None: every step)."""

    name = "admit-tools"

    def __init__(self, tools: frozenset[str] | None) -> None:
        self.tools = tools

    def admit_probability(self, features: AdmissionFeatures) -> float:
        return 1.0 if self.tools is None or features.tool in self.tools else 0.0


NO_MEMORY = frozenset({"<no shared memory>"})  # the `none` rule: teams play without a bank


def parse_rule(text: str) -> frozenset[str] | None:
    if text == "all":
        return None
    if text == "none":
        return NO_MEMORY
    tools = frozenset(t.strip() for t in text.split(",") if t.strip())
    if not tools:
        raise ValueError(f"--rules: {text!r} names no tool; write tools separated by commas, e.g. put,open, or all, or none")
    return tools


def _is_wrong_put(action: str, following: str) -> bool:
    """A put the team had to undo: the next action takes the same thing back (twc)."""
    return action.startswith("put ") and following.startswith("take ") and action[4:].startswith(following[5:] + " ")


def step_breakdown(actions: dict[str, list[str]], winner: str) -> dict[str, float]:
    """What the winning team's steps were, and how many distinct wrong puts all teams made (and the winner's share)."""
    kinds = dict.fromkeys(("take_first", "put_right", "put_wrong", "take_back", "move", "open", "other"), 0)
    mine = actions[winner]
    for i, action in enumerate(mine):
        before, after = (mine[i - 1] if i else ""), (mine[i + 1] if i + 1 < len(mine) else "")
        if action.startswith("put "):
            kinds["put_wrong" if _is_wrong_put(action, after) else "put_right"] += 1
        elif action.startswith("take "):
            kinds["take_back" if _is_wrong_put(before, action) else "take_first"] += 1
        else:
            verb = action.split(" ", 1)[0]
            kinds[verb if verb in kinds else "other"] += 1
    wrong: dict[str, set[str]] = {}
    for team, acts in actions.items():
        for i, action in enumerate(acts):
            if _is_wrong_put(action, acts[i + 1] if i + 1 < len(acts) else ""):
                wrong.setdefault(action, set()).add(team)
    return {**kinds, "wrong_facts": len(wrong), "winner_wrong": sum(winner in teams for teams in wrong.values())}


def play(env: str, seeds: list[int], teams: int, max_steps: int, tools: frozenset[str] | None) -> list[dict[str, Any]]:
    """One run per seed with the rule as admission; a fresh in-memory bank per run."""
    from teammind.graphs.config import RunConfig
    from teammind.graphs.parallel import run_parallel_teams
    from teammind.graphs.runtime import RunRuntime
    from teammind.memory import MemoryBank
    from teammind.suites import make_env_factory, scripted_agent_factory

    rows = []
    memory = tools != NO_MEMORY
    for seed in seeds:
        runtime = RunRuntime(make_env_factory(env), scripted_agent_factory(env),
                             RunConfig(seed=seed, teams=teams, max_steps=max_steps, memory=memory, admission=AdmitTools(tools)),
                             bank=MemoryBank.ephemeral() if memory else None, task_name="bound")
        s = run_parallel_teams(runtime)
        rows.append({"seed": seed, "success": s["success"], "env_steps": s["env_steps"], "admitted": s["admitted"],
                     "winner_steps": step_breakdown(s["actions"], s["answer_team"])})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", default="twx:twc", help="environment spec (default twx:twc)")
    p.add_argument("--seeds", default="100..119", help="seeds, e.g. 100..119 (default: the held-out test worlds)")
    p.add_argument("--teams", type=int, default=3, help="parallel teams K (default 3)")
    p.add_argument("--max-steps", type=int, default=120, help="steps per team (default 120, twc's budget)")
    p.add_argument("--rules", nargs="+", default=["none", "put", "put,open", "put,move", "put,take", "all"],
                   help="tool sets, all, or none (no shared memory)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "admission_bound.json", help="JSON output")
    args = p.parse_args(argv)
    try:
        seeds = parse_seeds(args.seeds, "--seeds")
        rules = {r: parse_rule(r) for r in args.rules}
    except ValueError as err:
        p.error(str(err))
    started = time.perf_counter()
    results = []
    for name, tools in rules.items():
        rows = play(args.env, seeds, args.teams, args.max_steps, tools)
        kinds = rows[0]["winner_steps"].keys() if rows else ()
        results.append({"rule": name, "success": statistics.fmean(r["success"] for r in rows),
                        "env_steps": statistics.fmean(r["env_steps"] for r in rows),
                        "admitted": statistics.fmean(r["admitted"] for r in rows),
                        "winner_steps": {k: statistics.fmean(r["winner_steps"][k] for r in rows) for k in kinds},
                        "per_seed": rows})
        w = results[-1]["winner_steps"]
        print(f"{name:>16s}  success {results[-1]['success']:.2f}  env steps {results[-1]['env_steps']:7.2f}  "
              f"admitted {results[-1]['admitted']:6.2f}  | winner: " + " ".join(f"{k} {v:.2f}" for k, v in w.items()), flush=True)
    shared = [r for r in results if r["rule"] != "none"]
    best = min(shared or results, key=lambda r: (r["env_steps"], r["admitted"]))
    print(f"fewest steps: {best['rule']} ({best['env_steps']:.2f})")
    report = {"env": args.env, "seeds": seeds, "teams": args.teams, "max_steps": args.max_steps, "rules": results,
              "fewest_steps": best["rule"], "command": "python bench/admission_bound.py " + " ".join(sys.argv[1:] if argv is None else argv),
              "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version()},
              "total_s": round(time.perf_counter() - started, 1)}
    atomic_write_text(args.out, json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

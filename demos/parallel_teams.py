"""Demo: three teams solve one TextWorldExpress game in parallel over a shared bank.

The Python-API version of `teammind run`. It plays the same seed three ways
with scripted agents (no memory, `all`, novelty admission) side by side,
then once with LLM agents on the embedded SmolLM2 server (skip with --no-llm).

    python -m teammind.demos.parallel_teams                  # twx:coin, seed 10
    python -m teammind.demos.parallel_teams --llm URL        # any OpenAI-compatible endpoint
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from teammind import RunSpec, run
    from teammind.console import summary_table, wide_console

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="twx:coin")
    p.add_argument("--seed", type=int, default=10)
    p.add_argument("--teams", type=int, default=3)
    p.add_argument("--max-steps", type=int, default=30)
    p.add_argument("--llm", default="embedded", help="embedded, or an OpenAI-compatible base URL")
    p.add_argument("--llm-steps", type=int, default=6, help="step limit of the LLM run (the tiny model is slow and weak)")
    p.add_argument("--no-llm", action="store_true", help="skip the LLM run")
    args = p.parse_args(argv)
    console = wide_console()
    plan = [("scripted", v, args.max_steps) for v in ("none", "all", "novelty")]
    if not args.no_llm:
        plan.append(("llm", "novelty", args.llm_steps))
    rows = []
    for agent, variant, max_steps in plan:
        spec = RunSpec(env=args.env, seed=args.seed, teams=args.teams, max_steps=max_steps, admission=variant, agent=agent, llm=args.llm)
        console.rule(f"{args.env} seed {args.seed}: {agent} agents, admission = {variant}")
        summary = run(spec)
        for team, t in summary["teams"].items():
            console.print(f"  {team}: {t['steps']} steps, {'solved' if t['success'] else 'not solved'}, admitted {t['admitted']}"
                          + (f", error: {t['error']}" if t["error"] else ""))
        rows.append({"variant": f"{agent}/{variant}", **summary})
    console.print(summary_table(rows, f"{args.env} seed {args.seed}, K={args.teams} teams"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

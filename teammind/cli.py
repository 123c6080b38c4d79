"""The `teammind` command line. Each room registers its own subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from teammind.memory import cli as memory_cli
from teammind.memory.errors import MemoryBankError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="teammind", description="parallel agent teams over a learned shared memory bank")
    sub = parser.add_subparsers(dest="command", required=True)
    memory_cli.add_parser(sub)
    from teammind.commands import run as run_cli

    run_cli.add_parser(sub)
    from teammind.demos import app_store as app_cli
    from teammind.commands import eval as eval_cli
    from teammind.commands import report as report_cli
    from teammind.commands import train as train_cli

    train_cli.add_parser(sub)
    eval_cli.add_parser(sub)
    app_cli.add_parser(sub)
    report_cli.add_parser(sub)
    from teammind.agents import cli as agents_cli

    agents_cli.add_parser(sub)
    demo = sub.add_parser("demo", help="run a demo (extra arguments go to the demo: teammind demo byo-team --tasks 3)")
    demo.add_argument("name", choices=sorted(DEMOS), help="which demo")
    demo.add_argument("args", nargs=argparse.REMAINDER, help="the demo's own arguments (see python -m teammind.demos.NAME --help)")
    demo.set_defaults(func=_run_demo)
    return parser


DEMOS = {"memory-bank": "memory_bank", "parallel-teams": "parallel_teams", "byo-team": "byo_team"}


def _run_demo(args: argparse.Namespace) -> int:
    import importlib

    return int(importlib.import_module(f"teammind.demos.{DEMOS[args.name]}").main(list(args.args)))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "memory":
        return memory_cli.run(args)
    try:
        return int(args.func(args))
    except (MemoryBankError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

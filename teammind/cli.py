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
    demo = sub.add_parser("demo", help="run a demo")
    demo.add_argument("name", choices=("memory-bank", "parallel-teams"), help="which demo")
    demo.add_argument("--path", help="bank folder for memory-bank (default: a temporary folder)")
    demo.set_defaults(func=_run_demo)
    return parser


def _run_demo(args: argparse.Namespace) -> int:
    if args.name == "parallel-teams":
        from teammind.demos import parallel_teams

        return parallel_teams.main([])
    from teammind.demos import memory_bank

    return memory_bank.main(["--path", args.path] if args.path else [])


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

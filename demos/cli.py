"""The `teammind` command line. Each room registers its own subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from memory import cli as memory_cli
from memory.errors import MemoryBankError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="teammind", description="parallel agent teams over a learned shared memory bank")
    sub = parser.add_subparsers(dest="command", required=True)
    memory_cli.add_parser(sub)
    from demos import run as run_cli

    run_cli.add_parser(sub)
    from demos import app_store as app_cli
    from demos import eval as eval_cli
    from demos import report as report_cli
    from demos import train as train_cli

    train_cli.add_parser(sub)
    eval_cli.add_parser(sub)
    app_cli.add_parser(sub)
    report_cli.add_parser(sub)
    try:
        from agents import cli as agents_cli

        agents_cli.add_parser(sub)
    except ImportError:  # pragma: no cover - agents/cli.py arrives with the LLM server
        pass
    demo = sub.add_parser("demo", help="run a demo")
    demo.add_argument("name", choices=("memory-bank", "parallel-teams"), help="which demo")
    demo.add_argument("--path", help="bank folder for memory-bank (default: a temporary folder)")
    demo.set_defaults(func=_run_demo)
    return parser


def _run_demo(args: argparse.Namespace) -> int:
    if args.name == "parallel-teams":
        from demos import parallel_teams

        return parallel_teams.main([])
    from demos import memory_bank

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

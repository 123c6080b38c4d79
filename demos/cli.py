"""The `teammind` command line. Each room registers its own subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from memory import cli as memory_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="teammind", description="parallel agent teams over a learned shared memory bank")
    sub = parser.add_subparsers(dest="command", required=True)
    memory_cli.add_parser(sub)
    demo = sub.add_parser("demo", help="run a demo")
    demo.add_argument("name", choices=("memory-bank",), help="which demo")
    demo.add_argument("--path", help="bank folder (default: a temporary folder)")
    demo.set_defaults(func=_run_demo)
    return parser


def _run_demo(args: argparse.Namespace) -> int:
    from demos import memory_bank

    return memory_bank.main(["--path", args.path] if args.path else [])


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "memory":
        return memory_cli.run(args)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

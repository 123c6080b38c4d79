"""`teammind report`: one self-contained HTML page from a training, evaluation or results folder.

    teammind report runs/coin                                   # writes runs/coin/report.html
    teammind report eval-run --out eval-run.html --screenshot eval-run.png
    teammind report bench/results --out /tmp/bench.html

The folder's kind is read from its files (rl/report.py): a `teammind train
--out` folder (config.json, metrics.jsonl, curves.png, selected.json,
checkpoints/), a `teammind eval --out` folder (eval.json, per_seed.jsonl,
PNGs), a suite folder (suite.json rows from one or more environments), or any
folder of *.json result rows and *.png charts. The page has the command and
configuration, tables of every variant (mean ± std, ratios to the no-memory
baseline), every PNG inlined, and the list of files; it needs no network and
no script. `--screenshot` also renders it with headless Chromium.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from teammind.memory import InvalidFieldError


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("report", help="one self-contained HTML page from a train, eval or results folder",
                              description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    p.add_argument("run_dir", metavar="RUN_DIR", help="the run folder (teammind train --out, teammind eval --out, a suite or results folder)")
    p.add_argument("--out", metavar="FILE.html", default=None, help="where to write the page (default RUN_DIR/report.html)")
    p.add_argument("--screenshot", metavar="FILE.png", default=None, help="also save a PNG of the rendered page (headless Chromium)")
    p.add_argument("--width", type=int, default=1280, help="screenshot width in pixels (default 1280)")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from teammind.reporting.report import write_report

    path = write_report(Path(args.run_dir).expanduser(), Path(args.out).expanduser() if args.out else None)
    print(f"wrote {path}")
    if args.screenshot:
        from teammind.reporting.browser import screenshot

        try:
            png = screenshot(path, Path(args.screenshot).expanduser(), width=args.width)
        except InvalidFieldError as err:
            raise InvalidFieldError("--screenshot", err.problem, f"{err.fix}, or drop --screenshot") from err
        print(f"wrote {png}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from teammind.cli import main as cli_main

    return cli_main(["report", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())

"""`teammind memory ...`: inspect and manage a bank from the shell.

    teammind memory stats  [--prefix tenant/task]
    teammind memory search tenant/task "query text" [--kind step|experience] [--k 5] [--lam 0.5]
    teammind memory export bank.jsonl [--prefix tenant]
    teammind memory import bank.jsonl
    teammind memory delete tenant/task --id ID [--id ID...]     # some entries
    teammind memory delete tenant --yes                          # a namespace and everything below it
    teammind memory history tenant/task ID                       # what happened to one entry
    teammind memory migrate                                      # move an old-layout folder to the ledger

The bank is a folder (`--path`, default $TEAMMIND_BANK_PATH or ~/.teammind/bank)
or a Chroma server (`--host/--port`). Namespaces are written with slashes.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from teammind.memory.errors import InvalidFieldError, MemoryBankError


def parse_namespace(text: str) -> tuple[str, ...]:
    parts = tuple(p for p in text.strip("/").split("/"))
    if not text.strip("/") or any(not p for p in parts):
        raise InvalidFieldError("namespace", f"{text!r} has an empty level", "write it as tenant/task, e.g. acme/task-7")
    return parts


def add_bank_location(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--path", help="bank folder (default: $TEAMMIND_BANK_PATH or ~/.teammind/bank)")
    parser.add_argument("--host", help="Chroma server host (instead of --path)")
    parser.add_argument("--port", type=int, default=None, help="Chroma server port (default 8000)")


def open_bank(args: argparse.Namespace) -> Any:
    from teammind.memory.bank import MemoryBank

    if args.host or args.port:
        return MemoryBank(host=args.host, port=args.port)
    return MemoryBank(args.path)


def add_parser(subparsers: Any) -> None:
    """Register `memory` and its subcommands on the root CLI."""
    mem = subparsers.add_parser("memory", help="inspect and manage a memory bank")
    sub = mem.add_subparsers(dest="memory_command", required=True)

    p = sub.add_parser("stats", help="entry counts, tokens, reads and utility per namespace")
    add_bank_location(p)
    p.add_argument("--prefix", help="only namespaces under this one (tenant/task)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("search", help="two-phase retrieval in one namespace")
    add_bank_location(p)
    p.add_argument("namespace", help="tenant/task")
    p.add_argument("query")
    p.add_argument("--kind", choices=("step", "experience"), default="step")
    p.add_argument("--k", type=int, default=5, help="results to return (k2)")
    p.add_argument("--lam", type=float, default=0.5, help="utility weight; 0 = similarity only")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("export", help="write entries as JSON lines")
    add_bank_location(p)
    p.add_argument("file")
    p.add_argument("--prefix", help="only namespaces under this one")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", help="read entries from JSON lines (validated first; a bad line writes nothing)")
    add_bank_location(p)
    p.add_argument("file")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("delete", help="delete entries by id, or a whole namespace (and those below it) with --yes")
    add_bank_location(p)
    p.add_argument("namespace", help="tenant/task")
    p.add_argument("--id", action="append", dest="ids", help="entry id (repeatable)")
    p.add_argument("--yes", action="store_true", help="confirm deleting the whole namespace")
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("history", help="what happened to one entry: created, updated, read, Q updated, deleted")
    add_bank_location(p)
    p.add_argument("namespace", help="tenant/task")
    p.add_argument("id", help="entry id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("migrate", help="move a folder written by the one-collection-per-namespace layout into the ledger")
    add_bank_location(p)
    p.set_defaults(func=cmd_migrate)


def cmd_stats(args: argparse.Namespace) -> int:
    bank = open_bank(args)
    stats = bank.stats(parse_namespace(args.prefix) if args.prefix else None)
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"teammind bank at {stats['location']}")
    for col in ("namespace", "steps", "experiences", "tokens", "reads"):
        table.add_column(col, justify="left" if col == "namespace" else "right")
    for row in stats["per_namespace"]:
        table.add_row("/".join(row["namespace"]), *(str(row[c]) for c in ("steps", "experiences", "tokens", "reads")))
    table.add_row("[b]total", str(stats["steps"]), str(stats["experiences"]), str(stats["tokens"]), str(stats["reads"]))
    Console().print(table)
    print(f"entries read at least once: {stats['entries_read']} ({stats['read_fraction']:.1%}); mean Q {stats['mean_q']:.3f}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from teammind.memory.retrieval import RetrievalConfig

    bank = open_bank(args)
    base = bank.retrieval
    config = RetrievalConfig(k1=max(base.k1, args.k), k2=args.k, delta=base.delta, lam=args.lam, epsilon=0.0)
    hits = bank.search(parse_namespace(args.namespace), args.query, kind=args.kind, config=config)
    rows = [{"id": h.entry.id, "score": round(h.score, 4), "similarity": round(h.similarity, 4), "q": h.entry.q, "key": h.entry.key} for h in hits]
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print("no entries above the similarity floor")
    else:
        for r in rows:
            print(f"{r['score']:+.3f}  sim {r['similarity']:.3f}  q {r['q']:+.3f}  {r['id']}  {r['key']}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    n = open_bank(args).export_jsonl(args.file, parse_namespace(args.prefix) if args.prefix else None)
    print(f"exported {n} entries to {args.file}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    n = open_bank(args).import_jsonl(args.file)
    print(f"imported {n} entries from {args.file}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    ns = parse_namespace(args.namespace)
    bank = open_bank(args)
    if args.ids:
        n = bank.delete(ns, args.ids)
        print(f"deleted {n} of {len(args.ids)} ids from {'/'.join(ns)}")
        return 0 if n == len(args.ids) else 1
    if not args.yes:
        targets = bank.namespaces(ns)
        print(f"would delete {len(targets)} namespace(s) under {'/'.join(ns)}: " + ", ".join("/".join(t) for t in targets))
        print("re-run with --yes to delete them, or pass --id to delete single entries", file=sys.stderr)
        return 2
    n = bank.delete_namespace(ns)
    print(f"deleted {n} entries under {'/'.join(ns)}")
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args))
    except MemoryBankError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def cmd_history(args: argparse.Namespace) -> int:
    ns = parse_namespace(args.namespace)
    events = open_bank(args).history(ns, args.id)
    if args.json:
        print(json.dumps([e.to_dict() for e in events], indent=2))
        return 0 if events else 1
    if not events:
        print(f"no history for {args.id} in {'/'.join(ns)}", file=sys.stderr)
        return 1
    import datetime as dt

    for e in events:
        when = dt.datetime.fromtimestamp(e.at, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        detail = " ".join(f"{k}={v}" for k, v in e.data.items() if v not in ("", None, -1))
        print(f"{when}  {e.event:<9}  {e.kind:<10}  {('team=' + e.team) if e.team else '':<16}  {detail}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    bank = open_bank(args)  # migration runs when a bank opens an old-layout folder
    if bank.migrated:
        print(f"migrated {bank.migrated} entries into {bank.ledger.location}")
    else:
        print(f"{bank.location} is already in the current layout ({bank.stats()['entries']} entries)")
    return 0

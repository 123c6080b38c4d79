"""Terminal output shared by the commands, the benches and the demos: wide consoles and summary tables."""

from __future__ import annotations

import sys
from typing import Any

SUMMARY_COLUMNS = ("variant", "success", "env_steps", "llm_calls", "prompt_tokens", "wall_s", "admitted", "read_by_other")


def wide_console() -> Any:
    """A console that does not squeeze tables when output goes to a file or pipe."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160, emoji=False)


def summary_table(rows: list[dict[str, Any]], title: str) -> Any:
    """One row per run summary (or mean of summaries), labelled by its "variant"."""
    from rich.table import Table

    table = Table(title=title)
    for c in SUMMARY_COLUMNS:
        table.add_column(c, justify="left" if c == "variant" else "right")
    for r in rows:
        table.add_row(*(f"{r[c]:.2f}" if isinstance(r.get(c), float) else str(r.get(c, "")) for c in SUMMARY_COLUMNS))
    return table

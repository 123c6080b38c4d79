"""Run traces: one JSON line per team step plus a summary line.

The RL trainer learns from these files, so every step records what credit
assignment needs: the admission decision with its probability and features,
the entry written, the shared entries read (and who wrote them), LLM usage.
Lines are appended and flushed per round; after a crash and resume a round
may appear twice, so `load_trace` keeps the last record per (round, team).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from collections.abc import Iterable
from typing import Any


class TraceWriter:
    """Append-only JSONL writer, flushed and fsynced per batch of records."""

    def __init__(self, path: str | Path | None, *, keep: bool = False) -> None:
        """`keep=True` also holds the records in `self.records` (rollout workers need no file)."""
        self.path = Path(path) if path else None
        self.keep = keep
        self.records: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, records: list[dict[str, Any]]) -> None:
        if self.keep:
            with self._lock:
                self.records.extend(records)
        if self.path is None or not records:
            return
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())


def load_trace(path: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(step records in order, last summary or None); duplicate rounds from a resume are collapsed."""
    with Path(path).open(encoding="utf-8") as f:
        return collapse_records(json.loads(line) for line in f if line.strip())


def collapse_records(records: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Keep the last record per (round, team) and the last summary."""
    steps: dict[tuple[int, str], dict[str, Any]] = {}
    summary = None
    for rec in records:
        if rec.get("type") == "summary":
            summary = rec
        elif rec.get("type") == "step":
            steps[(rec["round"], rec["team"])] = rec
    return [steps[k] for k in sorted(steps)], summary

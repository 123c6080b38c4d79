"""The base of every suite's scripted agent: budgeted reading of the shared bank, the team's rank, bank-sized keys.

Scripted agents of different suites read the bank, rank teams and cut keys the
same way; one base keeps them from drifting apart and spares a suite from
importing another suite for these helpers.
"""

from __future__ import annotations

import re
import zlib
from typing import ClassVar

from teammind.agents.base import Agent, StepContext
from teammind.agents.memory_tools import MemoryHit
from teammind.memory.schema import EntryLimits

BANK_KEY_WORDS = EntryLimits().max_key_words
MAX_KEY_WORDS = BANK_KEY_WORDS - BANK_KEY_WORDS // 10
"""Words a scripted key keeps: the bank's limit less a tenth, so a key never comes near a rejected write."""

_TRAILING_NUMBER_RE = re.compile(r"(\d+)$")


def team_rank(team: str) -> int:
    """A stable small integer per team (its trailing number if it has one, else a CRC of the name), so teams split work."""
    m = _TRAILING_NUMBER_RE.search(team or "")
    return int(m.group(1)) if m else zlib.crc32((team or "").encode())


def compact_key(text: str) -> str:
    """`text` cut to `MAX_KEY_WORDS` words, so the bank accepts it; a key within the limit is returned unchanged."""
    words = text.split()
    if len(words) > MAX_KEY_WORDS:
        return " ".join(words[:MAX_KEY_WORDS])
    return text


class ScriptedAgent(Agent):
    """A heuristic agent that reads other teams' entries within a per-step budget.

    A subclass calls `_reset_reader` when it clears its episode state,
    `begin_step(ctx)` at the start of `act` and `end_step()` before it
    returns. In between, `_search` runs at most `max_searches` queries and
    `_read_text` reads at most `max_reads` entries, each entry once per
    episode (`read_ids`); the ids read this step (`_reads`) are what the
    step reports in `AgentAction.reads`. The team's own entries are skipped
    (it knows them first-hand), and a failing bank reads as nothing, so it
    never stops a team.
    """

    max_searches: int = 4
    max_reads: int = 4
    missing_entry_uses_read: ClassVar[bool] = False
    """Whether an entry the bank no longer has (read returns None) still spends one of the step's reads."""

    _ctx: StepContext | None
    _searched: set[str]
    _reads: list[str]
    _missing: int
    _search_failed: bool
    _rank: int
    _team: str
    read_ids: set[str]

    compact_key = staticmethod(compact_key)

    def _reset_reader(self) -> None:
        """Forget what was read this episode (a new episode may read every entry again)."""
        self.read_ids = set()
        self._ctx = None
        self._searched = set()
        self._reads = []
        self._missing = 0
        self._search_failed = False
        self._rank = 0
        self._team = ""

    def begin_step(self, ctx: StepContext) -> None:
        """Open the step's reading budget and take the team and its rank from the context."""
        self._ctx = ctx
        self._searched = set()
        self._reads = []
        self._missing = 0
        self._search_failed = False
        self._rank = team_rank(ctx.team)
        self._team = ctx.team

    def end_step(self) -> list[str]:
        """Close the step (no reading outside `act`); the ids read during it."""
        self._ctx = None
        return list(self._reads)

    def _searches_left(self) -> int:
        return self.max_searches - len(self._searched)

    def _reads_left(self) -> int:
        spent = len(self._reads) + (self._missing if self.missing_entry_uses_read else 0)
        return self.max_reads - spent

    def _other_hits(self) -> list[MemoryHit]:
        """The step's pre-fetched hits (`ctx.hits`) written by other teams."""
        ctx = self._ctx
        if ctx is None:
            return []
        return [h for h in getattr(ctx, "hits", None) or () if h.team != ctx.team]

    def _search(self, query: str) -> list[MemoryHit]:
        """Other teams' hits for `query` plus the step's pre-fetched hits, at most `max_searches` queries a step.

        A query already run this step returns nothing; a failing search returns
        nothing and sets `_search_failed` for the rest of the step.
        """
        ctx = self._ctx
        if ctx is None or ctx.memory is None or query in self._searched or self._searches_left() <= 0:
            return []
        self._searched.add(query)
        try:
            hits = list(ctx.memory.search_memory(query))
        except Exception:  # noqa: BLE001 - a failing bank must not stop the team
            self._search_failed = True
            return []
        seen = {h.id for h in hits}
        hits += [h for h in getattr(ctx, "hits", None) or () if h.id not in seen]
        return [h for h in hits if h.team != ctx.team]

    def _read_text(self, hit: MemoryHit) -> str | None:
        """Another team's hit's value (untrusted text), once per episode and at most `max_reads` a step; None otherwise."""
        ctx = self._ctx
        if ctx is None or ctx.memory is None or hit.team == ctx.team or hit.id in self.read_ids or self._reads_left() <= 0:
            return None
        self.read_ids.add(hit.id)
        try:
            text = ctx.memory.read_memory(hit.id)
        except Exception:  # noqa: BLE001 - a failing bank must not stop the team
            return None
        if text is None:
            self._missing += 1
            return None
        self._reads.append(hit.id)
        return text


__all__ = ["BANK_KEY_WORDS", "MAX_KEY_WORDS", "ScriptedAgent", "compact_key", "team_rank"]

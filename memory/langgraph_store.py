"""`BankStore`: the memory bank as a LangGraph store.

Any LangGraph app gets the shared bank, its namespace isolation, two-phase
retrieval and admission control with one line:

    graph.compile(store=BankStore(path="./bank"))

Nodes keep using the ordinary store API (`store.put/get/search/delete/
list_namespaces`, sync or async); this class translates those ops to
`MemoryBank` calls.

Mapping of a LangGraph item (namespace, key, value) to a bank step `Entry`:

* `Entry.id` = the item key, `Entry.namespace` = the item namespace (every
  read and search of the bank names the namespaces it may see, so tenants
  never see each other).
* `Entry.value` = `json.dumps(value)` (strict JSON: NaN and infinities are refused).
* The text the bank embeds and ranks by is derived from the value: the
  fields named by the put's `index` list, else the store's `index_fields`,
  else every string leaf of the value, joined with spaces. A text longer than
  the bank's `limits.max_key_words` words (40 by default) is embedded in
  overlapping windows of that size: the first is `Entry.key`, the rest are
  `Entry.chunks`, and a search matches an item by its best window, so no part
  of a long item is left out of search.
* `created_at` / `updated_at` are the entry's timestamps as UTC datetimes; a
  put over an existing key keeps the original `created_at`.
* `ttl` (minutes, per put or the store's `TTLConfig.default_ttl`) expires an
  item; reads with `refresh_ttl` (the default under `refresh_on_read`) restart
  its clock, as LangGraph's stores do. Expired items are hidden at once and
  removed by `sweep_ttl()` (or the sweeper `sweep_interval_minutes` starts).

Semantics follow LangGraph's `InMemoryStore`: results come back in op order,
reads in a batch see the state before the batch's writes, and several puts to
one (namespace, key) in a batch collapse to the last one. Differences, all
forced by the bank:

* Ranked search (`query=...`) is the bank's two-phase retrieval over the
  namespace prefix: only entries whose cosine to the query exceeds the bank's
  `retrieval.delta` are returned, ordered (and scored) by the Phase B rerank.
  An unrelated query can therefore return fewer than `limit` items, or none.
* The bank embeds every entry, so `index=False` (or a value with no text to
  index) still stores a vector, of the item key's name; such items are marked
  unindexed and a ranked search skips them. `get` and unranked `search` see them.
* Entries of other kinds (MemRL experiences) in the same namespaces are not
  shown; steps written by agents (plain-text values) appear as
  `{"key": <summary>, "value": <text>}`.

History (not part of BaseStore): `store.history(namespace, key)` lists what
happened to an item (created, updated, read, Q updated, deleted).

Outcome feedback (not part of BaseStore): after a task, an app calls
`store.record_outcome(namespace, keys, reward)` (or `await
store.arecord_outcome(...)`) with the items it read for that task; each item's
Q moves toward the reward by MemRL's update Q <- Q + alpha * (r - Q)
(`MemoryBank.update_q`), and the Q-weighted rerank of later ranked searches
uses it. A later `put` over an item writes a fresh entry whose Q starts again
at 0.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
    get_text_at_path,
    validate_op_namespace,
)

from teammind.memory.admission import AdmissionPolicy
from teammind.memory.bank import MemoryBank, StepCandidate
from teammind.memory.errors import EntryNotFoundError, InvalidFieldError
from teammind.memory.filters import matches, validate_filter
from teammind.memory.ledger import HistoryEvent
from teammind.memory.retrieval import RetrievalConfig
from teammind.memory.schema import Entry, Namespace, Origin, validate_count, validate_entry, validate_json

logger = logging.getLogger(__name__)

# Origin.agent of entries this store writes; the second marks items put with
# index=False (or with no text to index), which ranked search must skip.
STORE_AGENT = "langgraph-store"
UNINDEXED_AGENT = "langgraph-store:unindexed"


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def _string_leaves(value: Any) -> list[str]:
    """Every string in a JSON-like value, depth first (the default text to embed)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _string_leaves(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _string_leaves(v)]
    return []


def _matches(condition: MatchCondition, namespace: Namespace) -> bool:
    """LangGraph's namespace match: prefix/suffix of labels, '*' matches any one label."""
    path = tuple(condition.path)
    if len(namespace) < len(path):
        return False
    if condition.match_type == "prefix":
        pairs = zip(namespace, path)
    elif condition.match_type == "suffix":
        pairs = zip(reversed(namespace), reversed(path))
    else:
        raise ValueError(f"Unsupported match type: {condition.match_type}")
    return all(p == "*" or k == p for k, p in pairs)


def windows(words: Sequence[str], size: int, overlap: int = 8) -> list[str]:
    """Overlapping windows of at most `size` words covering every word (the first starts at word 0)."""
    if len(words) <= size:
        return [" ".join(words)] if words else []
    stride = max(1, size - min(overlap, size // 2))
    out = []
    for start in range(0, len(words), stride):
        out.append(" ".join(words[start : start + size]))
        if start + size >= len(words):
            break
    return out


def _minutes(name: str, value: Any) -> float:
    """A TTL in minutes: a positive, finite number."""
    from teammind.memory.schema import validate_number

    v = validate_number(name, value)
    if v <= 0:
        raise InvalidFieldError(name, f"is {v}", "pass a positive number of minutes, or None to keep the item forever")
    return v


class BankStore(BaseStore):
    """A LangGraph `BaseStore` over a `MemoryBank`.

    Open it on a folder (`BankStore(path="./bank")`), a Chroma server
    (`BankStore(host="127.0.0.1", port=8000)`), in memory
    (`BankStore(ephemeral=True)`), or over a bank you already have
    (`BankStore(bank)`); give exactly one of these.

    admission: if set, every put is judged by this policy and a rejected put
        stores nothing (the point of a shared bank: keep duplicates and noise
        out). None writes every put.
    index_fields: value fields whose text is embedded when a put names none
        (LangGraph path syntax: "text", "meta.title", "notes[*]"). None embeds
        every string in the value.
    task: the task text admission features are computed against; empty uses
        the namespace ("users/42/memories").
    ttl: LangGraph's TTLConfig (default_ttl in minutes, refresh_on_read,
        sweep_interval_minutes).
    """

    supports_ttl = True

    def __init__(
        self,
        bank: MemoryBank | None = None,
        *,
        path: str | Path | None = None,
        host: str | None = None,
        port: int | None = None,
        ephemeral: bool = False,
        admission: AdmissionPolicy | None = None,
        index_fields: list[str] | None = None,
        task: str = "",
        ttl: TTLConfig | None = None,
    ) -> None:
        given = [name for name, v in (("bank", bank), ("path", path), ("host", host)) if v is not None]
        if ephemeral:
            given.append("ephemeral")
        if port is not None and host is None:
            raise InvalidFieldError("port", "given without host", "pass host='127.0.0.1' (or the server's name) with port")
        if len(given) != 1:
            problem = "none given" if not given else f"got {' and '.join(given)}"
            raise InvalidFieldError(
                "bank",
                f"exactly one of bank, path, host or ephemeral is needed ({problem})",
                "pass path='./bank', host='127.0.0.1' (with port), ephemeral=True, or an existing MemoryBank",
            )
        if bank is not None and not isinstance(bank, MemoryBank):
            raise InvalidFieldError("bank", f"expected MemoryBank, got {type(bank).__name__}", "pass memory.MemoryBank(...)")
        if admission is not None and not isinstance(admission, AdmissionPolicy):
            raise InvalidFieldError(
                "admission", f"expected an AdmissionPolicy, got {type(admission).__name__}", "use memory.make_policy('novelty')"
            )
        if index_fields is not None and (
            isinstance(index_fields, str) or not all(isinstance(f, str) and f.strip() for f in index_fields)
        ):
            raise InvalidFieldError("index_fields", f"is {index_fields!r}", 'pass a list of field paths, e.g. ["text"]')
        if not isinstance(task, str):
            raise InvalidFieldError("task", f"expected str, got {type(task).__name__}", "pass the task text, or '' for the namespace")
        if ttl is not None:
            if not isinstance(ttl, Mapping):
                raise InvalidFieldError("ttl", f"expected a TTLConfig dict, got {type(ttl).__name__}", "pass e.g. {'default_ttl': 60}")
            for name in ("default_ttl", "sweep_interval_minutes"):
                if ttl.get(name) is not None:
                    _minutes(name, ttl[name])

        self._owns_bank = bank is None
        if bank is None:
            if ephemeral:
                bank = MemoryBank(ephemeral=True)
            elif host is not None:
                bank = MemoryBank(host=host, port=port)
            else:
                bank = MemoryBank(path)
        self.bank: MemoryBank = bank
        self.admission = admission
        self.index_fields = list(index_fields) if index_fields is not None else None
        self.task = task
        self.ttl_config = ttl
        # Serialises read-then-write of puts (keeping created_at, novelty vs the old version).
        self._put_lock = threading.Lock()
        self._sweeper: threading.Thread | None = None
        self._stop_sweeper = threading.Event()
        if ttl and ttl.get("sweep_interval_minutes"):
            self.start_ttl_sweeper(float(ttl["sweep_interval_minutes"]) * 60.0)

    def close(self) -> None:
        """Stop the TTL sweeper and close the bank if this store opened it (a bank passed in stays open)."""
        self.stop_ttl_sweeper()
        if self._owns_bank:
            self.bank.close()

    # -- TTL ---------------------------------------------------------------------------------
    def sweep_ttl(self) -> int:
        """Remove every expired entry now (reads already hide them); returns how many."""
        return self.bank.expire()

    def start_ttl_sweeper(self, interval_s: float) -> None:
        """Sweep expired entries every `interval_s` seconds in a daemon thread, until `close`."""
        if self._sweeper is not None:
            return
        self._stop_sweeper.clear()

        def loop() -> None:
            while not self._stop_sweeper.wait(interval_s):
                try:
                    self.sweep_ttl()
                except Exception:  # a sweep that fails (bank busy) is retried at the next interval
                    logger.exception("TTL sweep failed")

        self._sweeper = threading.Thread(target=loop, name="bankstore-ttl-sweeper", daemon=True)
        self._sweeper.start()

    def stop_ttl_sweeper(self) -> None:
        if self._sweeper is not None:
            self._stop_sweeper.set()
            self._sweeper.join(timeout=5)
            self._sweeper = None

    # -- history -------------------------------------------------------------------------------
    def history(self, namespace: tuple[str, ...], key: str) -> list[HistoryEvent]:
        """What happened to an item, oldest first (created, updated, read, Q updated, deleted)."""
        return self.bank.history(namespace, key)

    async def ahistory(self, namespace: tuple[str, ...], key: str) -> list[HistoryEvent]:
        return await asyncio.to_thread(self.history, namespace, key)

    # -- the BaseStore contract ------------------------------------------------------
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run ops in order; reads see the state before this batch's writes (as InMemoryStore)."""
        ops = list(ops)
        results: list[Result] = []
        puts: dict[tuple[Namespace, str], PutOp] = {}
        for op in ops:
            validate_op_namespace(op)
            if isinstance(op, GetOp):
                results.append(self._get(tuple(op.namespace), op.key, op.refresh_ttl))
            elif isinstance(op, SearchOp):
                results.append(self._search(op))
            elif isinstance(op, ListNamespacesOp):
                results.append(self._list_namespaces(op))
            elif isinstance(op, PutOp):
                ns = tuple(op.namespace)
                if not ns:
                    raise InvalidNamespaceError("Namespace cannot be empty.")
                if ns[0] == "langgraph":
                    raise InvalidNamespaceError(f'Root label for namespace cannot be "langgraph". Got: {ns}')
                puts.pop((ns, op.key), None)  # keep the last put per item, in its latest position
                puts[(ns, op.key)] = op
                results.append(None)
            else:
                raise ValueError(f"Unknown operation type: {type(op)}")
        if puts:
            self._apply_puts(list(puts.values()))
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """`batch` in a worker thread: Chroma and the embedder are blocking."""
        return await asyncio.to_thread(self.batch, list(ops))

    # -- outcome feedback (MemRL) ------------------------------------------------------
    def record_outcome(
        self, namespace: tuple[str, ...], keys: Sequence[str], reward: float, *, alpha: float | None = None
    ) -> dict[str, float]:
        """Feed a task's outcome back to the items it used; returns each item's new Q.

        Applies MemRL's Monte-Carlo update Q <- Q + alpha * (r - Q) to every item
        `keys` names in `namespace` (the exact namespace of each item, as a search
        result's `item.namespace`), one atomic bank update (`MemoryBank.update_q`).
        `reward` is the task outcome (the repo uses +1 for success, -1 for failure);
        `alpha` defaults to the bank's. Ranked searches then order candidates by
        (1 - lam) * z(similarity) + lam * z(Q), so items that led to good outcomes
        come first. A key that is not an item of this store raises
        `EntryNotFoundError` and nothing is updated; an empty `keys` does nothing.
        """
        ns = tuple(namespace) if isinstance(namespace, (tuple, list)) else namespace
        if not isinstance(ns, tuple) or not ns or not all(isinstance(label, str) and label for label in ns):
            raise InvalidFieldError("namespace", f"is {namespace!r}", 'pass the item\'s namespace tuple, e.g. ("users", "42")')
        if isinstance(keys, str):
            raise InvalidFieldError("keys", "is a single string", "pass a list of item keys, e.g. [item.key]")
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        missing = [k for k in keys if self._entry(ns, k) is None]
        if missing:
            raise EntryNotFoundError(f"no items {missing} in namespace {ns}; no Q was updated")
        return self.bank.update_q(ns, keys, reward, alpha)

    async def arecord_outcome(
        self, namespace: tuple[str, ...], keys: Sequence[str], reward: float, *, alpha: float | None = None
    ) -> dict[str, float]:
        """`record_outcome` in a worker thread."""
        return await asyncio.to_thread(self.record_outcome, namespace, keys, reward, alpha=alpha)

    # -- item <-> entry ----------------------------------------------------------------
    @staticmethod
    def _value_of(entry: Entry) -> dict[str, Any]:
        try:
            value = json.loads(entry.value)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            return value
        return {"key": entry.key, "value": entry.value}  # a step some agent wrote as text

    def _item(self, entry: Entry) -> Item:
        return Item(
            value=self._value_of(entry),
            key=entry.id,
            namespace=entry.namespace,
            created_at=_utc(entry.created_at),
            updated_at=_utc(entry.updated_at),
        )

    @staticmethod
    def _search_item(item: Item, score: float | None = None) -> SearchItem:
        return SearchItem(item.namespace, item.key, item.value, item.created_at, item.updated_at, score=score)

    def key_text(self, key: str, value: Mapping[str, Any], index: list[str] | None | bool = None) -> tuple[str, tuple[str, ...], bool]:
        """The texts the bank embeds for an item (key, further chunks), and whether the item counts as indexed.

        Fields from `index` (else `index_fields`, else every string leaf), joined
        and split into windows of `bank.limits.max_key_words` words: the first is
        the key, the rest chunks. Without text (index=False, or no such fields)
        the item key's name stands in, unindexed.
        """
        texts: list[str] = []
        if index is not False:
            fields = index if isinstance(index, list) else self.index_fields
            if fields is None:
                texts = _string_leaves(value)
            else:
                for f in fields:
                    texts.extend(get_text_at_path(value, f))
        parts = windows(" ".join(texts).split(), self.bank.limits.max_key_words)
        if parts:
            return parts[0], tuple(parts[1:]), True
        return " ".join(key.split()[: self.bank.limits.max_key_words]) or key, (), False

    # -- reads ---------------------------------------------------------------------------
    def _get(self, namespace: Namespace, key: str, refresh: bool = False) -> Item | None:
        entry = self._entry(namespace, key)
        if entry is None:
            return None
        if refresh and entry.ttl is not None:
            self.bank.refresh_ttl(namespace, [entry.id])
        return self._item(entry)

    def _entry(self, namespace: Namespace, key: str) -> Entry | None:
        if not namespace:
            return None
        try:
            entry = self.bank.get(namespace, key)
        except EntryNotFoundError:
            return None
        return entry if entry.kind == "step" else None

    def _namespaces_under(self, prefix: Namespace) -> list[Namespace]:
        return self.bank.namespaces(prefix or None)

    def _search(self, op: SearchOp) -> list[SearchItem]:
        prefix = tuple(op.namespace_prefix)
        validate_count("limit", op.limit)
        validate_count("offset", op.offset)
        filt = validate_filter(op.filter)
        if op.query:
            found = self._ranked_search(prefix, op.query, filt, op.limit, op.offset)
        else:
            entries = [e for ns in self._namespaces_under(prefix) for e in self.bank.list(ns, kind="step")]
            items = [(self._item(e), e) for e in entries]
            items = [(i, e) for i, e in items if matches(i.value, filt)]
            items.sort(key=lambda ie: (ie[0].updated_at, ie[0].key), reverse=True)  # newest first, like the SQL stores
            found = [(self._search_item(i), e) for i, e in items[op.offset : op.offset + op.limit]]
        if op.refresh_ttl:
            by_ns: dict[Namespace, list[str]] = {}
            for _, e in found:
                if e.ttl is not None:
                    by_ns.setdefault(e.namespace, []).append(e.id)
            for ns, ids in by_ns.items():
                self.bank.refresh_ttl(ns, ids)
        return [item for item, _ in found]

    def _ranked_search(
        self, prefix: Namespace, query: str, filter: dict[str, Any] | None, limit: int, offset: int
    ) -> list[tuple[SearchItem, Entry]]:
        """Two-phase retrieval across the prefix, k1 = k2 = offset + limit; the bank widens Phase A until enough pass the filter."""
        k = max(self.bank.retrieval.k1, offset + limit, 1)
        config: RetrievalConfig = replace(self.bank.retrieval, k1=k, k2=k)
        vector = self.bank.embedder.encode([query])[0]

        def keep(entry: Entry) -> bool:
            return entry.origin.agent != UNINDEXED_AGENT and matches(self._value_of(entry), filter)

        hits = self.bank.search_by_vector(prefix, vector, config=config, include_descendants=True, where=keep)
        return [(self._search_item(self._item(h.entry), h.score), h.entry) for h in hits][offset : offset + limit]

    def _list_namespaces(self, op: ListNamespacesOp) -> list[Namespace]:
        validate_count("limit", op.limit)
        validate_count("offset", op.offset)
        if op.max_depth is not None:
            validate_count("max_depth", op.max_depth)
        prefix: tuple[str, ...] = ()
        for c in op.match_conditions or ():
            if c.match_type == "prefix":  # the labels before the first wildcard narrow the index scan
                fixed = []
                for label in c.path:
                    if label == "*":
                        break
                    fixed.append(label)
                prefix = max(prefix, tuple(fixed), key=len)
        found = self.bank.namespaces(prefix or None, kind="step")  # only namespaces that still hold a step
        if op.match_conditions:
            found = [ns for ns in found if all(_matches(c, ns) for c in op.match_conditions)]
        if op.max_depth is not None:
            found = sorted({ns[: op.max_depth] for ns in found})
        else:
            found = sorted(found)
        return found[op.offset : op.offset + op.limit]

    # -- writes ----------------------------------------------------------------------
    def _apply_puts(self, puts: Sequence[PutOp]) -> None:
        with self._put_lock:
            deletes: dict[Namespace, list[str]] = {}
            writes: list[Entry] = []
            for op in puts:
                ns = tuple(op.namespace)
                if op.value is None:
                    deletes.setdefault(ns, []).append(op.key)
                    continue
                entry = self._new_entry(ns, op)
                if self.admission is None:
                    writes.append(entry)
                else:
                    self._admit(entry)
            for ns, keys in deletes.items():
                self.bank.delete(ns, keys)
            if writes:
                self.bank.add(writes)  # validates every entry first: one bad put writes nothing

    def _new_entry(self, namespace: Namespace, op: PutOp) -> Entry:
        if not isinstance(op.value, Mapping):
            raise InvalidFieldError("value", f"expected a dict, got {type(op.value).__name__}", "put a dict of JSON values")
        value_json = validate_json("value", dict(op.value))
        ttl = None if op.ttl is None else _minutes("ttl", op.ttl) * 60.0
        text, chunks, indexed = self.key_text(op.key, op.value, op.index)
        origin = Origin(team=self.task, agent=STORE_AGENT if indexed else UNINDEXED_AGENT)
        entry = Entry.new(namespace, text, value_json, kind="step", origin=origin, id=op.key, chunks=chunks, ttl=ttl)
        old = self._entry(namespace, op.key)
        if old is not None:
            entry.created_at = old.created_at  # an overwrite keeps the item's creation time
            entry.refreshed_at = entry.updated_at  # and restarts its TTL
            if old.texts == entry.texts and old.value == entry.value:
                # re-putting the same content (apps often re-save what they recalled) keeps what was
                # learned about it; changed content starts fresh, as its old Q judged other text
                entry.q, entry.visits, entry.uses, entry.outcome = old.q, old.visits, dict(old.uses), old.outcome
        return validate_entry(entry, self.bank.limits)

    def _admit(self, entry: Entry) -> bool:
        """Judge one put with the admission policy (`MemoryBank.propose`); write it under its own key if admitted."""
        assert self.admission is not None
        candidate = StepCandidate(
            namespace=entry.namespace,
            task=self.task or "/".join(entry.namespace),
            key=entry.key,
            value=entry.value,
            origin=entry.origin,
            id=entry.id,
            ttl=entry.ttl,
            chunks=entry.chunks,
        )
        proposal = self.bank.propose(candidate, self.admission)
        if not proposal.admitted:
            logger.debug(
                "admission %s rejected put %s/%s (p=%.3f, %s)",
                self.admission.name,
                "/".join(entry.namespace),
                entry.id,
                proposal.decision.probability,
                proposal.decision.features.summary(),
            )
        return proposal.admitted

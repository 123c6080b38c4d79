"""Nearest-neighbour search over one namespace's vectors: exact for small namespaces, Chroma HNSW for big ones.

A namespace of up to `threshold` entries is searched exactly: its vectors are
read from the ledger once, kept in a per-process cache, and scored with one
float64 matrix product (sub-millisecond at thousands of entries, and exact, so
identical keys tie exactly and the bank's tie-break by id holds). The cache is
refreshed incrementally when the namespace's version in the ledger moves, so
another process's writes are seen on the next query.

A namespace that grows past `threshold` gets a Chroma collection of its own
per kind (cosine HNSW), filled from the ledger through its `pending` queue; a
query applies the queue first, so the collection never lags the ledger. The
ledger stays the record: Chroma can be rebuilt from it, and ids Chroma
returns that the ledger no longer holds are dropped by the bank.

Costs no longer grow with the number of namespaces: a namespace is rows in
the ledger, not a collection.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.errors import NotFoundError

from teammind.memory.errors import BankInUseError
from teammind.memory.ledger import Ledger, PendingOp, namespace_path
from teammind.memory.schema import Namespace

# Chroma persists the HNSW index every `sync_threshold` writes and keeps the rest in a brute-force buffer that
# every single-row write scans; a smaller buffer than Chroma's 1000 halves single-row write latency.
HNSW_SYNC_THRESHOLD = 250
DEFAULT_THRESHOLD = 4096  # entries in a namespace above which it gets an HNSW collection
DEFAULT_CACHE_BYTES = 512 * 2**20
TIE_DECIMALS = 6  # similarities equal to this many decimals are ties (the bank orders them by id)

Match = tuple[str, float]  # (entry id, cosine similarity)


@dataclass
class _Cached:
    version: int
    removed: int
    last_seq: int
    ids: list[str]
    matrix: np.ndarray  # (n, dim) float64
    unique: list[str]  # entry ids once each (an entry with chunks has several rows)
    inverse: np.ndarray | None  # row -> index into unique; None when every row is its own entry

    @property
    def nbytes(self) -> int:
        return int(self.matrix.nbytes)


def collection_base(namespace: Namespace) -> str:
    """The name a big namespace's collections start with (one per kind: BASE-step, BASE-experience)."""
    return "tm2-" + hashlib.sha256(namespace_path(namespace).encode()).hexdigest()[:32]


def record_id(entry_id: str, chunk: int) -> str:
    return entry_id if chunk == 0 else f"{entry_id}#{chunk}"


def top_matches(ids: Sequence[str], sims: np.ndarray, n: int) -> list[Match]:
    """The best `n` (id, similarity) pairs, plus every pair tied with the n-th (ties are cut later, by id)."""
    if len(ids) == 0 or n <= 0:
        return []
    if len(ids) > n:
        rounded = np.round(sims, TIE_DECIMALS)
        kth = np.partition(rounded, len(rounded) - n)[len(rounded) - n]
        idx = np.flatnonzero(rounded >= kth)
    else:
        idx = np.arange(len(ids))
    idx = idx[np.argsort(-sims[idx], kind="stable")]
    return [(ids[i], float(sims[i])) for i in idx]


class VectorIndex:
    """Searches the vectors the ledger holds; see the module docstring for the two tiers."""

    def __init__(
        self,
        ledger: Ledger,
        chroma: Callable[[], ClientAPI],
        *,
        threshold: int = DEFAULT_THRESHOLD,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        self.ledger = ledger
        self._chroma = chroma
        self.threshold = threshold
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[tuple[str, str], _Cached] = OrderedDict()
        self._collections: dict[str, Collection] = {}
        self._lock = threading.RLock()

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self._collections.clear()

    # -- queries -----------------------------------------------------------------------------
    def query(self, namespace: Namespace, kind: str, vectors: np.ndarray, n: int) -> list[list[Match]]:
        """For each row of `vectors`: up to `n` entries of the namespace by cosine similarity, best first."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if n <= 0 or len(vectors) == 0:
            return [[] for _ in range(len(vectors))]
        with self._lock:
            state = self.ledger.state(namespace)
            if state.collection is not None:
                return self._query_collection(namespace, kind, state.collection, vectors, n)
            cached = self._refresh(namespace, kind)
        if cached is None or len(cached.ids) == 0:
            return [[] for _ in range(len(vectors))]
        sims = cached.matrix @ vectors.astype(np.float64).T  # (rows, m)
        out = []
        for j in range(len(vectors)):
            col = sims[:, j]
            if cached.inverse is None:
                out.append(top_matches(cached.ids, col, n))
            else:
                best = np.full(len(cached.unique), -np.inf)
                np.maximum.at(best, cached.inverse, col)
                out.append(top_matches(cached.unique, best, n))
        return out

    def _refresh(self, namespace: Namespace, kind: str) -> _Cached | None:
        """The namespace's cached vectors, brought up to date with the ledger (appending new rows when nothing was removed)."""
        key = (namespace_path(namespace), kind)
        with self.ledger.read():
            state = self.ledger.state(namespace)
            cached = self._cache.get(key)
            if cached is not None and (cached.version, cached.removed) == (state.version, state.removed):
                self._cache.move_to_end(key)
                return cached
            incremental = cached is not None and cached.removed == state.removed
            rows = self.ledger.vectors(namespace, kind, after=cached.last_seq if incremental and cached else 0)
        if incremental and cached is not None:
            ids = cached.ids + rows.ids
            if not len(rows.ids):
                matrix = cached.matrix
            elif not len(cached.ids):
                matrix = rows.matrix.astype(np.float64)
            else:
                matrix = np.vstack([cached.matrix, rows.matrix.astype(np.float64)])
            last = int(rows.seq[-1]) if len(rows.ids) else cached.last_seq
        else:
            ids, matrix = rows.ids, rows.matrix.astype(np.float64)
            last = int(rows.seq[-1]) if len(rows.ids) else 0
        if len(set(ids)) == len(ids):
            unique, inverse = ids, None
        else:
            order = list(dict.fromkeys(ids))
            pos = {i: k for k, i in enumerate(order)}
            unique, inverse = order, np.array([pos[i] for i in ids], dtype=np.int64)
        fresh = _Cached(state.version, state.removed, last, ids, matrix, unique, inverse)
        self._cache[key] = fresh
        self._cache.move_to_end(key)
        total = sum(c.nbytes for c in self._cache.values())
        while total > self.cache_bytes and len(self._cache) > 1:
            _, dropped = self._cache.popitem(last=False)
            total -= dropped.nbytes
        return fresh

    def _query_collection(self, namespace: Namespace, kind: str, base: str, vectors: np.ndarray, n: int) -> list[list[Match]]:
        self.apply_pending(namespace_path(namespace))
        col = self._collection(f"{base}-{kind}")
        count = col.count()
        if count == 0:
            return [[] for _ in range(len(vectors))]
        res = col.query(query_embeddings=vectors, n_results=min(count, n), include=["metadatas", "distances"])
        out = []
        for ids, metas, dists in zip(res["ids"], res["metadatas"], res["distances"]):
            best: dict[str, float] = {}
            for rid, meta, d in zip(ids, metas, dists):
                entry_id = str((meta or {}).get("entry", rid))
                best[entry_id] = max(best.get(entry_id, -np.inf), 1.0 - float(d))
            out.append(sorted(best.items(), key=lambda m: -m[1]))
        return out

    # -- big namespaces ------------------------------------------------------------------------------
    def _collection(self, name: str) -> Collection:
        col = self._collections.get(name)
        if col is None:
            col = self._chroma().get_or_create_collection(
                name, embedding_function=None, configuration={"hnsw": {"space": "cosine", "sync_threshold": HNSW_SYNC_THRESHOLD}}
            )
            self._collections[name] = col
        return col

    def after_write(self, namespaces: Sequence[Namespace]) -> None:
        """Give namespaces that outgrew the threshold a collection, and apply queued Chroma work for theirs.

        When another process holds the folder's Chroma index, the work stays
        queued in the ledger (the write itself is committed) and that process
        applies it before it next reads those namespaces.
        """
        try:
            for ns in dict.fromkeys(namespaces):
                state = self.ledger.state(ns)
                if state.collection is None and self.ledger.count(ns, "step") + self.ledger.count(ns, "experience") > self.threshold:
                    self.ledger.assign_collection(ns, collection_base(ns))
                    state = self.ledger.state(ns)
                if state.collection is not None:
                    self.apply_pending(namespace_path(ns))
        except BankInUseError:
            pass

    def apply_pending(self, path: str) -> None:
        """Apply the namespace's queued Chroma operations in order, then mark them done (idempotent if interrupted)."""
        with self._lock:
            while True:
                ops = self.ledger.pending(path)
                if not ops:
                    return
                for batch in _runs(ops):
                    self._apply(batch)
                self.ledger.done(ops)

    def _apply(self, ops: list[PendingOp]) -> None:
        first = ops[0]
        if first.op == "drop":
            for op in ops:
                for kind in ("step", "experience"):
                    name = f"{op.id}-{kind}"
                    self._collections.pop(name, None)
                    try:
                        self._chroma().delete_collection(name)
                    except (NotFoundError, ValueError):
                        pass
            return
        labels = self._labels(first.path)
        if labels is None:
            return
        col = self._collection(f"{collection_base(labels)}-{first.kind}")
        ids = list(dict.fromkeys(op.id for op in ops))
        col.delete(where={"entry": {"$in": ids}})
        if first.op == "upsert":
            rows = self.ledger.vectors(labels, first.kind, ids=ids)
            seen: dict[str, int] = {}
            rids = []
            for entry_id in rows.ids:
                rids.append(record_id(entry_id, seen.get(entry_id, 0)))
                seen[entry_id] = seen.get(entry_id, 0) + 1
            for i in range(0, len(rids), 4096):
                col.upsert(ids=rids[i : i + 4096], embeddings=rows.matrix[i : i + 4096],
                           metadatas=[{"entry": e} for e in rows.ids[i : i + 4096]])  # fmt: skip

    def _labels(self, path: str) -> Namespace | None:
        rows = self.ledger.rows("SELECT labels FROM namespaces WHERE path = ?", (path,))
        return tuple(json.loads(rows[0][0])) if rows else None


def _runs(ops: Sequence[PendingOp]) -> list[list[PendingOp]]:
    """Consecutive operations with the same (op, kind), in queue order."""
    runs: list[list[PendingOp]] = []
    for op in ops:
        if runs and (runs[-1][0].op, runs[-1][0].kind) == (op.op, op.kind):
            runs[-1].append(op)
        else:
            runs.append([op])
    return runs

"""Chroma-backed stores: the episodic store (steps) and the experience store (MemRL triplets).

Namespaces are enforced here, not by callers: every namespace gets its own
Chroma collection per store, named by a hash of the namespace tuple, and every
method takes the namespace it acts in. A query can only ever touch the
collection of the namespace it names, so one tenant's search cannot return
another tenant's entry however its arguments are built. Each record also
carries its namespace, checked again on read.

Vectors come from `teammind.memory.embeddings`; collections are created with no
embedding function so Chroma never loads its downloadable default model.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.errors import NotFoundError

from teammind.memory.errors import MemoryBankError
from teammind.memory.schema import Entry, Kind, Namespace, validate_namespace

# Chroma persists the HNSW index every `sync_threshold` writes and keeps the
# rest in a brute-force buffer that every single-row write and query scans.
# Teams write one step at a time, so a smaller buffer than Chroma's 1000 halves
# the latency of `propose` (16 -> 9 ms mean, bench/memory_ops.py) at a small
# cost to bulk fills.
HNSW_SYNC_THRESHOLD = 250
_NS_FIELD = "ns"  # per-record namespace (JSON), checked on every read


def namespace_key(namespace: Namespace) -> str:
    return json.dumps(list(namespace), ensure_ascii=False)


def is_prefix(prefix: Namespace, namespace: Namespace) -> bool:
    return namespace[: len(prefix)] == prefix


class ChromaStore:
    """Entries of one kind, one Chroma collection per namespace (cosine HNSW)."""

    kind: ClassVar[Kind]
    collection_prefix: ClassVar[str]

    def __init__(self, client: ClientAPI) -> None:
        self.client = client
        self._collections: dict[Namespace, Collection] = {}
        self._lock = threading.RLock()

    # -- collections ---------------------------------------------------------
    def collection_name(self, namespace: Namespace) -> str:
        digest = hashlib.sha256(namespace_key(namespace).encode()).hexdigest()[:32]
        return f"{self.collection_prefix}-{digest}"

    def _collection(self, namespace: Namespace, *, create: bool) -> Collection | None:
        namespace = validate_namespace(namespace)
        with self._lock:
            col = self._collections.get(namespace)
            if col is not None:
                return col
            name = self.collection_name(namespace)
            if create:
                col = self.client.get_or_create_collection(
                    name,
                    embedding_function=None,
                    configuration={"hnsw": {"space": "cosine", "sync_threshold": HNSW_SYNC_THRESHOLD}},
                    metadata={"namespace": namespace_key(namespace), "kind": self.kind},
                )
            else:
                try:
                    col = self.client.get_collection(name, embedding_function=None)
                except (NotFoundError, ValueError):
                    return None
            self._collections[namespace] = col
            return col

    def namespaces(self) -> list[Namespace]:
        """Every namespace that has a collection in this store."""
        found = []
        for col in self.client.list_collections():
            meta = col.metadata or {}
            if col.name.startswith(self.collection_prefix + "-") and meta.get("kind") == self.kind:
                found.append(tuple(json.loads(meta["namespace"])))
        return sorted(found)

    # -- writes ----------------------------------------------------------------
    def upsert(self, entries: Sequence[Entry], embeddings: np.ndarray) -> None:
        """Write validated entries of this kind (grouped per namespace)."""
        groups: dict[Namespace, list[int]] = {}
        for i, e in enumerate(entries):
            if e.kind != self.kind:
                raise MemoryBankError(f"{type(self).__name__} holds kind {self.kind!r}, got {e.kind!r}")
            groups.setdefault(e.namespace, []).append(i)
        for ns, idx in groups.items():
            col = self._collection(ns, create=True)
            assert col is not None
            col.upsert(
                ids=[entries[i].id for i in idx],
                embeddings=embeddings[idx],
                metadatas=[{**entries[i].to_metadata(), _NS_FIELD: namespace_key(ns)} for i in idx],
            )

    def update_metadata(self, namespace: Namespace, updates: dict[str, dict[str, Any]]) -> None:
        """Merge metadata fields into existing records (one Chroma call for the batch)."""
        if not updates:
            return
        col = self._collection(namespace, create=False)
        if col is None:
            return
        col.update(ids=list(updates), metadatas=list(updates.values()))

    def delete(self, namespace: Namespace, ids: Sequence[str]) -> int:
        col = self._collection(namespace, create=False)
        if col is None or not ids:
            return 0
        present = col.get(ids=list(ids), include=[])["ids"]
        if present:
            col.delete(ids=present)
        return len(present)

    def drop_namespace(self, namespace: Namespace) -> int:
        """Remove the namespace's collection (exactly that namespace); returns entries removed."""
        col = self._collection(namespace, create=False)
        if col is None:
            return 0
        n = col.count()
        with self._lock:
            self.client.delete_collection(col.name)
            self._collections.pop(tuple(namespace), None)
        return n

    # -- reads -------------------------------------------------------------------
    def _entries(self, namespace: Namespace, result: dict[str, Any], *, now: float) -> list[Entry]:
        out = []
        for id_, meta in zip(result["ids"], result["metadatas"]):
            if meta.get(_NS_FIELD) != namespace_key(namespace):
                raise MemoryBankError(f"record {id_} is not in namespace {namespace}: store corrupted")
            entry = Entry.from_record(id_, namespace, meta)
            if not entry.expired(now):
                out.append(entry)
        return out

    def get(self, namespace: Namespace, ids: Sequence[str]) -> list[Entry]:
        """Live entries with these ids (missing or expired ids are skipped)."""
        col = self._collection(namespace, create=False)
        if col is None or not ids:
            return []
        res = col.get(ids=list(ids), include=["metadatas"])
        return self._entries(namespace, res, now=time.time())

    def list(self, namespace: Namespace, *, limit: int | None = None, offset: int = 0) -> list[Entry]:
        col = self._collection(namespace, create=False)
        if col is None:
            return []
        res = col.get(include=["metadatas"], limit=limit, offset=offset or None)
        return self._entries(namespace, res, now=time.time())

    def count(self, namespace: Namespace) -> int:
        col = self._collection(namespace, create=False)
        return 0 if col is None else col.count()

    def query(self, namespace: Namespace, embedding: np.ndarray, n: int) -> list[tuple[Entry, float]]:
        """Nearest `n` live entries with their cosine similarity, best first."""
        col = self._collection(namespace, create=False)
        if col is None or n <= 0:
            return []
        res = col.query(
            query_embeddings=np.asarray(embedding, dtype=np.float32).reshape(1, -1),
            n_results=n,
            include=["metadatas", "distances"],
        )
        flat = {"ids": res["ids"][0], "metadatas": res["metadatas"][0]}
        sims = {id_: 1.0 - float(d) for id_, d in zip(res["ids"][0], res["distances"][0])}
        return [(e, sims[e.id]) for e in self._entries(namespace, flat, now=time.time())]

    def max_similarity(self, namespace: Namespace, embedding: np.ndarray, *, exclude_id: str | None = None) -> float:
        """Cosine similarity of `embedding` to the closest key in the namespace (0.0 when empty).

        `exclude_id` leaves out an entry's own previous version, so re-proposing
        an edited entry is not judged a duplicate of itself.
        """
        hits = self.query(namespace, embedding, 1 if exclude_id is None else 2)
        return max((sim for e, sim in hits if e.id != exclude_id), default=0.0)

    def expired_ids(self, namespace: Namespace, now: float) -> list[str]:
        col = self._collection(namespace, create=False)
        if col is None:
            return []
        return col.get(where={"expires_at": {"$lte": now}}, include=[])["ids"]

    def iter_entries(self, namespaces: Iterable[Namespace], page: int = 1000) -> Iterable[Entry]:
        for ns in namespaces:
            offset = 0
            while True:
                col = self._collection(ns, create=False)
                if col is None:
                    break
                res = col.get(include=["metadatas"], limit=page, offset=offset)
                if not res["ids"]:
                    break
                yield from self._entries(ns, res, now=time.time())
                offset += len(res["ids"])


class EpisodicStore(ChromaStore):
    """Agent steps proposed by teams and admitted by the admission controller (LTS entries)."""

    kind = "step"
    collection_prefix = "tm-step"


class ExperienceStore(ChromaStore):
    """MemRL triplets: key = task intent (embedded), value = experience text, q = utility."""

    kind = "experience"
    collection_prefix = "tm-exp"

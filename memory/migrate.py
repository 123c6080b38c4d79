"""Migration from the first layout: one Chroma collection per namespace and kind, entries in record metadata.

That layout named each collection `tm-step-<sha256[:32]>` or
`tm-exp-<sha256[:32]>`, with collection metadata {namespace, kind} and each
record's fields packed in its metadata (`kind`, `q`, `expires_at`, `ns`, and
one JSON blob `data`). Migration copies every record into the ledger with
the vector Chroma holds (nothing is embedded again, so similarities are
unchanged), then deletes the old collection.

Crash-safe: each old collection is copied in one ledger transaction that
first clears whatever an interrupted attempt left for that namespace and
kind, and the collection is deleted only after that transaction commits. A
kill at any point leaves every entry either still in its old collection or
already in the ledger, and the next open continues where it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from chromadb.api import ClientAPI

from teammind.memory.ledger import namespace_path
from teammind.memory.schema import Entry, Namespace, Origin

if TYPE_CHECKING:
    from teammind.memory.bank import MemoryBank

OLD_PREFIXES = {"tm-step-": "step", "tm-exp-": "experience"}
PAGE = 2000


def old_collections(client: ClientAPI) -> list[tuple[str, Namespace, str]]:
    """(collection name, namespace, kind) of every collection of the old layout on this client."""
    found = []
    for col in client.list_collections():
        meta = col.metadata or {}
        kind = next((k for p, k in OLD_PREFIXES.items() if col.name.startswith(p)), None)
        if kind is not None and meta.get("kind") == kind and "namespace" in meta:
            found.append((col.name, tuple(json.loads(meta["namespace"])), kind))
    return found


def entry_from_record(id_: str, namespace: Namespace, meta: Mapping[str, Any]) -> Entry:
    """An entry from an old-layout record's id and metadata."""
    data = json.loads(meta["data"])
    origin = data.get("origin") or {}
    return Entry(
        id=id_, namespace=namespace, kind=meta["kind"], key=data["key"], value=data["value"], origin=Origin(**origin),
        created_at=float(data["created_at"]), updated_at=float(data["updated_at"]), tokens=int(data["tokens"]),
        q=float(meta["q"]), visits=int(data["visits"]), uses=dict(data["uses"]), outcome=data.get("outcome"), ttl=data.get("ttl"),
    )  # fmt: skip


def migrate_collection(client: ClientAPI, bank: "MemoryBank", name: str, namespace: Namespace, kind: str) -> int:
    """Copy one old collection into the ledger (one transaction), then delete it; returns the entries copied."""
    col = client.get_collection(name, embedding_function=None)
    entries: list[Entry] = []
    vectors: list[np.ndarray] = []
    offset = 0
    while True:
        res = col.get(include=["embeddings", "metadatas"], limit=PAGE, offset=offset)
        if not res["ids"]:
            break
        for id_, emb, meta in zip(res["ids"], res["embeddings"], res["metadatas"]):
            entries.append(entry_from_record(id_, namespace, meta))
            vectors.append(np.asarray(emb, dtype=np.float32)[None, :])
        offset += len(res["ids"])
    ledger, path = bank.ledger, namespace_path(namespace)
    with ledger.write():
        for table in ("entries", "vectors", "events"):
            ledger.run(f"DELETE FROM {table} WHERE path = ? AND kind = ?", (path, kind))
        ledger.run("UPDATE namespaces SET steps = 0 WHERE path = ?" if kind == "step" else "UPDATE namespaces SET experiences = 0 WHERE path = ?", (path,))
        if entries:
            ledger.put(entries, vectors, info=[{"source": "migration"}] * len(entries), event="created")
    bank.index.after_write([namespace])
    client.delete_collection(name)
    return len(entries)


def migrate_collections(client: ClientAPI, bank: "MemoryBank") -> int:
    """Migrate every old-layout collection on the client; returns the entries copied."""
    return sum(migrate_collection(client, bank, name, ns, kind) for name, ns, kind in old_collections(client))

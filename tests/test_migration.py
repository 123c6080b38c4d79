"""A bank folder written by the first layout (one Chroma collection per namespace and kind) opens and is migrated,
exactly once, even when a migration is killed half way."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from teammind.memory import MemoryBank, RetrievalConfig

pytestmark = pytest.mark.integration  # real Chroma folders and a killed subprocess

ROOT = Path(__file__).resolve().parents[1]
OLD = {  # (namespace, kind) -> [(id, key, q, uses)]
    (("acme", "t1"), "step"): [("s1", "opened the drawer and found a brass key", 0.5, {"a": 2}), ("s2", "walked to the attic", 0.0, {})],
    (("acme", "t2"), "step"): [("s3", "lit the lamp in the cellar", -0.3, {"b": 1})],
    (("acme", "t1"), "experience"): [("x1", "find the brass key", 0.7, {})],
}


def write_old_layout(folder: Path) -> dict[str, np.ndarray]:
    """A folder exactly as the first layout wrote it: collection per namespace and kind, fields in record metadata."""
    import chromadb
    from chromadb.config import Settings

    from teammind.memory import get_embedder

    client = chromadb.PersistentClient(str(folder), settings=Settings(anonymized_telemetry=False))
    vectors = {}
    for (ns, kind), rows in OLD.items():
        key = json.dumps(list(ns), ensure_ascii=False)
        prefix = "tm-step" if kind == "step" else "tm-exp"
        col = client.get_or_create_collection(
            f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:32]}", embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}}, metadata={"namespace": key, "kind": kind},
        )  # fmt: skip
        embs = get_embedder().encode([r[1] for r in rows])
        metas = []
        for (id_, text, q, uses), v in zip(rows, embs):
            vectors[id_] = v
            data = {"key": text, "value": f"value of {id_}", "origin": {"team": "t", "agent": "a", "step": 3, "episode": "e"},
                    "created_at": 1000.0, "updated_at": 1001.0, "tokens": 4, "visits": sum(uses.values()), "uses": uses,
                    "outcome": None, "ttl": None}  # fmt: skip
            metas.append({"kind": kind, "q": q, "data": json.dumps(data), "ns": key})
        col.upsert(ids=[r[0] for r in rows], embeddings=embs, metadatas=metas)
    return vectors


def test_an_old_layout_folder_opens_with_every_entry_and_its_vector(tmp_path):
    folder = tmp_path / "bank"
    vectors = write_old_layout(folder)
    bank = MemoryBank(folder)
    assert bank.migrated == 4
    assert bank.namespaces() == [("acme", "t1"), ("acme", "t2")]
    s1 = bank.get(("acme", "t1"), "s1")
    assert (s1.q, s1.uses, s1.visits, s1.origin.step, s1.created_at) == (0.5, {"a": 2}, 2, 3, 1000.0)
    assert bank.get(("acme", "t1"), "x1").kind == "experience"
    stored = bank.ledger.vectors(("acme", "t1"), "step", ids=["s1"]).matrix[0]
    assert np.array_equal(stored, vectors["s1"])  # copied, not embedded again
    hits = bank.search(("acme", "t1"), "where is the brass key", config=RetrievalConfig(delta=0.0))
    assert hits[0].entry.id == "s1"
    assert [c.name for c in bank.chroma().list_collections()] == []  # the old collections are gone
    assert [e.event for e in bank.history(("acme", "t1"), "s1")] == ["created"]
    bank.close()
    assert MemoryBank(folder).migrated == 0  # once


KILLED = """
import os, sys
from chromadb.api.client import Client
from teammind.memory import MemoryBank
Client.delete_collection = lambda self, name: os._exit(9)  # die right after the first collection's ledger commit
MemoryBank(sys.argv[1])
"""


def test_a_migration_killed_half_way_loses_nothing_and_duplicates_nothing(tmp_path):
    folder = tmp_path / "bank"
    write_old_layout(folder)
    proc = subprocess.run([sys.executable, "-c", KILLED, str(folder)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 9, proc.stderr
    bank = MemoryBank(folder)
    assert bank.migrated == 4  # the interrupted collection is copied again, replacing its partial copy
    assert bank.episodic.count(("acme", "t1")) == 2 and bank.experiences.count(("acme", "t1")) == 1
    assert bank.stats()["entries"] == 4
    assert all(len(bank.history(ns, r[0])) == 1 for (ns, _), rows in OLD.items() for r in rows)


def test_teammind_memory_migrate_reports_what_it_moved(tmp_path, capsys):
    from teammind.memory.cli import cmd_migrate

    folder = tmp_path / "bank"
    write_old_layout(folder)
    args = type("Args", (), {"path": str(folder), "host": None, "port": None})()
    assert cmd_migrate(args) == 0
    assert "migrated 4 entries" in capsys.readouterr().out
    assert cmd_migrate(args) == 0
    assert "already in the current layout" in capsys.readouterr().out

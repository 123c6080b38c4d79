"""The ledger: the bank's record of entries, vectors, utilities, history and namespaces, in SQL.

Every fact the bank keeps lives here, and every change is one transaction, so
a crash, a kill -9 or a second process never loses or half-applies one:

* `entries`: one row per entry (the content, origin, metadata, Q, visits,
  uses, TTL), keyed by (namespace path, kind, id);
* `vectors`: the embedding of each entry's key and chunks (float32 bytes);
  small namespaces are searched from these exactly, big ones also get a
  Chroma HNSW collection (`teammind.memory.vectors`);
* `events`: an append-only log per entry (created, updated, read, Q updated,
  deleted), which is what `MemoryBank.history` answers from;
* `namespaces`: the index that lists namespaces without touching Chroma,
  with entry counts and a version that readers use to refresh cached vectors;
* `pending`: Chroma operations decided in a transaction but not yet applied
  to a big namespace's collection (applied before that collection is read).

Two backends share the SQL: SQLite in WAL mode beside a local bank (and in
memory for ephemeral banks), and Postgres through psycopg for banks whose
Chroma is a server shared by many machines. Utility updates are
read-modify-write inside a write transaction (SQLite `BEGIN IMMEDIATE`,
Postgres `SELECT ... FOR UPDATE`), so concurrent processes never lose one.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from teammind.memory.errors import InvalidFieldError, MemoryBankError
from teammind.memory.schema import Entry, Namespace, Origin

LAYOUT_VERSION = "2"
BUSY_TIMEOUT_S = 60.0
_ENTRY_COLUMNS = (
    "path, kind, id, key, value, origin, metadata, chunks, created_at, updated_at, tokens, q, visits, uses, outcome, ttl, "
    "refreshed_at, expires_at"
)


_UPSERT = (
    f"INSERT INTO entries ({_ENTRY_COLUMNS}) VALUES ({', '.join('?' * 18)}) ON CONFLICT (path, kind, id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _ENTRY_COLUMNS.split(", ")[3:])
)


def namespace_path(namespace: Namespace) -> str:
    """'tenant/task/' with '%' and '/' escaped in labels: a prefix's path is a string prefix of its children's."""
    return "".join(label.replace("%", "%25").replace("/", "%2F") + "/" for label in namespace)


def path_range(prefix: Namespace) -> tuple[str, str]:
    """[lo, hi) of the paths at or under `prefix` (the empty prefix covers everything)."""
    if not prefix:
        return "", "\U0010ffff"
    lo = namespace_path(prefix)
    return lo, lo[:-1] + "0"  # '0' sorts right after '/'


@dataclass(frozen=True)
class HistoryEvent:
    """One line of an entry's history: what happened, when, by which team, with the numbers."""

    seq: int
    namespace: Namespace
    entry_id: str
    kind: str
    event: str  # created | updated | read | q_updated | deleted | imported
    at: float
    team: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event, "at": self.at, "team": self.team, "kind": self.kind, "data": self.data}


@dataclass(frozen=True)
class NamespaceState:
    """What a vector cache needs to know about a namespace: has it changed, and where do its vectors live."""

    version: int = 0
    removed: int = 0
    collection: str | None = None


@dataclass(frozen=True)
class VectorRows:
    seq: np.ndarray  # int64
    ids: list[str]
    matrix: np.ndarray  # (n, dim) float32


@dataclass(frozen=True)
class PendingOp:
    seq: int
    path: str
    kind: str
    id: str
    op: str  # upsert | delete | drop


class Ledger(ABC):
    """The SQL all backends share; subclasses give the connection, placeholders and column types."""

    blob_type = "BLOB"
    serial_type = "INTEGER PRIMARY KEY AUTOINCREMENT"
    path_type = "TEXT"
    for_update = ""
    entry_order = "rowid"  # first-write order, kept by overwrites (as Chroma kept it)
    entry_order_column = ""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._create_schema()

    # -- backend hooks ------------------------------------------------------------------
    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement and return a cursor."""

    @abstractmethod
    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    @contextmanager
    def _transaction(self, write: bool) -> Iterator[None]:
        """The backend's outermost transaction (committed on exit, rolled back on an error)."""

    @abstractmethod
    def close(self) -> None: ...

    @property
    @abstractmethod
    def location(self) -> str: ...

    def _blob(self, value: Any) -> bytes:
        return bytes(value)

    # -- plumbing -------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator["Ledger"]:
        """One atomic transaction that holds the write lock (other processes wait up to the busy timeout)."""
        with self._lock, self._scope(True):
            yield self

    @contextmanager
    def read(self) -> Iterator["Ledger"]:
        """A consistent snapshot for several reads."""
        with self._lock, self._scope(False):
            yield self

    @contextmanager
    def _scope(self, write: bool) -> Iterator[None]:
        """A transaction, or a part of the one already open (the outermost decides)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            with self._transaction(write):
                yield
        finally:
            self._depth = 0

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._execute(sql, params).fetchall())

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._lock:
            return int(self._execute(sql, params).rowcount or 0)

    def runmany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self._lock:
                self._executemany(sql, rows)

    def _create_schema(self) -> None:
        b, serial, p = self.blob_type, self.serial_type, self.path_type
        real = "DOUBLE PRECISION"
        statements = [
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            f"""CREATE TABLE IF NOT EXISTS namespaces (path {p} PRIMARY KEY, labels TEXT NOT NULL,
                steps INTEGER NOT NULL DEFAULT 0, experiences INTEGER NOT NULL DEFAULT 0,
                version BIGINT NOT NULL DEFAULT 0, removed BIGINT NOT NULL DEFAULT 0, collection TEXT)""",
            f"""CREATE TABLE IF NOT EXISTS entries (path {p} NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL,
                key TEXT NOT NULL, value TEXT NOT NULL, origin TEXT NOT NULL, metadata TEXT NOT NULL, chunks TEXT NOT NULL,
                created_at {real} NOT NULL, updated_at {real} NOT NULL, tokens INTEGER NOT NULL, q {real} NOT NULL,
                visits INTEGER NOT NULL, uses TEXT NOT NULL, outcome {real}, ttl {real}, refreshed_at {real}, expires_at {real},
                {self.entry_order_column}PRIMARY KEY (path, kind, id))""",
            "CREATE INDEX IF NOT EXISTS entries_expiry ON entries (expires_at) WHERE expires_at IS NOT NULL",
            f"""CREATE TABLE IF NOT EXISTS vectors (seq {serial}, path {p} NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL,
                chunk INTEGER NOT NULL, vec {b} NOT NULL)""",
            "CREATE INDEX IF NOT EXISTS vectors_scan ON vectors (path, kind, seq)",
            "CREATE INDEX IF NOT EXISTS vectors_entry ON vectors (path, kind, id)",
            f"""CREATE TABLE IF NOT EXISTS events (seq {serial}, path {p} NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL,
                event TEXT NOT NULL, at {real} NOT NULL, team TEXT NOT NULL, data TEXT NOT NULL)""",
            "CREATE INDEX IF NOT EXISTS events_entry ON events (path, id, seq)",
            f"""CREATE TABLE IF NOT EXISTS pending (seq {serial}, path {p} NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL,
                op TEXT NOT NULL)""",
        ]
        with self.write():
            for sql in statements:
                self._execute(sql)

    # -- meta --------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self.rows("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self.run("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    # -- rows <-> entries ----------------------------------------------------------------------
    @staticmethod
    def _row(entry: Entry) -> tuple[Any, ...]:
        o = entry.origin
        return (
            namespace_path(entry.namespace), entry.kind, entry.id, entry.key, entry.value,
            json.dumps([o.team, o.agent, o.step, o.episode], ensure_ascii=False),
            json.dumps(entry.metadata, ensure_ascii=False, allow_nan=False), json.dumps(list(entry.chunks), ensure_ascii=False),
            entry.created_at, entry.updated_at, entry.tokens, float(entry.q), entry.visits,
            json.dumps(entry.uses, ensure_ascii=False), entry.outcome, entry.ttl, entry.refreshed_at, entry.expires_at,
        )  # fmt: skip

    @staticmethod
    def _entry(namespace: Namespace, row: Sequence[Any]) -> Entry:
        team, agent, step, episode = json.loads(row[5])
        return Entry(
            id=row[2], namespace=namespace, kind=row[1], key=row[3], value=row[4],
            origin=Origin(team=team, agent=agent, step=int(step), episode=episode),
            metadata=json.loads(row[6]), chunks=tuple(json.loads(row[7])), created_at=float(row[8]), updated_at=float(row[9]),
            tokens=int(row[10]), q=float(row[11]), visits=int(row[12]), uses=json.loads(row[13]),
            outcome=None if row[14] is None else float(row[14]), ttl=None if row[15] is None else float(row[15]),
            refreshed_at=None if row[16] is None else float(row[16]),
        )  # fmt: skip

    @staticmethod
    def _live(now: float | None) -> tuple[str, tuple[Any, ...]]:
        if now is None:
            return "", ()
        return " AND (expires_at IS NULL OR expires_at > ?)", (now,)

    # -- namespaces ----------------------------------------------------------------------------
    def _ensure_namespaces(self, namespaces: Sequence[Namespace]) -> None:
        """Index new namespaces. `removed` starts at a random value, so a namespace deleted and written again never
        matches a reader's cache of the old one."""
        rows = [(namespace_path(ns), json.dumps(list(ns), ensure_ascii=False), random.getrandbits(62)) for ns in dict.fromkeys(namespaces)]
        self._executemany("INSERT INTO namespaces (path, labels, removed) VALUES (?, ?, ?) ON CONFLICT (path) DO NOTHING", rows)

    def _bump(self, path: str, *, kind: str | None = None, added: int = 0, removed: bool = False) -> None:
        counts = ""
        if kind is not None and added:
            col = "steps" if kind == "step" else "experiences"
            counts = f", {col} = {col} + {int(added)}"
        self._execute(
            f"UPDATE namespaces SET version = version + 1, removed = removed + {1 if removed else 0}{counts} WHERE path = ?", (path,)
        )

    def namespaces(self, prefix: Namespace = (), kinds: Sequence[str] = ("step", "experience")) -> list[Namespace]:
        """Namespaces at or under `prefix` that hold entries of one of `kinds` (expired ones count until purged)."""
        lo, hi = path_range(prefix)
        cond = " OR ".join(f"{'steps' if k == 'step' else 'experiences'} > 0" for k in kinds)
        rows = self.rows(f"SELECT labels FROM namespaces WHERE path >= ? AND path < ? AND ({cond})", (lo, hi))
        return sorted(tuple(json.loads(r[0])) for r in rows)

    def count(self, namespace: Namespace, kind: str) -> int:
        col = "steps" if kind == "step" else "experiences"
        rows = self.rows(f"SELECT {col} FROM namespaces WHERE path = ?", (namespace_path(namespace),))
        return int(rows[0][0]) if rows else 0

    def state(self, namespace: Namespace) -> NamespaceState:
        rows = self.rows("SELECT version, removed, collection FROM namespaces WHERE path = ?", (namespace_path(namespace),))
        return NamespaceState(int(rows[0][0]), int(rows[0][1]), rows[0][2]) if rows else NamespaceState()

    def collections(self) -> dict[Namespace, str]:
        rows = self.rows("SELECT labels, collection FROM namespaces WHERE collection IS NOT NULL")
        return {tuple(json.loads(labels)): name for labels, name in rows}

    # -- writes ----------------------------------------------------------------------------------
    def put(
        self,
        entries: Sequence[Entry],
        vectors: Sequence[np.ndarray],
        *,
        info: Sequence[dict[str, Any]] | None = None,
        event: str | None = None,
        history: Sequence[HistoryEvent] = (),
    ) -> None:
        """Insert or replace entries with their vectors (one (c, dim) array per entry), in one transaction.

        Logs `history` (events carried over, e.g. from an export), then one event
        per entry: `event`, else `created` or `updated` (it existed), with the
        entry's origin and `info[i]` (admission policy and probability, changes).
        """
        now = time.time()
        events: list[HistoryEvent] = list(history)
        with self.write():
            self._ensure_namespaces([e.namespace for e in entries])
            for i, (entry, vecs) in enumerate(zip(entries, vectors)):
                path = namespace_path(entry.namespace)
                existed = bool(self.rows("SELECT 1 FROM entries WHERE path = ? AND kind = ? AND id = ?", (path, entry.kind, entry.id)))
                if existed:
                    self._execute("DELETE FROM vectors WHERE path = ? AND kind = ? AND id = ?", (path, entry.kind, entry.id))
                self._execute(_UPSERT, self._row(entry))
                self._executemany(
                    "INSERT INTO vectors (path, kind, id, chunk, vec) VALUES (?, ?, ?, ?, ?)",
                    [(path, entry.kind, entry.id, c, self._blob(np.asarray(v, dtype="<f4").tobytes())) for c, v in enumerate(vecs)],
                )
                self._bump(path, kind=entry.kind, added=0 if existed else 1, removed=existed)
                self._enqueue(path, entry.kind, [entry.id], "upsert")
                o = entry.origin
                data = {"agent": o.agent, "step": o.step, "episode": o.episode, **(info[i] if info else {})}
                name = event or ("updated" if existed else "created")
                events.append(HistoryEvent(0, entry.namespace, entry.id, entry.kind, name, now, o.team, data))
            self._log(events)

    def update_fields(self, namespace: Namespace, kind: str, entry_id: str, **fields: Any) -> None:
        """Set bookkeeping columns of one entry (inside a `write()` the caller holds)."""
        sets = ", ".join(f"{k} = ?" for k in fields)
        values = [json.dumps(v, ensure_ascii=False) if k == "uses" else v for k, v in fields.items()]
        self._execute(f"UPDATE entries SET {sets} WHERE path = ? AND kind = ? AND id = ?", (*values, namespace_path(namespace), kind, entry_id))

    def delete(self, namespace: Namespace, ids: Sequence[str], *, kinds: Sequence[str] = ("step", "experience"),
               reason: str = "delete", now: float | None = None) -> int:  # fmt: skip
        """Delete these ids (of `kinds`) from one namespace; log a `deleted` event for each; returns how many existed."""
        path, now = namespace_path(namespace), now or time.time()
        removed = 0
        with self.write():
            for kind in kinds:
                found = [
                    r[0]
                    for part in _chunks(list(ids), 500)
                    for r in self._execute(
                        f"SELECT id FROM entries WHERE path = ? AND kind = ? AND id IN ({', '.join('?' * len(part))})", (path, kind, *part)
                    ).fetchall()
                ]
                for part in _chunks(found, 500):
                    marks = ", ".join("?" * len(part))
                    self._execute(f"DELETE FROM entries WHERE path = ? AND kind = ? AND id IN ({marks})", (path, kind, *part))
                    self._execute(f"DELETE FROM vectors WHERE path = ? AND kind = ? AND id IN ({marks})", (path, kind, *part))
                if found:
                    self._bump(path, kind=kind, added=-len(found), removed=True)
                    self._enqueue(path, kind, found, "delete")
                    self._log([HistoryEvent(0, namespace, i, kind, "deleted", now, data={"reason": reason}) for i in found])
                removed += len(found)
        return removed

    def delete_namespaces(self, prefix: Namespace) -> tuple[int, list[str]]:
        """Remove every namespace at or under `prefix` with its entries, vectors and history; returns (entries, collections to drop)."""
        lo, hi = path_range(prefix)
        where = "path >= ? AND path < ?"
        with self.write():
            n = int(self._execute(f"SELECT COUNT(*) FROM entries WHERE {where}", (lo, hi)).fetchone()[0])
            drops = [r[0] for r in self._execute(f"SELECT collection FROM namespaces WHERE {where} AND collection IS NOT NULL", (lo, hi))]
            for table in ("entries", "vectors", "events", "pending", "namespaces"):
                self._execute(f"DELETE FROM {table} WHERE {where}", (lo, hi))
            self._executemany("INSERT INTO pending (path, kind, id, op) VALUES (?, ?, ?, ?)", [("", "", name, "drop") for name in drops])
        return n, drops

    def _enqueue(self, path: str, kind: str, ids: Sequence[str], op: str) -> None:
        """Queue Chroma work when the namespace has a collection (checked in the same transaction)."""
        row = self._execute("SELECT collection FROM namespaces WHERE path = ?", (path,)).fetchone()
        if row is not None and row[0] is not None:
            self._executemany("INSERT INTO pending (path, kind, id, op) VALUES (?, ?, ?, ?)", [(path, kind, i, op) for i in ids])

    def _log(self, events: Sequence[HistoryEvent]) -> None:
        self._executemany(
            "INSERT INTO events (path, kind, id, event, at, team, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (namespace_path(e.namespace), e.kind, e.entry_id, e.event, e.at, e.team, json.dumps(e.data, ensure_ascii=False, allow_nan=False))
                for e in events
            ],
        )

    def log(self, events: Sequence[HistoryEvent]) -> None:
        with self.write():
            self._log(events)

    # -- reads -----------------------------------------------------------------------------------
    def get(self, namespace: Namespace, ids: Sequence[str], *, kinds: Sequence[str] = ("step", "experience"),
            now: float | None = None, lock: bool = False) -> dict[str, Entry]:  # fmt: skip
        """Entries with these ids; an id held by both kinds resolves to the step. `now` hides expired ones."""
        if not ids:
            return {}
        path = namespace_path(namespace)
        live, extra = self._live(now)
        kind_cond = f" AND kind IN ({', '.join('?' * len(kinds))})"
        rows: list[tuple[Any, ...]] = []
        for part in _chunks(list(dict.fromkeys(ids)), 500):
            rows += self.rows(
                f"SELECT {_ENTRY_COLUMNS}, {self.entry_order} FROM entries WHERE path = ? AND id IN ({', '.join('?' * len(part))})"
                f"{kind_cond}{live}{self.for_update if lock else ''}",
                (path, *part, *kinds, *extra),
            )
        rows.sort(key=lambda r: (r[1] != "step", r[-1]))  # an id held by both kinds is the step
        found: dict[str, Entry] = {}
        order: dict[str, Any] = {}
        for row in rows:
            if row[2] not in found:
                found[row[2]], order[row[2]] = self._entry(namespace, row), row[-1]
        return dict(sorted(found.items(), key=lambda kv: order[kv[0]]))

    def list(self, namespace: Namespace, kinds: Sequence[str], *, now: float | None = None) -> list[Entry]:
        live, extra = self._live(now)
        rows = self.rows(
            f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE path = ? AND kind IN ({', '.join('?' * len(kinds))}){live}"
            " ORDER BY created_at, id",
            (namespace_path(namespace), *kinds, *extra),
        )
        return [self._entry(namespace, r) for r in rows]

    def iter_namespace_entries(self, namespace: Namespace, kind: str, page: int = 1000) -> Iterator[Entry]:
        path, last = namespace_path(namespace), ""
        while True:
            rows = self.rows(
                f"SELECT {_ENTRY_COLUMNS} FROM entries WHERE path = ? AND kind = ? AND id > ? ORDER BY id LIMIT {int(page)}",
                (path, kind, last),
            )
            if not rows:
                return
            yield from (self._entry(namespace, r) for r in rows)
            last = rows[-1][2]

    def expired(self, now: float) -> list[tuple[Namespace, str, str]]:
        rows = self.rows(
            "SELECT n.labels, e.kind, e.id FROM entries e JOIN namespaces n ON n.path = e.path"
            " WHERE e.expires_at IS NOT NULL AND e.expires_at <= ?",
            (now,),
        )
        return [(tuple(json.loads(r[0])), r[1], r[2]) for r in rows]

    def history(self, namespace: Namespace, entry_id: str) -> list[HistoryEvent]:
        rows = self.rows(
            "SELECT seq, kind, event, at, team, data FROM events WHERE path = ? AND id = ? ORDER BY seq", (namespace_path(namespace), entry_id)
        )
        return [HistoryEvent(int(r[0]), namespace, entry_id, r[1], r[2], float(r[3]), r[4], json.loads(r[5])) for r in rows]

    def histories(self, namespace: Namespace) -> dict[str, list[HistoryEvent]]:
        """Every entry's history in one namespace (for export)."""
        out: dict[str, list[HistoryEvent]] = {}
        rows = self.rows("SELECT seq, kind, id, event, at, team, data FROM events WHERE path = ? ORDER BY seq", (namespace_path(namespace),))
        for r in rows:
            out.setdefault(r[2], []).append(HistoryEvent(int(r[0]), namespace, r[2], r[1], r[3], float(r[4]), r[5], json.loads(r[6])))
        return out

    # -- vectors -----------------------------------------------------------------------------------
    def vectors(self, namespace: Namespace, kind: str, *, after: int = 0, ids: Sequence[str] | None = None) -> VectorRows:
        """Vector rows of a namespace and kind (those with seq > `after`, or of these entry ids), in seq order."""
        path = namespace_path(namespace)
        if ids is None:
            rows = self.rows("SELECT seq, id, vec FROM vectors WHERE path = ? AND kind = ? AND seq > ? ORDER BY seq", (path, kind, after))
        else:
            rows = []
            for part in _chunks(list(ids), 500):
                rows += self.rows(
                    f"SELECT seq, id, vec FROM vectors WHERE path = ? AND kind = ? AND id IN ({', '.join('?' * len(part))}) ORDER BY seq",
                    (path, kind, *part),
                )
        if not rows:
            return VectorRows(np.zeros(0, dtype=np.int64), [], np.zeros((0, 0), dtype=np.float32))
        matrix = np.frombuffer(b"".join(bytes(r[2]) for r in rows), dtype="<f4").reshape(len(rows), -1)
        return VectorRows(np.array([r[0] for r in rows], dtype=np.int64), [r[1] for r in rows], matrix)

    # -- big namespaces' Chroma collections -----------------------------------------------------------
    def assign_collection(self, namespace: Namespace, name: str) -> None:
        """Give a namespace a Chroma collection and queue every one of its entries for it (one transaction)."""
        path = namespace_path(namespace)
        with self.write():
            self._execute("UPDATE namespaces SET collection = ? WHERE path = ?", (name, path))
            self._execute("INSERT INTO pending (path, kind, id, op) SELECT path, kind, id, 'upsert' FROM entries WHERE path = ?", (path,))

    def pending(self, path: str | None = None, limit: int = 2048) -> list[PendingOp]:
        where, params = ("WHERE path = ?", (path,)) if path is not None else ("", ())
        rows = self.rows(f"SELECT seq, path, kind, id, op FROM pending {where} ORDER BY seq LIMIT {int(limit)}", params)
        return [PendingOp(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]

    def has_pending(self, path: str) -> bool:
        return bool(self.rows("SELECT 1 FROM pending WHERE path = ? LIMIT 1", (path,)))

    def done(self, ops: Sequence[PendingOp]) -> None:
        for part in _chunks([o.seq for o in ops], 500):
            self.run(f"DELETE FROM pending WHERE seq IN ({', '.join('?' * len(part))})", part)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class SqliteLedger(Ledger):
    """SQLite in WAL mode: one file beside a local bank (several processes may share it), or memory (`path=None`).

    synchronous=NORMAL: a committed transaction survives a crash or kill -9 of
    any process; a power loss may drop the last commits but never corrupts.
    """

    def __init__(self, path: str | Path | None = None, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = None if path is None else Path(path)
        target = ":memory:" if self.path is None else str(self.path)
        self._conn = sqlite3.connect(target, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
        if self.path is not None:
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        super().__init__()

    @property
    def location(self) -> str:
        return f"sqlite:{self.path}" if self.path is not None else "sqlite::memory:"

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql, tuple(params))

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._conn.executemany(sql, [tuple(r) for r in rows])

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class PostgresLedger(Ledger):
    """Postgres through psycopg 3: the ledger of a bank whose Chroma is a server shared by many machines."""

    blob_type = "BYTEA"
    serial_type = "BIGSERIAL PRIMARY KEY"
    path_type = 'TEXT COLLATE "C"'
    for_update = " FOR UPDATE"
    entry_order = "pos"
    entry_order_column = "pos BIGSERIAL, "

    def __init__(self, dsn: str) -> None:
        try:
            import psycopg
        except ImportError as err:
            raise InvalidFieldError("ledger", "is a Postgres URL but psycopg is not installed", "pip install 'teammind[postgres]'") from err
        self.dsn = dsn
        try:
            self._conn = psycopg.connect(dsn, autocommit=True)
        except psycopg.Error as err:
            raise MemoryBankError(f"ledger: cannot connect to {redact(dsn)} ({err}). Fix: start Postgres or correct the URL") from err
        super().__init__()

    @property
    def location(self) -> str:
        return redact(self.dsn)

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(self._sql(sql), tuple(params))

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            with self._conn.cursor() as cur:
                cur.executemany(self._sql(sql), [tuple(r) for r in rows])

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[None]:
        with self._conn.transaction():
            if write:  # one writer at a time keeps namespace counts and utility updates exact
                self._conn.execute("SELECT pg_advisory_xact_lock(7305)")
            yield

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def redact(dsn: str) -> str:
    """A URL without its password (for messages and for the record a server keeps)."""
    if "@" in dsn and "://" in dsn:
        scheme, rest = dsn.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
    return dsn


def open_ledger(location: str | Path | None) -> Ledger:
    """A ledger from a location: None (memory), a SQLite file path, or a postgresql:// URL."""
    if location is None:
        return SqliteLedger(None)
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresLedger(text)
    if text.startswith("sqlite:"):
        text = text[len("sqlite:") :]
    return SqliteLedger(Path(text).expanduser())

"""`MemoryBank`: the facade teams, trainers and apps use.

It owns the ledger (every entry, utility and history line, in SQL), the
vector index (exact search for small namespaces, a Chroma collection for big
ones), the shared embedder and the admission policy, and adds what callers
need around them: validation before any write (a bad entry writes nothing),
read = use bookkeeping, utility updates, history, cascading deletion, TTL
expiry, JSONL export/import and stats.

Where it keeps things:

* a folder (`MemoryBank("./bank")`): `ledger.sqlite3` (SQLite, WAL) and, once
  a namespace outgrows exact search, Chroma's files. Several processes may
  share the folder: every write and utility update is one SQLite transaction.
  Chroma's index serves one process at a time; a second process that needs it
  gets `BankInUseError` naming the fix (a Chroma server).
* a Chroma server (`MemoryBank(host=..., port=...)`): the ledger is a Postgres
  URL (`ledger="postgresql://..."`) or, on one machine, a SQLite file; the
  server records which, so every worker finds the same one.
* memory (`MemoryBank.ephemeral()`): both in this process.

Thread safety: one re-entrant lock serialises ledger and Chroma calls within
the process; embedding (the slow part) runs outside it.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api import ClientAPI
from tqdm.auto import tqdm

from teammind.memory.admission import AdmissionDecision, AdmissionFeatures, AdmissionPolicy, AdmitAll
from teammind.memory.client import FolderLock, make_client, registered_ledger
from teammind.memory.embeddings import Embedder, get_embedder
from teammind.memory.errors import EntryNotFoundError, InvalidFieldError, MemoryBankError
from teammind.memory.filters import Filter, entry_fields, matches, validate_filter
from teammind.memory.ledger import LAYOUT_VERSION, HistoryEvent, Ledger, open_ledger
from teammind.memory.retrieval import Hit, RetrievalConfig, two_phase_select
from teammind.memory.schema import (
    KINDS,
    Entry,
    EntryLimits,
    Kind,
    Namespace,
    Origin,
    validate_count,
    validate_entry,
    validate_namespace,
    validate_number,
)
from teammind.memory.stores import EpisodicStore, ExperienceStore, KindStore
from teammind.memory.tokens import count_tokens
from teammind.memory.vectors import DEFAULT_THRESHOLD, VectorIndex

DEFAULT_ALPHA = 0.3  # MemRL's Q learning rate
# Phase A asks for this many times k1 candidates so that exact ties at the k1 boundary are broken by
# entry id, not by the index's internal order (ours: a tie at the boundary changed one stream's choices run to run).
TIE_SLACK = 2
LEDGER_FILE = "ledger.sqlite3"
MIGRATION_WAIT_S = 600.0
Utility = Callable[[np.ndarray, list[tuple[Entry, float]]], np.ndarray]


def default_bank_path() -> Path:
    """`$TEAMMIND_BANK_PATH`, else ~/.teammind/bank."""
    return Path(os.environ.get("TEAMMIND_BANK_PATH", Path.home() / ".teammind" / "bank"))


@dataclass(frozen=True)
class StepCandidate:
    """A step a team proposes to the shared bank, with what admission needs to judge it."""

    namespace: Namespace
    task: str
    key: str
    value: str
    origin: Origin = field(default_factory=Origin)
    tool: str = ""
    error: bool = False
    step_index: int = 0
    max_steps: int = 30
    n_teams: int = 3
    ttl: float | None = None
    id: str | None = None  # keep a caller's id (e.g. a LangGraph item key); None = fresh uuid
    metadata: Mapping[str, Any] | None = None
    chunks: tuple[str, ...] = ()  # further texts embedded for the entry (a long item's windows)


@dataclass(frozen=True)
class Proposal:
    """Outcome of `evaluate`/`propose`: the decision (with log-prob and features) and the entry if admitted."""

    decision: AdmissionDecision
    entry: Entry
    policy: str = ""

    @property
    def admitted(self) -> bool:
        return self.decision.admit


@dataclass(frozen=True)
class SearchRequest:
    """One search of a batch (`MemoryBank.search_many`): a query text or a ready vector, and where to look."""

    namespace: Namespace
    query: str | None = None
    vector: np.ndarray | None = None
    kind: Kind = "step"
    config: RetrievalConfig | None = None
    include_descendants: bool = False
    filter: Filter | None = None
    rng: random.Random | None = None


class MemoryBank:
    """The global memory bank.

    Open it on a folder (`MemoryBank("./bank")`), a Chroma server
    (`MemoryBank(host="127.0.0.1", port=8000)`) or in memory
    (`MemoryBank.ephemeral()`). With no arguments it uses `default_bank_path()`.

    ledger: where entries, utilities and history live: a SQLite path or a
        postgresql:// URL. Default: `ledger.sqlite3` in the folder; for a server,
        the one the server has on record (a SQLite file on this machine if none).
    index_threshold: entries above which a namespace is searched through a
        Chroma HNSW collection instead of exactly.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
        ephemeral: bool = False,
        embedder: Embedder | None = None,
        admission: AdmissionPolicy | None = None,
        retrieval: RetrievalConfig = RetrievalConfig(),
        limits: EntryLimits = EntryLimits(),
        alpha: float = DEFAULT_ALPHA,
        ledger: str | Path | None = None,
        index_threshold: int = DEFAULT_THRESHOLD,
    ) -> None:
        self.alpha = validate_number("alpha", alpha, lo=1e-6, hi=1.0)
        validate_count("index_threshold", index_threshold)
        self._client: ClientAPI | None = None
        self._folder_lock: FolderLock | None = None
        self.folder: Path | None = None
        if ephemeral:
            if path is not None or host is not None:
                raise InvalidFieldError("ephemeral", "given with path or host", "choose one: a folder, a server, or ephemeral")
            self.location = "memory"
            self.ledger: Ledger = open_ledger(ledger)
        elif host is not None or port is not None:
            self.location = f"http://{host}:{port or 8000}"
            self._client = make_client(path, host=host, port=port)
            self.ledger = open_ledger(registered_ledger(self._client, ledger))
        else:
            self.folder = Path(path).expanduser() if path is not None else default_bank_path()
            if self.folder.exists() and not self.folder.is_dir():
                raise InvalidFieldError("path", f"{self.folder} exists and is not a folder", "point path at a directory for the bank")
            self.folder.mkdir(parents=True, exist_ok=True)
            self.location = str(self.folder)
            self.ledger = open_ledger(ledger if ledger is not None else self.folder / LEDGER_FILE)
        self.embedder = embedder or get_embedder()
        self.admission: AdmissionPolicy = admission or AdmitAll()
        self.retrieval = retrieval
        self.limits = limits
        self.index = VectorIndex(self.ledger, self.chroma, threshold=index_threshold)
        self.episodic = EpisodicStore(self)
        self.experiences = ExperienceStore(self)
        self._lock = threading.RLock()
        self.migrated = 0  # entries moved from an old-layout folder when this bank opened it
        self._ensure_layout()

    @classmethod
    def ephemeral(cls, **kwargs: Any) -> "MemoryBank":
        """An in-memory bank (tests, throwaway runs); nothing reaches disk."""
        return cls(ephemeral=True, **kwargs)

    def __enter__(self) -> "MemoryBank":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the Chroma client and this process's hold on the folder (every write is already committed)."""
        with self._lock:
            self.index.clear()
            if self._folder_lock is not None and self._client is not None:
                self._client.close()
                self._client = None
                self._folder_lock.release()
                self._folder_lock = None

    # -- Chroma (only for big namespaces) ------------------------------------------------------
    def chroma(self, *, wait: bool = False) -> ClientAPI:
        """The Chroma client, opened on first use; for a folder this takes the folder's lock (`BankInUseError` if held)."""
        with self._lock:
            if self._client is None:
                if self.folder is None:
                    self._client = make_client(None)
                else:
                    lock = FolderLock(self.folder)
                    lock.acquire(wait=wait)
                    self._folder_lock = lock
                    self._client = make_client(self.folder)
                self.index.apply_pending("")
            return self._client

    def _ensure_layout(self) -> None:
        """Migrate a folder (or server) written by the one-collection-per-namespace layout, once."""
        if self.ledger.get_meta("layout") == LAYOUT_VERSION:
            return
        fresh = self.location == "memory" or (self.folder is not None and not (self.folder / "chroma.sqlite3").exists())
        if fresh:  # nothing was ever written in the old layout
            self.ledger.set_meta("layout", LAYOUT_VERSION)
            return
        from teammind.memory.migrate import migrate_collections

        deadline = time.monotonic() + MIGRATION_WAIT_S
        while True:
            try:
                client = self.chroma()
                break
            except MemoryBankError:  # another process holds the folder: it is migrating, or has
                if self.ledger.get_meta("layout") == LAYOUT_VERSION:
                    return
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        if self.ledger.get_meta("layout") != LAYOUT_VERSION:
            self.migrated = migrate_collections(client, self)
            self.ledger.set_meta("layout", LAYOUT_VERSION)

    @property
    def stores(self) -> tuple[KindStore, KindStore]:
        return (self.episodic, self.experiences)

    def store_for(self, kind: Kind) -> KindStore:
        if kind not in KINDS:
            raise InvalidFieldError("kind", f"is {kind!r}", f"use one of {KINDS}")
        return self.episodic if kind == "step" else self.experiences

    # -- embedding -------------------------------------------------------------
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder.encode(texts)

    def embed_many(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors of distinct texts in one batch (texts the embedder has cached are not encoded again)."""
        unique = list(dict.fromkeys(texts))
        encode_many = getattr(self.embedder, "encode_many", None)
        vectors = encode_many(unique) if encode_many is not None else self.embedder.encode(unique)
        return dict(zip(unique, vectors))

    def _entry_vectors(self, entries: Sequence[Entry]) -> list[np.ndarray]:
        texts = [t for e in entries for t in e.texts]
        flat = self.embed(texts) if texts else np.zeros((0, 0), dtype=np.float32)
        out, i = [], 0
        for e in entries:
            out.append(flat[i : i + len(e.texts)])
            i += len(e.texts)
        return out

    # -- writes ------------------------------------------------------------------
    def add(self, entries: Entry | Sequence[Entry]) -> list[str]:
        """Validate every entry, embed the keys (and chunks), then write them all (or nothing if one is bad)."""
        batch = [entries] if isinstance(entries, Entry) else list(entries)
        self._validate_batch(batch)
        self._embed_and_write(batch)
        return [e.id for e in batch]

    def _validate_batch(self, batch: Sequence[Entry]) -> None:
        for i, entry in enumerate(batch):
            try:
                validate_entry(entry, self.limits)
            except InvalidFieldError as err:
                if len(batch) == 1:
                    raise
                raise InvalidFieldError(f"entries[{i}].{err.field}", err.problem, err.fix) from err

    def _embed_and_write(
        self, batch: Sequence[Entry], chunk: int = 128, progress: bool = False, history: Mapping[str, Sequence[HistoryEvent]] | None = None
    ) -> None:
        """Embed and write in chunks, embedding chunk i+1 while chunk i is written (embedding is most of a write)."""
        chunks = [batch[i : i + chunk] for i in range(0, len(batch), chunk)]
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bank-writer") as writer:
            pending: Future[None] | None = None
            for part in tqdm(chunks, desc="write", unit="batch", disable=None if progress else True):
                vectors = self._entry_vectors(part)
                if pending is not None:
                    pending.result()
                carried = [ev for e in part for ev in (history or {}).get(e.id, ())] if history else ()
                pending = writer.submit(self._write, part, vectors, None, "imported" if history is not None else None, carried)
            if pending is not None:
                pending.result()

    def _write(
        self,
        batch: Sequence[Entry],
        vectors: Sequence[np.ndarray],
        info: Sequence[dict[str, Any]] | None = None,
        event: str | None = None,
        history: Sequence[HistoryEvent] = (),
    ) -> None:
        with self._lock:
            self.ledger.put(batch, vectors, info=info, event=event, history=history)
            self.index.after_write([e.namespace for e in batch])

    def add_step(
        self,
        namespace: Sequence[str],
        key: str,
        value: str,
        *,
        origin: Origin | None = None,
        ttl: float | None = None,
        id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Entry:
        """Write a step directly, bypassing admission (imports, tools, tests)."""
        entry = Entry.new(namespace, key, value, kind="step", origin=origin, ttl=ttl, id=id, metadata=metadata)
        self.add(entry)
        return entry

    def add_experience(
        self,
        namespace: Sequence[str],
        intent: str,
        experience: str,
        *,
        outcome: float | None = None,
        q: float = 0.0,
        origin: Origin | None = None,
        ttl: float | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Entry:
        """Write a MemRL experience: `intent` (the task, embedded) -> `experience` text, Q_init = `q`."""
        entry = Entry.new(namespace, intent, experience, kind="experience", origin=origin, q=q, outcome=outcome, ttl=ttl, metadata=metadata)
        self.add(entry)
        return entry

    # -- admission -----------------------------------------------------------------
    def features_for(self, candidate: StepCandidate) -> AdmissionFeatures:
        """Admission features of a candidate: embeddings, novelty against the namespace, progress."""
        task_vec = self.embedder.encode([candidate.task])[0]  # the embedder caches repeated single texts
        key_vec = self.embedder.encode([candidate.key])[0]
        return self.features_from_vectors(candidate, task_vec, key_vec)

    def features_from_vectors(
        self, candidate: StepCandidate, task_vec: np.ndarray, key_vec: np.ndarray, max_similarity: float | None = None
    ) -> AdmissionFeatures:
        if max_similarity is None:
            max_similarity = self.episodic.max_similarity(candidate.namespace, key_vec, exclude_id=candidate.id)
        return AdmissionFeatures(
            task_embedding=task_vec,
            key_embedding=key_vec,
            max_similarity=max_similarity,
            task_key_similarity=float(np.dot(task_vec, key_vec)),
            tool=candidate.tool,
            value_tokens=0,  # filled from the validated entry
            error=candidate.error,
            step_index=candidate.step_index,
            max_steps=candidate.max_steps,
            n_teams=candidate.n_teams,
        )

    def _candidate_entry(self, candidate: StepCandidate) -> Entry:
        entry = Entry.new(
            candidate.namespace, candidate.key, candidate.value, kind="step", origin=candidate.origin, ttl=candidate.ttl,
            id=candidate.id, metadata=candidate.metadata, chunks=candidate.chunks,
        )  # fmt: skip
        validate_entry(entry, self.limits)
        for name in ("step_index", "max_steps", "n_teams"):
            v = getattr(candidate, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InvalidFieldError(name, f"is {v!r}", "pass a non-negative integer")
        return entry

    def _keep_created_at(self, entries: Sequence[Entry]) -> None:
        """An overwrite keeps its creation time."""
        by_ns: dict[Namespace, list[Entry]] = {}
        for e in entries:
            by_ns.setdefault(e.namespace, []).append(e)
        for ns, group in by_ns.items():
            previous = self.ledger.get(ns, [e.id for e in group], now=time.time())
            for e in group:
                if e.id in previous:
                    e.created_at = previous[e.id].created_at
                    e.refreshed_at = e.updated_at  # an overwrite restarts the TTL

    def evaluate(
        self,
        candidate: StepCandidate,
        policy: AdmissionPolicy | None = None,
        *,
        sample: bool = False,
        rng: random.Random | None = None,
    ) -> Proposal:
        """Score a candidate step with the admission policy without writing it.

        Graphs that run teams in lock-step evaluate every team's step against
        the bank as it was at the start of the round, then `commit` the admitted
        ones in team order, so a run is deterministic for its seed.
        """
        entry = self._candidate_entry(candidate)
        if candidate.id is not None:
            self._keep_created_at([entry])
        features = replace(self.features_for(candidate), value_tokens=entry.tokens)
        pol = policy or self.admission
        return Proposal(decision=pol.decide(features, sample=sample, rng=rng), entry=entry, policy=pol.name)

    def evaluate_many(
        self,
        candidates: Sequence[StepCandidate],
        policy: AdmissionPolicy | None = None,
        *,
        sample: bool = False,
        rng: random.Random | None = None,
        rngs: Sequence[random.Random | None] | None = None,
    ) -> list[Proposal]:
        """`evaluate` for a round of candidates at once: one embedding batch, one novelty query per namespace.

        Decisions are taken in the given order with the same `rng` (or each with
        its own, `rngs`), so they equal evaluating the candidates one by one
        against the same bank.
        """
        if rngs is not None and len(rngs) != len(candidates):
            raise InvalidFieldError("rngs", f"has {len(rngs)} generators for {len(candidates)} candidates", "pass one per candidate, or rng")
        entries = [self._candidate_entry(c) for c in candidates]
        self._keep_created_at([e for e, c in zip(entries, candidates) if c.id is not None])
        vectors = self.embed_many([t for c in candidates for t in (c.task, c.key)])
        novelty = self._novelty(candidates, [vectors[c.key] for c in candidates])
        pol = policy or self.admission
        out = []
        for i, (c, e, sim) in enumerate(zip(candidates, entries, novelty)):
            features = replace(self.features_from_vectors(c, vectors[c.task], vectors[c.key], sim), value_tokens=e.tokens)
            out.append(Proposal(decision=pol.decide(features, sample=sample, rng=rngs[i] if rngs is not None else rng), entry=e, policy=pol.name))
        return out

    def _novelty(self, candidates: Sequence[StepCandidate], keys: Sequence[np.ndarray]) -> list[float]:
        """Max similarity of each candidate's key to the steps of its namespace (its own id left out), one query per namespace."""
        out = [0.0] * len(candidates)
        groups: dict[Namespace, list[int]] = {}
        for i, c in enumerate(candidates):
            groups.setdefault(validate_namespace(c.namespace), []).append(i)
        for ns, idx in groups.items():
            n = 2 if any(candidates[i].id is not None for i in idx) else 1
            for i, hits in zip(idx, self.nearest(ns, "step", np.stack([keys[i] for i in idx]), n)):
                out[i] = max((sim for e, sim in hits if e.id != candidates[i].id), default=0.0)
        return out

    def commit(self, proposals: Sequence[Proposal]) -> list[str]:
        """Write the admitted entries of evaluated proposals (in the given order) with the vectors they were judged by."""
        admitted = [p for p in proposals if p.admitted]
        self.write_judged([p.entry for p in admitted], [p.decision.features.key_embedding for p in admitted],
                          [{"policy": p.policy, "probability": round(float(p.decision.probability), 6)} for p in admitted])
        return [p.entry.id for p in admitted]

    def write_judged(self, entries: Sequence[Entry], key_vectors: Sequence[np.ndarray], info: Sequence[dict[str, Any]]) -> None:
        """Write entries admission already judged, with the key vectors it judged them by (no second embedding of the keys).

        `info` is each entry's {"policy", "probability"} for its history. Lock-step
        graphs judge a round in one node and write it in the next, after a checkpoint.
        """
        if not (len(entries) == len(key_vectors) == len(info)):
            raise InvalidFieldError("entries", f"{len(entries)} entries, {len(key_vectors)} vectors, {len(info)} infos", "pass one of each per entry")
        self._validate_batch(entries)
        if entries:
            vectors = [
                np.vstack([np.asarray(v, np.float32)[None, :], self.embed(list(e.chunks))]) if e.chunks else np.asarray(v, np.float32)[None, :]
                for e, v in zip(entries, key_vectors)
            ]  # fmt: skip
            self._write(entries, vectors, info)

    def propose(
        self,
        candidate: StepCandidate,
        policy: AdmissionPolicy | None = None,
        *,
        sample: bool = False,
        rng: random.Random | None = None,
    ) -> Proposal:
        """Score a candidate step with the admission policy and write it at once if admitted."""
        proposal = self.evaluate(candidate, policy, sample=sample, rng=rng)
        self.commit([proposal])
        return proposal

    # -- reads -------------------------------------------------------------------
    def nearest(self, namespace: Namespace, kind: str, vectors: np.ndarray, n: int) -> list[list[tuple[Entry, float]]]:
        """For each query vector: up to `n` live entries of one namespace and kind with their cosine, best first."""
        with self._lock:
            matches = self.index.query(namespace, kind, vectors, n)
            ids = [i for m in matches for i, _ in m]
            found = self.ledger.get(namespace, ids, kinds=(kind,), now=time.time()) if ids else {}
        return [[(found[i], s) for i, s in m if i in found] for m in matches]

    def search(
        self,
        namespace: Sequence[str],
        query: str,
        *,
        kind: Kind = "step",
        config: RetrievalConfig | None = None,
        include_descendants: bool = False,
        rng: random.Random | None = None,
        filter: Filter | None = None,
    ) -> list[Hit]:
        """Two-phase retrieval in `namespace` (and, if asked, the namespaces below it).

        filter: conditions on the entries' metadata and bookkeeping (see
        `teammind.memory.filters`), applied before Phase A cuts to k1.
        """
        ns = validate_namespace(namespace)
        if not isinstance(query, str) or not query.strip():
            raise InvalidFieldError("query", f"is empty ({query!r})", "pass the text to search for")
        vec = self.embedder.encode([query])[0]
        return self.search_by_vector(ns, vec, kind=kind, config=config, include_descendants=include_descendants, rng=rng, filter=filter)

    def search_by_vector(
        self,
        namespace: Namespace,
        vector: np.ndarray,
        *,
        kind: Kind = "step",
        config: RetrievalConfig | None = None,
        include_descendants: bool = False,
        rng: random.Random | None = None,
        utility: Utility | None = None,
        filter: Filter | None = None,
        where: Callable[[Entry], bool] | None = None,
    ) -> list[Hit]:
        """Two-phase retrieval from a query vector.

        `utility(vector, candidates)` replaces each candidate's stored Q in
        Phase B (for a Q-network that predicts utility of entries never used);
        the returned hits then carry the Q that ranked them. `where` is a
        predicate on entries applied with `filter` (stores build theirs on it).
        """
        config = config or self.retrieval
        filt = validate_filter(filter)
        ns = () if include_descendants and len(namespace) == 0 else validate_namespace(namespace)  # () + descendants: everything
        self.store_for(kind)
        candidates = self._phase_a(ns, kind, np.asarray(vector), config.k1, include_descendants, filt, where)
        if utility is not None and candidates:
            qs = np.asarray(utility(vector, candidates), dtype=np.float64)
            if qs.shape != (len(candidates),) or not np.all(np.isfinite(qs)):
                raise InvalidFieldError("utility", f"returned shape {qs.shape} or non-finite values", "return one finite Q per candidate")
            candidates = [(replace(e, q=float(q)), s) for (e, s), q in zip(candidates, qs)]
        return two_phase_select(candidates, config, rng)

    def _phase_a(
        self,
        namespace: Namespace,
        kind: str,
        vector: np.ndarray,
        k1: int,
        include_descendants: bool,
        filt: dict[str, Any] | None,
        where: Callable[[Entry], bool] | None,
    ) -> list[tuple[Entry, float]]:
        """Top-k1 live entries by similarity across the targets; identical keys tie exactly and are ordered by id.

        With a filter, the candidate pool widens until k1 entries pass it or every entry was seen.
        """
        targets = self.ledger.namespaces(namespace, (kind,)) if include_descendants else [namespace]
        n = TIE_SLACK * k1
        while True:
            exhausted = True
            pool: list[tuple[Entry, float]] = []
            for ns in targets:
                hits = self.nearest(ns, kind, vector[None, :], n)[0]
                exhausted = exhausted and len(hits) < n
                pool.extend(hits)
            pool = [(e, s) for e, s in pool if (where is None or where(e)) and (filt is None or matches(entry_fields(e), filt))]
            pool.sort(key=lambda c: (-round(c[1], 6), c[0].id))
            if len(pool) >= k1 or exhausted or (filt is None and where is None):
                return pool[:k1]
            n *= 4

    def search_many(self, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        """Several searches at once (a round's queries): every query text embedded in one batch."""
        texts = [r.query for r in requests if r.vector is None]
        for r in requests:
            if r.vector is None and (not isinstance(r.query, str) or not r.query.strip()):
                raise InvalidFieldError("query", f"is empty ({r.query!r})", "pass the text to search for, or a vector")
        vectors = self.embed_many(texts) if texts else {}
        return [
            self.search_by_vector(
                r.namespace, r.vector if r.vector is not None else vectors[r.query], kind=r.kind, config=r.config,  # type: ignore[index]
                include_descendants=r.include_descendants, rng=r.rng, filter=r.filter,
            )
            for r in requests
        ]  # fmt: skip

    def get(self, namespace: Sequence[str], entry_id: str) -> Entry:
        """The live entry with this id in this namespace (no use recorded)."""
        ns = validate_namespace(namespace)
        found = self.ledger.get(ns, [entry_id], now=time.time())
        if entry_id not in found:
            raise EntryNotFoundError(f"no entry {entry_id!r} in namespace {ns}")
        return found[entry_id]

    def read(self, namespace: Sequence[str], entry_id: str, team: str) -> Entry:
        """Dereference an entry for `team`: returns it and records the use (a read is a use)."""
        ns = validate_namespace(namespace)
        self.get(ns, entry_id)  # raises EntryNotFoundError naming the namespace
        return self.record_use(ns, [entry_id], team)[entry_id]

    def list(self, namespace: Sequence[str], *, kind: Kind | None = None, limit: int | None = None, offset: int = 0) -> list[Entry]:
        """Entries of the namespace (both kinds unless `kind` is given), oldest first."""
        ns = validate_namespace(namespace)
        validate_count("limit", limit, allow_none=True)
        validate_count("offset", offset)
        kinds = KINDS if kind is None else (self.store_for(kind).kind,)
        entries = self.ledger.list(ns, kinds, now=time.time())
        return entries[offset : None if limit is None else offset + limit]

    def namespaces(self, prefix: Sequence[str] | None = None, *, kind: Kind | None = None) -> list[Namespace]:
        """Namespaces holding entries (of `kind`, or either kind), optionally under `prefix`."""
        pre = validate_namespace(prefix, "prefix") if prefix is not None else ()
        kinds = KINDS if kind is None else (self.store_for(kind).kind,)
        return self.ledger.namespaces(pre, kinds)

    def history(self, namespace: Sequence[str], entry_id: str) -> list[HistoryEvent]:
        """Every event of an entry, oldest first: created (by whom, admission policy and probability), updated,
        read (by which team), Q updated (old -> new, reward), deleted. Kept after the entry is deleted."""
        ns = validate_namespace(namespace)
        if not isinstance(entry_id, str) or not entry_id:
            raise InvalidFieldError("entry_id", f"is {entry_id!r}", "pass the entry's id")
        return self.ledger.history(ns, entry_id)

    # -- utilities -------------------------------------------------------------
    def record_use(self, namespace: Sequence[str], entry_ids: Sequence[str], team: str) -> dict[str, Entry]:
        """Count one use of each entry by `team` (which teams read it, how often); one transaction."""
        ns = validate_namespace(namespace)
        if not isinstance(team, str) or not team:
            raise InvalidFieldError("team", f"is {team!r}", "pass the reading team's id")
        with self.ledger.write():
            found = self._require(ns, entry_ids)
            now = time.time()
            updated = {}
            for i, e in found.items():
                uses = dict(e.uses)
                uses[team] = uses.get(team, 0) + 1
                updated[i] = replace(e, uses=uses, updated_at=now)
                self.ledger.update_fields(ns, e.kind, i, uses=uses, updated_at=now)
            self.ledger.log([HistoryEvent(0, ns, i, e.kind, "read", now, team) for i, e in found.items()])
        return updated

    def update_q(self, namespace: Sequence[str], entry_ids: Sequence[str], reward: float, alpha: float | None = None) -> dict[str, float]:
        """MemRL's Monte-Carlo update Q <- Q + alpha * (r - Q) for every entry used, in one transaction; returns new Qs."""
        ns = validate_namespace(namespace)
        r = validate_number("reward", reward)
        a = self.alpha if alpha is None else validate_number("alpha", alpha, lo=1e-6, hi=1.0)
        with self.ledger.write():
            found = self._require(ns, entry_ids)
            now = time.time()
            new = {}
            events = []
            for i, e in found.items():
                new[i] = e.q + a * (r - e.q)
                self.ledger.update_fields(ns, e.kind, i, q=new[i], visits=e.visits + 1, updated_at=now)
                events.append(HistoryEvent(0, ns, i, e.kind, "q_updated", now, data={"old": e.q, "new": new[i], "reward": r, "alpha": a}))
            self.ledger.log(events)
        return new

    def _require(self, namespace: Namespace, entry_ids: Sequence[str]) -> dict[str, Entry]:
        if isinstance(entry_ids, str):
            raise InvalidFieldError("entry_ids", "is a single string", "pass a list of ids, e.g. [entry.id]")
        ids = list(dict.fromkeys(entry_ids))
        found = self.ledger.get(namespace, ids, now=time.time(), lock=True)
        missing = [i for i in ids if i not in found]
        if missing:
            raise EntryNotFoundError(f"no entries {missing} in namespace {namespace}; nothing was updated")
        return {i: found[i] for i in ids}

    def update(
        self,
        namespace: Sequence[str],
        entry_id: str,
        *,
        value: str | None = None,
        key: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        chunks: Sequence[str] | None = None,
    ) -> Entry:
        """Change an entry in place (Mem0's update): it keeps its id, creation time and history.

        What was learned about it (Q, visits, uses, outcome) is kept when only
        metadata changes and reset when the key or value changes, since it judged
        other content. The key is embedded again only if it (or a chunk) changed.
        """
        ns = validate_namespace(namespace)
        if value is None and key is None and metadata is None and chunks is None:
            raise InvalidFieldError("update", "nothing to change", "pass value=, key=, metadata= or chunks=")
        old = self.get(ns, entry_id)
        new = replace(
            old,
            key=old.key if key is None else key,
            value=old.value if value is None else value,
            metadata=dict(old.metadata if metadata is None else metadata),
            chunks=old.chunks if chunks is None else tuple(chunks),
            updated_at=time.time(),
        )
        if not isinstance(new.value, str):
            raise InvalidFieldError("value", f"expected str, got {type(new.value).__name__}", "serialise the content to text first")
        new.tokens = count_tokens(new.value)
        validate_entry(new, self.limits)
        changed = [f for f in ("key", "value", "metadata", "chunks") if getattr(new, f) != getattr(old, f)]
        content_changed = bool({"key", "value", "chunks"} & set(changed))
        if content_changed:
            new = replace(new, q=0.0, visits=0, uses={}, outcome=None)
        if new.texts != old.texts:
            vectors = self._entry_vectors([new])[0]
        else:
            vectors = self.ledger.vectors(ns, old.kind, ids=[entry_id]).matrix
        self._write([new], [vectors], [{"changed": changed, "q_reset": content_changed, "old_q": old.q}], "updated")
        return new

    def refresh_ttl(self, namespace: Sequence[str], entry_ids: Sequence[str], now: float | None = None) -> None:
        """Restart the TTL clock of these entries (LangGraph's refresh on read); entries without a TTL are untouched."""
        ns = validate_namespace(namespace)
        now = time.time() if now is None else now
        with self.ledger.write():
            for e in self.ledger.get(ns, list(entry_ids), now=now).values():
                if e.ttl is not None:
                    self.ledger.update_fields(ns, e.kind, e.id, refreshed_at=now, expires_at=now + e.ttl)

    # -- deletion ----------------------------------------------------------------
    def delete(self, namespace: Sequence[str], entry_ids: Sequence[str]) -> int:
        """Delete these ids from this namespace only; returns how many existed. Their history is kept."""
        ns = validate_namespace(namespace)
        if isinstance(entry_ids, str):
            raise InvalidFieldError("entry_ids", "is a single string", "pass a list of ids")
        with self._lock:
            n = self.ledger.delete(ns, list(entry_ids))
            self.index.after_write([ns])
        return n

    def delete_namespace(self, namespace: Sequence[str]) -> int:
        """Delete a namespace and every namespace below it, with their history; siblings are untouched."""
        ns = validate_namespace(namespace)
        with self._lock:
            n, drops = self.ledger.delete_namespaces(ns)
            if drops:
                self._apply_global()
        return n

    def _apply_global(self) -> None:
        """Drop collections of deleted namespaces now if this process may open Chroma (else whoever opens it next does)."""
        try:
            self.chroma()
            self.index.apply_pending("")
        except MemoryBankError:
            pass

    def expire(self, now: float | None = None) -> int:
        """Delete every entry whose TTL has passed (reads already hide them); returns the count."""
        now = time.time() if now is None else now
        groups: dict[tuple[Namespace, str], list[str]] = {}
        for ns, kind, entry_id in self.ledger.expired(now):
            groups.setdefault((ns, kind), []).append(entry_id)
        removed = 0
        with self._lock:
            for (ns, kind), ids in groups.items():
                removed += self.ledger.delete(ns, ids, kinds=(kind,), reason="expired", now=now)
            self.index.after_write([ns for ns, _ in groups])
        return removed

    # -- export / import ---------------------------------------------------------
    def iter_entries(self, prefix: Sequence[str] | None = None) -> Iterator[Entry]:
        pre = validate_namespace(prefix, "prefix") if prefix is not None else ()
        for store in self.stores:
            yield from store.iter_entries(self.ledger.namespaces(pre, (store.kind,)))

    def export_jsonl(self, path: str | Path, prefix: Sequence[str] | None = None) -> int:
        """Write entries (all, or those under `prefix`) as JSON lines with their history, atomically; returns the count."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        n = 0
        histories: dict[Namespace, dict[str, list[HistoryEvent]]] = {}
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                for entry in tqdm(self.iter_entries(prefix), desc="export", unit="entry", disable=None):
                    if entry.namespace not in histories:
                        histories = {entry.namespace: self.ledger.histories(entry.namespace)}
                    events = [ev.to_dict() for ev in histories[entry.namespace].get(entry.id, []) if ev.kind == entry.kind]
                    out.write(json.dumps({**entry.to_dict(), "history": events}, ensure_ascii=False) + "\n")
                    n += 1
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return n

    def import_jsonl(self, path: str | Path, *, batch_size: int = 256) -> int:
        """Read entries written by `export_jsonl`. Every line is validated first; one bad line writes nothing."""
        path = Path(path)
        if not path.is_file():
            raise InvalidFieldError("path", f"{path} does not exist", "pass a file written by `teammind memory export`")
        entries: list[Entry] = []
        history: dict[str, list[HistoryEvent]] = {}
        with path.open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                    entry = validate_entry(Entry.from_dict(data), self.limits)
                    history[entry.id] = _carried_history(entry, data.get("history") or [])
                except json.JSONDecodeError as err:
                    raise InvalidFieldError(f"line {lineno}", f"is not JSON ({err.msg})", "fix or remove that line") from err
                except InvalidFieldError as err:
                    raise InvalidFieldError(f"line {lineno}: {err.field}", err.problem, err.fix) from err
                except (TypeError, ValueError, KeyError) as err:
                    raise InvalidFieldError(f"line {lineno}", str(err), "fix the field types on that line") from err
                entries.append(entry)
        self._embed_and_write(entries, chunk=batch_size, progress=True, history=history)
        return len(entries)

    # -- stats -------------------------------------------------------------------
    def stats(self, prefix: Sequence[str] | None = None) -> dict[str, Any]:
        """Counts, tokens, reads and utility summaries, overall and per namespace."""
        per_ns: dict[Namespace, dict[str, Any]] = {}
        for e in self.iter_entries(prefix):
            s = per_ns.setdefault(e.namespace, {"step": 0, "experience": 0, "tokens": 0, "read_entries": 0, "reads": 0, "q_sum": 0.0})
            s[e.kind] += 1
            s["tokens"] += e.tokens
            reads = sum(e.uses.values())
            s["reads"] += reads
            s["read_entries"] += 1 if reads else 0
            s["q_sum"] += e.q
        total = {k: sum(s[k] for s in per_ns.values()) for k in ("step", "experience", "tokens", "read_entries", "reads", "q_sum")}
        n = total["step"] + total["experience"]
        return {
            "location": self.location,
            "ledger": self.ledger.location,
            "namespaces": len(per_ns),
            "entries": n,
            "steps": total["step"],
            "experiences": total["experience"],
            "tokens": total["tokens"],
            "entries_read": total["read_entries"],
            "reads": total["reads"],
            "read_fraction": (total["read_entries"] / n) if n else 0.0,
            "mean_q": (total["q_sum"] / n) if n else 0.0,
            "per_namespace": [
                {"namespace": list(ns), "steps": s["step"], "experiences": s["experience"], "tokens": s["tokens"], "reads": s["reads"]}
                for ns, s in sorted(per_ns.items())
            ],
        }


def _carried_history(entry: Entry, events: Any) -> list[HistoryEvent]:
    """History lines of an exported entry, validated, for the importing bank's log."""
    if not isinstance(events, list):
        raise InvalidFieldError("history", "expected a list of events", "use [] or the list `export` wrote")
    out = []
    for i, ev in enumerate(events):
        if not isinstance(ev, Mapping) or not isinstance(ev.get("event"), str) or not isinstance(ev.get("data", {}), Mapping):
            raise InvalidFieldError(f"history[{i}]", "is not an event object", "keep the objects `export` wrote")
        out.append(HistoryEvent(0, entry.namespace, entry.id, entry.kind, ev["event"], float(ev.get("at") or 0.0), str(ev.get("team", "")),
                                dict(ev.get("data") or {})))  # fmt: skip
    return out

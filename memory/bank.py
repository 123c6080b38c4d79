"""`MemoryBank`: the facade teams, trainers and apps use.

It owns one Chroma client, the two stores, the shared embedder and the
admission policy, and adds what callers need around them: validation before
any write (a bad entry writes nothing), read = use bookkeeping, utility
updates, cascading deletion, TTL expiry, JSONL export/import and stats.

Thread safety: one re-entrant lock serialises every Chroma call and every
read-modify-write of utilities, so concurrent teams never lose an update and a
reader never sees half of a batch. Embedding (the slow part) runs outside it.
Across processes, share a Chroma server (`MemoryBank(host=..., port=...)`) and
keep utility updates in one process (the learner), as `rl/` does.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from teammind.memory.admission import AdmissionDecision, AdmissionFeatures, AdmissionPolicy, AdmitAll
from teammind.memory.client import make_client
from teammind.memory.embeddings import Embedder, get_embedder
from teammind.memory.errors import EntryNotFoundError, InvalidFieldError
from teammind.memory.retrieval import Hit, RetrievalConfig, two_phase_select
from teammind.memory.schema import (
    KINDS,
    Entry,
    EntryLimits,
    Kind,
    Namespace,
    Origin,
    validate_entry,
    validate_namespace,
    validate_number,
)
from teammind.memory.stores import ChromaStore, EpisodicStore, ExperienceStore, is_prefix

DEFAULT_ALPHA = 0.3  # MemRL's Q learning rate
# Phase A asks Chroma for this many times k1 candidates so that exact ties at the k1 boundary are broken by
# entry id, not by Chroma's internal order (ours: a tie at the boundary changed one stream's choices run to run).
TIE_SLACK = 2


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


@dataclass(frozen=True)
class Proposal:
    """Outcome of `propose`: the decision (with log-prob and features) and the entry if admitted."""

    decision: AdmissionDecision
    entry: Entry

    @property
    def admitted(self) -> bool:
        return self.decision.admit


class MemoryBank:
    """The global memory bank over Chroma.

    Open it on a folder (`MemoryBank("./bank")`), a Chroma server
    (`MemoryBank(host="127.0.0.1", port=8000)`) or in memory
    (`MemoryBank.ephemeral()`). With no arguments it uses `default_bank_path()`.
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
    ) -> None:
        if ephemeral:
            if path is not None or host is not None:
                raise InvalidFieldError("ephemeral", "given with path or host", "choose one: a folder, a server, or ephemeral")
            self.location = "memory"
            self.client = make_client(None)
        elif host is not None or port is not None:
            self.location = f"http://{host}:{port or 8000}"
            self.client = make_client(path, host=host, port=port)
        else:
            folder = Path(path) if path is not None else default_bank_path()
            self.location = str(folder)
            self.client = make_client(folder)
        self.embedder = embedder or get_embedder()
        self.admission: AdmissionPolicy = admission or AdmitAll()
        self.retrieval = retrieval
        self.limits = limits
        self.alpha = validate_number("alpha", alpha, lo=1e-6, hi=1.0)
        self.episodic = EpisodicStore(self.client)
        self.experiences = ExperienceStore(self.client)
        self._lock = threading.RLock()

    @classmethod
    def ephemeral(cls, **kwargs: Any) -> "MemoryBank":
        """An in-memory bank (tests, throwaway runs); nothing reaches disk."""
        return cls(ephemeral=True, **kwargs)

    def __enter__(self) -> "MemoryBank":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release cached collection handles (Chroma persists every write as it happens)."""
        for store in self.stores:
            store._collections.clear()

    @property
    def stores(self) -> tuple[ChromaStore, ChromaStore]:
        return (self.episodic, self.experiences)

    def store_for(self, kind: Kind) -> ChromaStore:
        if kind not in KINDS:
            raise InvalidFieldError("kind", f"is {kind!r}", f"use one of {KINDS}")
        return self.episodic if kind == "step" else self.experiences

    # -- embedding -------------------------------------------------------------
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embedder.encode(texts)

    # -- writes ------------------------------------------------------------------
    def add(self, entries: Entry | Sequence[Entry]) -> list[str]:
        """Validate every entry, embed the keys, then write them all (or nothing if one is bad)."""
        batch = [entries] if isinstance(entries, Entry) else list(entries)
        for i, entry in enumerate(batch):
            try:
                validate_entry(entry, self.limits)
            except InvalidFieldError as err:
                if len(batch) == 1:
                    raise
                raise InvalidFieldError(f"entries[{i}].{err.field}", err.problem, err.fix) from err
        self._embed_and_write(batch)
        return [e.id for e in batch]

    def _embed_and_write(self, batch: Sequence[Entry], chunk: int = 128, progress: bool = False) -> None:
        """Embed and write in chunks, embedding chunk i+1 while chunk i is written.

        Embedding is ~70% of a write and Chroma ~30%; overlapping them lifts
        bulk throughput ~10% on 2 cores (bench/memory_ops.py).
        """
        chunks = [batch[i : i + chunk] for i in range(0, len(batch), chunk)]
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bank-writer") as writer:
            pending: Future[None] | None = None
            for part in tqdm(chunks, desc="write", unit="batch", disable=None if progress else True):
                vectors = self.embed([e.key for e in part])
                if pending is not None:
                    pending.result()
                pending = writer.submit(self._write, part, vectors)
            if pending is not None:
                pending.result()

    def _write(self, batch: Sequence[Entry], vectors: np.ndarray) -> None:
        with self._lock:
            for kind in KINDS:
                idx = [i for i, e in enumerate(batch) if e.kind == kind]
                if idx:
                    self.store_for(kind).upsert([batch[i] for i in idx], vectors[idx])

    def add_step(
        self, namespace: Sequence[str], key: str, value: str, *, origin: Origin | None = None, ttl: float | None = None, id: str | None = None
    ) -> Entry:
        """Write a step directly, bypassing admission (imports, tools, tests)."""
        entry = Entry.new(namespace, key, value, kind="step", origin=origin, ttl=ttl, id=id)
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
    ) -> Entry:
        """Write a MemRL experience: `intent` (the task, embedded) -> `experience` text, Q_init = `q`."""
        entry = Entry.new(namespace, intent, experience, kind="experience", origin=origin, q=q, outcome=outcome, ttl=ttl)
        self.add(entry)
        return entry

    def features_for(self, candidate: StepCandidate) -> AdmissionFeatures:
        """Admission features of a candidate: embeddings, novelty against the namespace, progress."""
        task_vec = self.embedder.encode([candidate.task])[0]  # the embedder caches repeated single texts
        key_vec = self.embedder.encode([candidate.key])[0]
        return self.features_from_vectors(candidate, task_vec, key_vec)

    def features_from_vectors(self, candidate: StepCandidate, task_vec: np.ndarray, key_vec: np.ndarray) -> AdmissionFeatures:
        with self._lock:
            max_sim = self.episodic.max_similarity(candidate.namespace, key_vec, exclude_id=candidate.id)
        return AdmissionFeatures(
            task_embedding=task_vec,
            key_embedding=key_vec,
            max_similarity=max_sim,
            task_key_similarity=float(np.dot(task_vec, key_vec)),
            tool=candidate.tool,
            value_tokens=0,  # filled by propose from the validated entry
            error=candidate.error,
            step_index=candidate.step_index,
            max_steps=candidate.max_steps,
            n_teams=candidate.n_teams,
        )

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
        entry = Entry.new(
            candidate.namespace, candidate.key, candidate.value, kind="step", origin=candidate.origin, ttl=candidate.ttl, id=candidate.id
        )
        validate_entry(entry, self.limits)
        for name in ("step_index", "max_steps", "n_teams"):
            v = getattr(candidate, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InvalidFieldError(name, f"is {v!r}", "pass a non-negative integer")
        if candidate.id is not None:
            previous = self._locate(entry.namespace, [candidate.id]).get(candidate.id)
            if previous is not None:
                entry.created_at = previous.created_at  # an overwrite keeps its creation time
        features = replace(self.features_for(candidate), value_tokens=entry.tokens)
        decision = (policy or self.admission).decide(features, sample=sample, rng=rng)
        return Proposal(decision=decision, entry=entry)

    def commit(self, proposals: Sequence[Proposal]) -> list[str]:
        """Write the admitted entries of evaluated proposals (in the given order); returns their ids."""
        admitted = [p for p in proposals if p.admitted]
        if admitted:
            vectors = np.stack([p.decision.features.key_embedding for p in admitted])
            self._write([p.entry for p in admitted], vectors)
        return [p.entry.id for p in admitted]

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
    def search(
        self,
        namespace: Sequence[str],
        query: str,
        *,
        kind: Kind = "step",
        config: RetrievalConfig | None = None,
        include_descendants: bool = False,
        rng: random.Random | None = None,
    ) -> list[Hit]:
        """Two-phase retrieval in `namespace` (and, if asked, the namespaces below it)."""
        ns = validate_namespace(namespace)
        if not isinstance(query, str) or not query.strip():
            raise InvalidFieldError("query", f"is empty ({query!r})", "pass the text to search for")
        vec = self.embedder.encode([query])[0]
        return self.search_by_vector(ns, vec, kind=kind, config=config, include_descendants=include_descendants, rng=rng)

    def search_by_vector(
        self,
        namespace: Namespace,
        vector: np.ndarray,
        *,
        kind: Kind = "step",
        config: RetrievalConfig | None = None,
        include_descendants: bool = False,
        rng: random.Random | None = None,
        utility: Callable[[np.ndarray, list[tuple[Entry, float]]], np.ndarray] | None = None,
    ) -> list[Hit]:
        """Two-phase retrieval from a query vector.

        `utility(vector, candidates)` replaces each candidate's stored Q in
        Phase B (for a Q-network that predicts utility of entries never used);
        the returned hits then carry the Q that ranked them.
        """
        config = config or self.retrieval
        store = self.store_for(kind)
        targets = [namespace]
        if include_descendants:
            targets = [n for n in store.namespaces() if is_prefix(namespace, n)]
        # identical keys tie exactly: order them by id (deterministic: run, team, step), then cut to k1
        with self._lock:
            candidates = [c for ns in targets for c in store.query(ns, vector, TIE_SLACK * config.k1)]
        candidates.sort(key=lambda c: (-round(c[1], 6), c[0].id))
        candidates = candidates[: config.k1]
        if utility is not None and candidates:
            qs = np.asarray(utility(vector, candidates), dtype=np.float64)
            if qs.shape != (len(candidates),) or not np.all(np.isfinite(qs)):
                raise InvalidFieldError("utility", f"returned shape {qs.shape} or non-finite values", "return one finite Q per candidate")
            candidates = [(replace(e, q=float(q)), s) for (e, s), q in zip(candidates, qs)]
        return two_phase_select(candidates, config, rng)

    def get(self, namespace: Sequence[str], entry_id: str) -> Entry:
        """The live entry with this id in this namespace (no use recorded)."""
        ns = validate_namespace(namespace)
        found = self._locate(ns, [entry_id])
        if entry_id not in found:
            raise EntryNotFoundError(f"no entry {entry_id!r} in namespace {ns}")
        return found[entry_id]

    def _locate(self, namespace: Namespace, ids: Sequence[str]) -> dict[str, Entry]:
        with self._lock:
            found = {e.id: e for e in self.episodic.get(namespace, ids)}
            rest = [i for i in ids if i not in found]
            if rest:
                found.update({e.id: e for e in self.experiences.get(namespace, rest)})
        return found

    def read(self, namespace: Sequence[str], entry_id: str, team: str) -> Entry:
        """Dereference an entry for `team`: returns it and records the use (a read is a use)."""
        ns = validate_namespace(namespace)
        with self._lock:
            self.get(ns, entry_id)  # raises EntryNotFoundError naming the namespace
            return self.record_use(ns, [entry_id], team)[entry_id]

    def list(self, namespace: Sequence[str], *, kind: Kind | None = None, limit: int | None = None, offset: int = 0) -> list[Entry]:
        """Entries of the namespace (both kinds unless `kind` is given), oldest first."""
        ns = validate_namespace(namespace)
        kinds = KINDS if kind is None else (kind,)
        with self._lock:
            entries = [e for k in kinds for e in self.store_for(k).list(ns)]
        entries.sort(key=lambda e: (e.created_at, e.id))
        return entries[offset : None if limit is None else offset + limit]

    def namespaces(self, prefix: Sequence[str] | None = None, *, kind: Kind | None = None) -> list[Namespace]:
        """Namespaces holding live entries (of `kind`, or either kind), optionally under `prefix`."""
        pre = validate_namespace(prefix, "prefix") if prefix is not None else ()
        stores = self.stores if kind is None else (self.store_for(kind),)
        with self._lock:
            found = {n for store in stores for n in store.namespaces() if is_prefix(pre, n) and store.count(n) > 0}
        return sorted(found)

    # -- utilities -------------------------------------------------------------
    def record_use(self, namespace: Sequence[str], entry_ids: Sequence[str], team: str) -> dict[str, Entry]:
        """Count one use of each entry by `team` (which teams read it, how often)."""
        ns = validate_namespace(namespace)
        if not isinstance(team, str) or not team:
            raise InvalidFieldError("team", f"is {team!r}", "pass the reading team's id")
        with self._lock:
            found = self._require(ns, entry_ids)
            now = time.time()
            updated = {}
            for i, e in found.items():
                uses = dict(e.uses)
                uses[team] = uses.get(team, 0) + 1
                updated[i] = replace(e, uses=uses, updated_at=now)
            self._save_metadata(ns, updated)
        return updated

    def update_q(self, namespace: Sequence[str], entry_ids: Sequence[str], reward: float, alpha: float | None = None) -> dict[str, float]:
        """MemRL's Monte-Carlo update Q <- Q + alpha * (r - Q) for every entry used; returns new Qs."""
        ns = validate_namespace(namespace)
        r = validate_number("reward", reward)
        a = self.alpha if alpha is None else validate_number("alpha", alpha, lo=1e-6, hi=1.0)
        with self._lock:
            found = self._require(ns, entry_ids)
            now = time.time()
            updated = {i: replace(e, q=e.q + a * (r - e.q), visits=e.visits + 1, updated_at=now) for i, e in found.items()}
            self._save_metadata(ns, updated)
        return {i: e.q for i, e in updated.items()}

    def _require(self, namespace: Namespace, entry_ids: Sequence[str]) -> dict[str, Entry]:
        if isinstance(entry_ids, str):
            raise InvalidFieldError("entry_ids", "is a single string", "pass a list of ids, e.g. [entry.id]")
        ids = list(dict.fromkeys(entry_ids))
        found = self._locate(namespace, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise EntryNotFoundError(f"no entries {missing} in namespace {namespace}; nothing was updated")
        return found

    def _save_metadata(self, namespace: Namespace, entries: dict[str, Entry]) -> None:
        """Rewrite the metadata of changed entries (vectors are untouched), one Chroma call per store."""
        for kind in KINDS:
            part = {i: e.to_metadata() for i, e in entries.items() if e.kind == kind}
            if part:
                self.store_for(kind).update_metadata(namespace, part)

    # -- deletion ----------------------------------------------------------------
    def delete(self, namespace: Sequence[str], entry_ids: Sequence[str]) -> int:
        """Delete these ids from this namespace only; returns how many existed."""
        ns = validate_namespace(namespace)
        if isinstance(entry_ids, str):
            raise InvalidFieldError("entry_ids", "is a single string", "pass a list of ids")
        with self._lock:
            return sum(store.delete(ns, list(entry_ids)) for store in self.stores)

    def delete_namespace(self, namespace: Sequence[str]) -> int:
        """Delete a namespace and every namespace below it, in every store; siblings are untouched."""
        ns = validate_namespace(namespace)
        with self._lock:
            return sum(store.drop_namespace(n) for store in self.stores for n in store.namespaces() if is_prefix(ns, n))

    def expire(self, now: float | None = None) -> int:
        """Delete every entry whose TTL has passed (reads already hide them); returns the count."""
        now = time.time() if now is None else now
        removed = 0
        with self._lock:
            for store in self.stores:
                for ns in store.namespaces():
                    ids = store.expired_ids(ns, now)
                    removed += store.delete(ns, ids)
        return removed

    # -- export / import ---------------------------------------------------------
    def iter_entries(self, prefix: Sequence[str] | None = None) -> Iterator[Entry]:
        for store in self.stores:
            pre = validate_namespace(prefix, "prefix") if prefix is not None else ()
            with self._lock:
                targets = [n for n in store.namespaces() if is_prefix(pre, n)]
            yield from store.iter_entries(targets)

    def export_jsonl(self, path: str | Path, prefix: Sequence[str] | None = None) -> int:
        """Write entries (all, or those under `prefix`) as JSON lines, atomically; returns the count."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        n = 0
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                for entry in tqdm(self.iter_entries(prefix), desc="export", unit="entry", disable=None):
                    out.write(json.dumps(entry.to_dict(), ensure_ascii=False) + "\n")
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
        with path.open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    entry = validate_entry(Entry.from_dict(json.loads(line)), self.limits)
                except json.JSONDecodeError as err:
                    raise InvalidFieldError(f"line {lineno}", f"is not JSON ({err.msg})", "fix or remove that line") from err
                except InvalidFieldError as err:
                    raise InvalidFieldError(f"line {lineno}: {err.field}", err.problem, err.fix) from err
                except (TypeError, ValueError) as err:
                    raise InvalidFieldError(f"line {lineno}", str(err), "fix the field types on that line") from err
                entries.append(entry)
        self._embed_and_write(entries, chunk=batch_size, progress=True)
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



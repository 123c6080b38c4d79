"""Per-kind views of the bank: the episodic store (steps) and the experience store (MemRL triplets).

Both kinds live in one ledger and one vector index (`teammind.memory.ledger`,
`teammind.memory.vectors`); a store is the bank seen through one kind, so
code that works with steps or experiences only asks one of these. Namespaces
are enforced on every call: each method takes the namespace it acts in and
can reach nothing outside it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from teammind.memory.schema import Entry, Kind, Namespace, validate_namespace

if TYPE_CHECKING:
    from teammind.memory.bank import MemoryBank


def is_prefix(prefix: Namespace, namespace: Namespace) -> bool:
    return namespace[: len(prefix)] == prefix


class KindStore:
    """Entries of one kind: reads, counts and nearest-neighbour queries inside one namespace."""

    kind: ClassVar[Kind]

    def __init__(self, bank: "MemoryBank") -> None:
        self.bank = bank

    def namespaces(self) -> list[Namespace]:
        """Every namespace holding an entry of this kind."""
        return self.bank.ledger.namespaces((), (self.kind,))

    def get(self, namespace: Namespace, ids: Sequence[str]) -> list[Entry]:
        """Live entries with these ids, in the order they were first written (missing or expired ids are skipped)."""
        ns = validate_namespace(namespace)
        return list(self.bank.ledger.get(ns, list(ids), kinds=(self.kind,), now=time.time()).values())

    def list(self, namespace: Namespace, *, limit: int | None = None, offset: int = 0) -> list[Entry]:
        entries = self.bank.ledger.list(validate_namespace(namespace), (self.kind,), now=time.time())
        return entries[offset : None if limit is None else offset + limit]

    def count(self, namespace: Namespace) -> int:
        """Entries stored in the namespace (expired ones count until `expire` removes them)."""
        return self.bank.ledger.count(validate_namespace(namespace), self.kind)

    def query(self, namespace: Namespace, embedding: np.ndarray, n: int) -> list[tuple[Entry, float]]:
        """Nearest `n` live entries with their cosine similarity, best first."""
        return self.bank.nearest(validate_namespace(namespace), self.kind, np.asarray(embedding)[None, :], n)[0]

    def max_similarity(self, namespace: Namespace, embedding: np.ndarray, *, exclude_id: str | None = None) -> float:
        """Cosine similarity of `embedding` to the closest key in the namespace (0.0 when empty), leaving out `exclude_id`."""
        hits = self.query(namespace, embedding, 1 if exclude_id is None else 2)
        return max((sim for e, sim in hits if e.id != exclude_id), default=0.0)

    def iter_entries(self, namespaces: Iterable[Namespace]) -> Iterable[Entry]:
        now = time.time()
        for ns in namespaces:
            yield from (e for e in self.bank.ledger.iter_namespace_entries(ns, self.kind) if not e.expired(now))


class EpisodicStore(KindStore):
    """Agent steps proposed by teams and admitted by the admission controller (LTS entries)."""

    kind = "step"


class ExperienceStore(KindStore):
    """MemRL triplets: key = task intent (embedded), value = experience text, q = utility."""

    kind = "experience"

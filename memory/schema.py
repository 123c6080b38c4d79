"""The entry schema: what one memory item is, and how it is validated.

One `Entry` type serves both stores. A *step* entry is one agent step that a
team proposed to the shared bank (Learning to Share: key = short summary,
value = raw step output). An *experience* entry is a MemRL triplet: the key is
the task intent that gets embedded, the value is the experience text (a plan
plus trajectory on success, a reflection on failure), and `q` its utility.

Validation is strict and happens before anything is written: a bad field raises
`InvalidFieldError` naming the field and the fix.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from teammind.memory.errors import InvalidFieldError
from teammind.memory.tokens import count_tokens

Kind = Literal["step", "experience"]
KINDS: tuple[str, ...] = ("step", "experience")
Namespace = tuple[str, ...]


@dataclass(frozen=True)
class EntryLimits:
    """Size limits enforced on every write; configurable per bank.

    max_key_words: LTS keys are 15-20-word summaries; 40 leaves room and still
        keeps keys short enough that teams can scan many of them.
    max_value_tokens: a guard against runaway tool output flooding the bank
        and every prompt that quotes it.
    """

    max_key_words: int = 40
    max_value_tokens: int = 8192


@dataclass(frozen=True)
class Origin:
    """Where an entry came from: which team and agent, at which step of which episode."""

    team: str = ""
    agent: str = ""
    step: int = -1
    episode: str = ""


@dataclass
class Entry:
    """One memory item. Construct with `Entry.new(...)`, which fills ids, times and tokens."""

    id: str
    namespace: Namespace
    kind: Kind
    key: str
    value: str
    origin: Origin = field(default_factory=Origin)
    created_at: float = 0.0
    updated_at: float = 0.0
    tokens: int = 0
    q: float = 0.0
    visits: int = 0
    uses: dict[str, int] = field(default_factory=dict)
    outcome: float | None = None
    ttl: float | None = None

    @classmethod
    def new(
        cls,
        namespace: Sequence[str],
        key: str,
        value: str,
        *,
        kind: Kind = "step",
        origin: Origin | None = None,
        id: str | None = None,
        q: float = 0.0,
        outcome: float | None = None,
        ttl: float | None = None,
    ) -> "Entry":
        """A fresh entry with a new id, the current time and its token count."""
        now = time.time()
        ns = validate_namespace(namespace)
        if not isinstance(value, str):
            raise InvalidFieldError("value", f"expected str, got {type(value).__name__}", "serialise the content to text first")
        return cls(
            id=id if id is not None else uuid.uuid4().hex,
            namespace=ns,
            kind=kind,
            key=key,
            value=value,
            origin=origin or Origin(),
            created_at=now,
            updated_at=now,
            tokens=count_tokens(value),
            q=q,
            outcome=outcome,
            ttl=ttl,
        )

    @property
    def expires_at(self) -> float | None:
        return None if self.ttl is None else self.created_at + self.ttl

    def expired(self, now: float | None = None) -> bool:
        exp = self.expires_at
        return exp is not None and (now if now is not None else time.time()) >= exp

    def with_updates(self, **changes: Any) -> "Entry":
        return replace(self, **changes)

    # -- serialisation -------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (used by export and the CLI)."""
        data = asdict(self)
        data["namespace"] = list(self.namespace)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Entry":
        """Inverse of `to_dict`; validates types so a bad import line fails loudly."""
        if not isinstance(data, Mapping):
            raise InvalidFieldError("entry", f"expected a JSON object, got {type(data).__name__}", "write one object per line")
        missing = [f for f in ("id", "namespace", "kind", "key", "value") if f not in data]
        if missing:
            raise InvalidFieldError(missing[0], "missing", f"every entry needs {', '.join(missing)}")
        origin = data.get("origin") or {}
        if not isinstance(origin, Mapping):
            raise InvalidFieldError("origin", "expected an object", "use {team, agent, step, episode}")
        uses = data.get("uses") or {}
        if not isinstance(uses, Mapping):
            raise InvalidFieldError("uses", "expected an object of team -> count", "use {} when unused")
        entry = cls(
            id=data["id"],
            namespace=validate_namespace(data["namespace"]),
            kind=data["kind"],
            key=data["key"],
            value=data["value"],
            origin=Origin(
                team=str(origin.get("team", "")),
                agent=str(origin.get("agent", "")),
                step=int(origin.get("step", -1)),
                episode=str(origin.get("episode", "")),
            ),
            created_at=float(data.get("created_at") or time.time()),
            updated_at=float(data.get("updated_at") or data.get("created_at") or time.time()),
            tokens=int(data.get("tokens") or 0),
            q=float(data.get("q", 0.0)),
            visits=int(data.get("visits", 0)),
            uses={str(k): int(v) for k, v in uses.items()},
            outcome=None if data.get("outcome") is None else float(data["outcome"]),
            ttl=None if data.get("ttl") is None else float(data["ttl"]),
        )
        if not isinstance(entry.value, str):
            raise InvalidFieldError("value", f"expected str, got {type(entry.value).__name__}", "serialise the content to text")
        entry.tokens = count_tokens(entry.value)
        return entry

    def to_metadata(self) -> dict[str, Any]:
        """Chroma metadata: the fields Chroma filters on, plus one JSON blob with the rest.

        Only `kind`, `q` and `expires_at` are queried by Chroma; everything else
        (value included) travels packed in `data`. Chroma full-text-indexes
        documents and indexes every metadata field, so this lean record writes
        ~20% faster than one field per attribute with the value as a document.
        """
        data = self.to_dict()
        for f in ("id", "namespace", "kind", "q"):
            data.pop(f)
        meta: dict[str, Any] = {"kind": self.kind, "q": float(self.q), "data": json.dumps(data, ensure_ascii=False)}
        if self.expires_at is not None:
            meta["expires_at"] = float(self.expires_at)
        return meta

    @classmethod
    def from_record(cls, id: str, namespace: Namespace, meta: Mapping[str, Any]) -> "Entry":
        """Rebuild an entry from a Chroma record's id and metadata (see `to_metadata`)."""
        data = json.loads(meta["data"])
        origin = data.get("origin") or {}
        return cls(
            id=id,
            namespace=namespace,
            kind=meta["kind"],
            key=data["key"],
            value=data["value"],
            origin=Origin(**origin),
            created_at=float(data["created_at"]),
            updated_at=float(data["updated_at"]),
            tokens=int(data["tokens"]),
            q=float(meta["q"]),
            visits=int(data["visits"]),
            uses=dict(data["uses"]),
            outcome=data.get("outcome"),
            ttl=data.get("ttl"),
        )


# -- validation --------------------------------------------------------------


def validate_namespace(namespace: Any, field_name: str = "namespace") -> Namespace:
    """A namespace is a non-empty tuple (or list) of non-empty strings, e.g. ("tenant", "task-7")."""
    if isinstance(namespace, (str, bytes)) or not isinstance(namespace, Sequence):
        raise InvalidFieldError(
            field_name,
            f"expected a tuple of strings, got {type(namespace).__name__} {namespace!r}",
            'pass a tuple such as ("tenant", "task")',
        )
    ns = tuple(namespace)
    if not ns:
        raise InvalidFieldError(field_name, "is empty", 'give at least one label, e.g. ("tenant",)')
    for i, label in enumerate(ns):
        if not isinstance(label, str):
            raise InvalidFieldError(
                f"{field_name}[{i}]", f"expected str, got {type(label).__name__} {label!r}", "convert every label to a string"
            )
        if not label.strip():
            raise InvalidFieldError(f"{field_name}[{i}]", "is an empty label", "use a non-empty name for every level")
    return ns


def validate_number(name: str, value: Any, *, lo: float | None = None, hi: float | None = None) -> float:
    """A finite real number, optionally within [lo, hi]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidFieldError(name, f"expected a number, got {type(value).__name__} {value!r}", "pass a float")
    v = float(value)
    if not math.isfinite(v):
        raise InvalidFieldError(name, f"is {v}", "pass a finite number (check the reward computation for NaN/inf)")
    if lo is not None and v < lo:
        raise InvalidFieldError(name, f"is {v}, below {lo}", f"pass a value >= {lo}")
    if hi is not None and v > hi:
        raise InvalidFieldError(name, f"is {v}, above {hi}", f"pass a value <= {hi}")
    return v


def validate_entry(entry: Entry, limits: EntryLimits = EntryLimits()) -> Entry:
    """Check every field of `entry`; raise `InvalidFieldError` on the first bad one."""
    if not isinstance(entry.id, str) or not entry.id.strip():
        raise InvalidFieldError("id", f"expected a non-empty string, got {entry.id!r}", "omit id to get a fresh uuid")
    entry.namespace = validate_namespace(entry.namespace)
    if entry.kind not in KINDS:
        raise InvalidFieldError("kind", f"is {entry.kind!r}", f"use one of {KINDS}")
    if not isinstance(entry.key, str) or not entry.key.strip():
        raise InvalidFieldError("key", f"is empty ({entry.key!r})", "give a short summary of the step (<= 40 words)")
    words = len(entry.key.split())
    if words > limits.max_key_words:
        raise InvalidFieldError(
            "key", f"has {words} words, limit is {limits.max_key_words}", "summarise it; put the full text in value"
        )
    if not isinstance(entry.value, str):
        raise InvalidFieldError("value", f"expected str, got {type(entry.value).__name__}", "serialise the content to text")
    if entry.tokens > limits.max_value_tokens:
        raise InvalidFieldError(
            "value",
            f"has {entry.tokens} tokens, limit is {limits.max_value_tokens}",
            "truncate or summarise it, or raise EntryLimits.max_value_tokens",
        )
    validate_number("q", entry.q)
    if entry.outcome is not None:
        validate_number("outcome", entry.outcome)
    if entry.ttl is not None:
        validate_number("ttl", entry.ttl)
        if entry.ttl <= 0:
            raise InvalidFieldError("ttl", f"is {entry.ttl}", "pass a positive number of seconds, or None to keep forever")
    if not isinstance(entry.origin, Origin):
        raise InvalidFieldError("origin", f"expected Origin, got {type(entry.origin).__name__}", "use memory.Origin(...)")
    return entry

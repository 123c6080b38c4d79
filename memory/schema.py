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
    metadata: dict[str, Any] = field(default_factory=dict)
    chunks: tuple[str, ...] = ()
    refreshed_at: float | None = None

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
        metadata: Mapping[str, Any] | None = None,
        chunks: Sequence[str] = (),
    ) -> "Entry":
        """A fresh entry with a new id, the current time and its token count.

        metadata: JSON fields a search can filter on (Mem0's metadata).
        chunks: further texts embedded for this entry besides the key (the
            windows of a long item); a search matches the best of them.
        """
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
            metadata=dict(metadata or {}),
            chunks=tuple(chunks),
        )

    @property
    def expires_at(self) -> float | None:
        """The TTL counts from creation, or from the last refresh (an overwrite or a read that refreshes)."""
        return None if self.ttl is None else (self.refreshed_at or self.created_at) + self.ttl

    @property
    def texts(self) -> tuple[str, ...]:
        """Every text embedded for this entry: the key, then its chunks."""
        return (self.key, *self.chunks)

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
        data["chunks"] = list(self.chunks)
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
        metadata = data.get("metadata") or {}
        if not isinstance(metadata, Mapping):
            raise InvalidFieldError("metadata", "expected an object", "use {} for none")
        chunks = data.get("chunks") or []
        if isinstance(chunks, str) or not isinstance(chunks, Sequence):
            raise InvalidFieldError("chunks", "expected a list of texts", "use [] for none")
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
            metadata=dict(metadata),
            chunks=tuple(chunks),
            refreshed_at=None if data.get("refreshed_at") is None else float(data["refreshed_at"]),
        )
        if not isinstance(entry.value, str):
            raise InvalidFieldError("value", f"expected str, got {type(entry.value).__name__}", "serialise the content to text")
        entry.tokens = count_tokens(entry.value)
        return entry


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


def validate_json(name: str, value: Any) -> str:
    """`value` as strict JSON text: NaN and infinities are not JSON, so they are refused rather than written."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError as err:
        raise InvalidFieldError(name, f"holds a number that is not valid JSON ({err})", "replace NaN/inf with null or a finite number") from err
    except TypeError as err:
        raise InvalidFieldError(name, f"is not JSON-serialisable ({err})", "use only JSON types (str, numbers, lists, dicts)") from err


def validate_count(name: str, value: Any, *, allow_none: bool = False) -> int | None:
    """A non-negative integer (a limit or an offset)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidFieldError(name, f"is {value!r}", "pass a non-negative integer" + (", or None for no limit" if allow_none else ""))
    return value


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
    for i, chunk in enumerate(entry.chunks):
        if not isinstance(chunk, str) or not chunk.strip():
            raise InvalidFieldError(f"chunks[{i}]", f"is {chunk!r}", "give non-empty texts, or no chunks")
        if len(chunk.split()) > limits.max_key_words:
            raise InvalidFieldError(
                f"chunks[{i}]", f"has {len(chunk.split())} words, limit is {limits.max_key_words}", "split it into shorter windows"
            )
    validate_json("metadata", entry.metadata)
    if not isinstance(entry.metadata, dict):
        raise InvalidFieldError("metadata", f"expected a dict, got {type(entry.metadata).__name__}", "pass a dict of JSON values")
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

"""Filters on JSON fields, with the operators of LangGraph's store filter ($eq, $ne, $gt, $gte, $lt, $lte).

A filter is a dict of field -> condition. A condition is a plain value
(equality; dicts match nested fields, lists match element by element) or a
dict of operators, e.g. {"lang": "en", "score": {"$gte": 0.5}}. The same
matching serves `MemoryBank.search(filter=...)` (over an entry's metadata
and bookkeeping, see `entry_fields`) and `BankStore.search(filter=...)` (over
the item's value).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from teammind.memory.errors import InvalidFieldError
from teammind.memory.schema import Entry

OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte")
Filter = Mapping[str, Any]


def validate_filter(filter: Any, name: str = "filter") -> dict[str, Any] | None:
    """A filter dict whose operators are all known; None passes everything."""
    if filter is None:
        return None
    if not isinstance(filter, Mapping):
        raise InvalidFieldError(name, f"expected a dict, got {type(filter).__name__}", 'pass e.g. {"lang": "en", "score": {"$gte": 0.5}}')

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                if not isinstance(k, str):
                    raise InvalidFieldError(path, f"has a non-string key {k!r}", "use field names as keys")
                if k.startswith("$") and k not in OPERATORS:
                    raise InvalidFieldError(f"{path}.{k}", "is not a known operator", f"use one of {', '.join(OPERATORS)}")
                walk(v, f"{path}.{k}")

    walk(filter, name)
    return dict(filter)


def _apply_operator(value: Any, operator: str, operand: Any) -> bool:
    """One operator, as LangGraph's InMemoryStore (and Postgres JSONB) applies it."""
    if operator == "$eq":
        return bool(value == operand)
    if operator == "$ne":
        return bool(value != operand)
    if operator in ("$gt", "$gte", "$lt", "$lte"):
        if value is None or isinstance(value, (dict, list, str)) and not isinstance(operand, str):
            return False
        try:
            a, b = (value, operand) if isinstance(value, str) and isinstance(operand, str) else (float(value), float(operand))
        except (TypeError, ValueError):
            return False
        return {"$gt": a > b, "$gte": a >= b, "$lt": a < b, "$lte": a <= b}[operator]
    raise InvalidFieldError("filter", f"operator {operator} is not known", f"use one of {', '.join(OPERATORS)}")


def compare(item_value: Any, filter_value: Any) -> bool:
    """JSONB-like match of one filter value: operators, nested objects, lists, equality."""
    if isinstance(filter_value, Mapping):
        if any(k.startswith("$") for k in filter_value):
            return all(_apply_operator(item_value, op, v) for op, v in filter_value.items())
        if not isinstance(item_value, Mapping):
            return False
        return all(compare(item_value.get(k), v) for k, v in filter_value.items())
    if isinstance(filter_value, (list, tuple)):
        return (
            isinstance(item_value, (list, tuple))
            and len(item_value) == len(filter_value)
            and all(compare(i, f) for i, f in zip(item_value, filter_value))
        )
    return bool(item_value == filter_value)


def matches(fields: Mapping[str, Any], filter: Filter | None) -> bool:
    return not filter or all(compare(fields.get(k), v) for k, v in filter.items())


def entry_fields(entry: Entry) -> dict[str, Any]:
    """What a bank filter sees: the entry's metadata, with its bookkeeping and origin under reserved names.

    Metadata fields come first and the reserved names (team, agent, step,
    episode, kind, q, visits, reads, outcome, tokens, created_at, updated_at)
    override them, so a filter on "q" always means the learned utility.
    """
    o = entry.origin
    return {
        **entry.metadata,
        "team": o.team, "agent": o.agent, "step": o.step, "episode": o.episode, "kind": entry.kind,
        "q": entry.q, "visits": entry.visits, "reads": sum(entry.uses.values()), "outcome": entry.outcome,
        "tokens": entry.tokens, "created_at": entry.created_at, "updated_at": entry.updated_at,
    }  # fmt: skip

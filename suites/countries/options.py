"""Option values for loaders and team factories: `module:factory:key=value` passes every value as text."""

from __future__ import annotations

from typing import Any


def as_int(field: str, value: Any, lo: int) -> int:
    """An integer >= `lo` from an int or its text; ValueError naming `field` otherwise."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: {value!r} is not an integer; write e.g. {field}={max(lo, 10)}") from None
    if number < lo:
        raise ValueError(f"{field}: {number} is below {lo}")
    return number


def as_seconds(field: str, value: Any) -> float:
    """Seconds >= 0 from a number or its text (a tool's added latency)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: {value!r} is not a number; write e.g. {field}=1 (seconds per tool call)") from None
    if not number >= 0:
        raise ValueError(f"{field}: {number} is below 0; pass seconds per tool call, >= 0")
    return number


def as_bool(field: str, value: Any) -> bool:
    """True or False from a bool or true/false, yes/no, on/off, 1/0."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{field}: {value!r} is not true or false; write e.g. {field}=false")


__all__ = ["as_bool", "as_int", "as_seconds"]

"""The one parser of the ``name=value,...`` options that every suite's spec ends with, and of their values.

Options arrive as text (``module:factory:n=10,latency_s=1``), so suites, task
loaders and team factories turn them into numbers and flags here, with errors
that name the option.
"""

from __future__ import annotations

from typing import Any


def parse_options(text: str, spec: str, *, field: str, example: str) -> dict[str, str]:
    """``"a=1,b=x"`` -> ``{"a": "1", "b": "x"}``; a malformed part or a repeated name raises
    ValueError naming `field` (or the repeated name) and showing `example`."""
    options: dict[str, str] = {}
    if not text.strip():
        return options
    for part in text.split(","):
        name, eq, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not eq or not name or not value:
            raise ValueError(f"{field}: {part.strip()!r} in spec {spec!r} is not name=value; write e.g. {example}")
        if name in options:
            raise ValueError(f"{name}: given twice in spec {spec!r}")
        options[name] = value
    return options


def as_int(field: str, value: Any, lo: int | None = None) -> int:
    """A whole number (>= `lo` when given) from an int or its text; ValueError naming `field` otherwise."""
    bound = f" >= {lo}" if lo is not None else ""
    example = lo if lo is not None else 100
    problem = f"{field}: {value!r} is not an integer; pass a whole number{bound}, e.g. {field}={example}"
    if isinstance(value, bool):
        raise ValueError(problem)
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ValueError(problem) from None
    if not isinstance(value, int):
        raise ValueError(problem)
    if lo is not None and value < lo:
        raise ValueError(f"{field}: {value} must be >= {lo}")
    return value


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

"""The one parser of the ``name=value,...`` options that every suite's spec ends with."""

from __future__ import annotations


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

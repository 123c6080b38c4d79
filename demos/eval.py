"""`teammind eval` (placeholder while being written)."""
from typing import Any


def add_parser(subparsers: Any) -> None:
    pass

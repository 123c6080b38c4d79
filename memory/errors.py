"""Errors raised by the memory bank.

Every validation error names the offending field and says how to fix it, so a
user reading a traceback knows what to change without opening our source.
"""

from __future__ import annotations


class MemoryBankError(Exception):
    """Base class for every error the bank raises on purpose."""


class InvalidFieldError(MemoryBankError, ValueError):
    """A field of an entry or a call argument is invalid; nothing was written."""

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{field}: {problem}. Fix: {fix}")

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        """Rebuild from the three parts (errors cross process boundaries, e.g. from Ray workers)."""
        return (type(self), (self.field, self.problem, self.fix))


class EntryNotFoundError(MemoryBankError, KeyError):
    """No live entry with this id exists in the namespace that was asked."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else "entry not found"


class BankInUseError(MemoryBankError):
    """Another process holds this bank folder's Chroma index; a local folder's index serves one process at a time."""

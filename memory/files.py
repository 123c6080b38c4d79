"""Crash-safe file writes and checked JSON reads shared by every room (bank exports, checkpoints, specs, results)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from teammind.memory.errors import InvalidFieldError


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write a file so that readers see the old or the new content, never a mix (temporary file, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_json(path: str | Path, *, field: str, what: str) -> Any:
    """The JSON in `path`; a missing or malformed file raises `InvalidFieldError` on `field`, asking for `what`."""
    p = Path(path).expanduser()
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidFieldError(field, f"no file at {p}", f"pass {what}") from None
    except ValueError as err:
        raise InvalidFieldError(field, f"{p} is not JSON ({err})", f"pass {what}") from None

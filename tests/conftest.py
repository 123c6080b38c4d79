"""Shared fixtures: real Chroma (ephemeral or in tmp folders) and the real embedder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def bank():
    from teammind.memory import MemoryBank

    b = MemoryBank.ephemeral()
    yield b
    b.close()


@pytest.fixture
def run_py():
    """Run python code or a module in a fresh interpreter (real cross-process behaviour)."""
    import subprocess

    def _run(*args: str, timeout: float = 180, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    return _run

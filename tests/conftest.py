"""Shared fixtures and the two test tiers.

Fast tier (``pytest -m "not integration"``): unit tests on a deterministic hash
embedder (tests/hash_embedder.py) and ephemeral banks; no subprocess, JVM, Ray
or llama.cpp. Integration tier (``-m integration``): the real MiniLM, Chroma
folders and servers, Ray, the JVM suites, the embedded LLM and CLI
subprocesses. A test is integration when its module is listed below, it is
marked ``@pytest.mark.integration``, or it uses the `run_py` fixture.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]

INTEGRATION_MODULES = {
    "test_app_store", "test_bank_persistence", "test_bench_smoke", "test_cli", "test_custom_env", "test_embeddings",
    "test_evaluate", "test_lessons", "test_llm_graph", "test_llm_server", "test_report", "test_rollout", "test_run_cli",
    "test_sciworld_env", "test_scripted_agent", "test_scripted_sciworld", "test_shipped", "test_train", "test_twx_env",
    "test_twx_graph", "test_workers", "test_credit", "test_facade", "test_bank_concurrency",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if getattr(item, "module", None) else ""
        if module in INTEGRATION_MODULES or "run_py" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _fast_tier_embedder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fast-tier tests embed with the hash embedder; integration tests keep the real MiniLM."""
    if request.node.get_closest_marker("integration") is not None:
        return
    from hash_embedder import HashEmbedder

    import teammind.memory.bank as bank_module
    import teammind.memory.embeddings as embeddings_module

    embedder = HashEmbedder()
    monkeypatch.setattr(bank_module, "get_embedder", lambda: embedder)
    monkeypatch.setattr(embeddings_module, "get_embedder", lambda: embedder)


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

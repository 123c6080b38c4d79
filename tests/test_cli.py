"""Smoke tests: every `teammind memory` subcommand and the demo, as subprocesses with tiny sizes."""

import json

import pytest

SEED = """
import sys
from teammind.memory import MemoryBank
bank = MemoryBank(sys.argv[1])
bank.add_step(("acme", "t1"), "opened the drawer and found a brass key", "brass key")
bank.add_step(("acme", "t1"), "walked into the garden", "garden")
bank.add_step(("acme", "t2"), "looked at the chest", "locked")
"""


@pytest.fixture
def seeded(tmp_path, run_py):
    path = str(tmp_path / "bank")
    run_py("-c", SEED, path)
    return path


def _cli(run_py, *args, check=True):
    return run_py("-m", "teammind.cli", *args, check=check)


def test_memory_stats_reports_counts(seeded, run_py):
    stats = json.loads(_cli(run_py, "memory", "stats", "--path", seeded, "--json").stdout)
    assert stats["entries"] == 3 and stats["namespaces"] == 2
    assert "acme/t1" in _cli(run_py, "memory", "stats", "--path", seeded).stdout


def test_memory_search_finds_the_relevant_entry(seeded, run_py):
    rows = json.loads(_cli(run_py, "memory", "search", "--path", seeded, "acme/t1", "where is the key", "--json").stdout)
    assert rows[0]["key"] == "opened the drawer and found a brass key"


def test_memory_export_import_roundtrip(seeded, run_py, tmp_path):
    out = tmp_path / "x.jsonl"
    assert "exported 2" in _cli(run_py, "memory", "export", "--path", seeded, str(out), "--prefix", "acme/t1").stdout
    other = str(tmp_path / "other")
    assert "imported 2" in _cli(run_py, "memory", "import", "--path", other, str(out)).stdout


def test_memory_delete_needs_yes_for_a_namespace(seeded, run_py):
    dry = _cli(run_py, "memory", "delete", "--path", seeded, "acme/t1", check=False)
    assert dry.returncode == 2 and "--yes" in dry.stderr
    assert "deleted 2" in _cli(run_py, "memory", "delete", "--path", seeded, "acme/t1", "--yes").stdout
    stats = json.loads(_cli(run_py, "memory", "stats", "--path", seeded, "--json").stdout)
    assert stats["entries"] == 1


def test_memory_delete_by_id(seeded, run_py):
    rows = json.loads(_cli(run_py, "memory", "search", "--path", seeded, "acme/t2", "chest", "--json").stdout)
    assert "deleted 1 of 1" in _cli(run_py, "memory", "delete", "--path", seeded, "acme/t2", "--id", rows[0]["id"]).stdout


def test_bad_namespace_gives_a_clear_error(seeded, run_py):
    bad = _cli(run_py, "memory", "search", "--path", seeded, "acme//t1", "q", check=False)
    assert bad.returncode == 2 and "namespace" in bad.stderr and "Traceback" not in bad.stderr


def test_memory_bank_demo_runs(run_py, tmp_path):
    out = run_py("-m", "teammind.demos.memory_bank", "--path", str(tmp_path / "demo")).stdout
    assert "Q-reranked" in out and "admitted" in out

"""The bank's ledger on Postgres (for a Chroma server shared by many machines): same behaviour, no lost update.

Starts its own PostgreSQL server in a temp folder on 127.0.0.1 (initdb/pg_ctl from PATH or
/usr/lib/postgresql/*/bin), as the `postgres` user when the tests run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
psycopg = pytest.importorskip("psycopg", reason="the Postgres ledger needs psycopg: pip install 'teammind[postgres]'")

from teammind.memory import MemoryBank, RetrievalConfig  # noqa: E402

NS = ("acme", "task")


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory):
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    root = tmp_path_factory.mktemp("pg")
    data = root / "data"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        as_user = ["runuser", "-u", "postgres", "--"]
        os.chmod(root, 0o777)
        for parent in list(root.parents)[:-1]:
            os.chmod(parent, os.stat(parent).st_mode | 0o111)
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True, timeout=120)  # noqa: E731
    run(initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync")
    run(pg_ctl, "-D", str(data), "-w", "-l", str(root / "log"), "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True, timeout=60)


@pytest.fixture
def pg_bank(postgres_url, tmp_path):
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for table in ("meta", "namespaces", "entries", "vectors", "events", "pending"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
    bank = MemoryBank(tmp_path / "bank", ledger=postgres_url)
    yield bank
    bank.close()


def test_entries_utilities_and_history_live_in_postgres(pg_bank, postgres_url):
    e = pg_bank.add_step(NS, "opened the drawer and found a brass key", "drawer: brass key")
    pg_bank.add_experience(NS, "find the brass key", "plan: open the drawer", q=0.2)
    pg_bank.read(NS, e.id, team="t1")
    assert pg_bank.update_q(NS, [e.id], 1.0, alpha=0.5) == {e.id: 0.5}
    hits = pg_bank.search(NS, "where is the brass key", config=RetrievalConfig(delta=0.0))
    assert hits[0].entry.id == e.id and hits[0].entry.q == 0.5
    assert [ev.event for ev in pg_bank.history(NS, e.id)] == ["created", "read", "q_updated"]
    assert pg_bank.ledger.location == postgres_url
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT q, visits FROM entries WHERE id = %s", (e.id,)).fetchone() == (0.5, 1)


def test_prefix_listing_and_cascading_delete_use_bytewise_paths(pg_bank):
    for ns in [("t1",), ("t1", "a"), ("t10",), ("t1a",), ("T1",)]:
        pg_bank.add_step(ns, f"step in {'/'.join(ns)}", "v")
    assert pg_bank.namespaces(("t1",)) == [("t1",), ("t1", "a")]
    assert pg_bank.delete_namespace(("t1",)) == 2
    assert pg_bank.namespaces() == [("T1",), ("t10",), ("t1a",)]


UPDATER = """
import sys
from teammind.memory import MemoryBank
bank = MemoryBank(sys.argv[1], ledger=sys.argv[2])
for _ in range(25):
    bank.update_q(("acme", "task"), [sys.argv[3]], reward=1.0, alpha=0.1)
"""


def test_processes_updating_through_postgres_lose_no_update(pg_bank, postgres_url, tmp_path):
    e = pg_bank.add_step(NS, "shared step", "v")
    procs = [
        subprocess.Popen([sys.executable, "-c", UPDATER, str(tmp_path / f"bank{i}"), postgres_url, e.id], stderr=subprocess.PIPE, text=True,
                         cwd=Path(__file__).resolve().parents[1])  # fmt: skip
        for i in range(3)
    ]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read()
    got = pg_bank.get(NS, e.id)
    assert got.visits == 75 and abs(got.q - (1 - 0.9**75)) < 1e-9

"""Who uses the embedded LLM server: lease files, the lock they are taken under, and process checks.

Stdlib only, so the watchdog (agents/llm_server_watchdog.py) that imports it
stays a small process; agents/llm_server.py holds the server itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import time
from pathlib import Path

STATE_FILE = "llm-server.json"  # the running server's pid, port and model
LOCK_FILE = "llm-server.lock"
LEASE_DIR = "llm-server-leases"


@contextlib.contextmanager
def state_lock(state_dir: Path):  # type: ignore[no-untyped-def]
    """The lock under which users start, lease, stop, and the watchdog judges, the server of `state_dir`."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / LOCK_FILE, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def live_leases(lease_dir: Path, server_pid: int, *, skip: Path | None = None) -> list[Path]:
    """Leases on the server `server_pid` whose process is alive (stale ones are removed); call under `state_lock`."""
    alive = []
    for path in sorted(lease_dir.glob("*")) if lease_dir.is_dir() else []:
        if path == skip:
            continue
        try:
            data = json.loads(path.read_text())
            pid, served = int(data["pid"]), int(data["server_pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if served != server_pid:
            continue
        if pid_alive(pid):
            alive.append(path)
        else:
            path.unlink(missing_ok=True)
    return alive


def pid_alive(pid: int) -> bool:
    """The process exists and is not a zombie (an orphan's exit is not always reaped at once)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # Linux: a zombie (exited, not yet reaped by its parent) is not alive
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


def terminate_pid(pid: int, timeout_s: float = 10.0) -> None:
    """SIGINT a server this process did not start (uvicorn shuts down cleanly), SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)



"""Stops the embedded LLM server once every process that uses it is gone, even after a kill -9.

Users of the server hold leases (one file per process, agents/llm_server.py);
a user that exits normally gives its lease back and the last one stops the
server. A user killed with SIGKILL cannot, and the server would run on as an
orphan. This watchdog is started next to the server, in its own session so a
kill of the starter's process group spares it. Every `interval_s` it looks at
the leases under the same lock users take them with (so a process that is
about to reuse the server is never missed), and stops the server when no
lease's process is alive. It exits when the server does.

    python -m teammind.agents.llm_server_watchdog --state-dir ~/.teammind --server-pid 1234
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path

from teammind.agents.llm_leases import LEASE_DIR, STATE_FILE, live_leases, pid_alive, state_lock, terminate_pid

DEFAULT_INTERVAL_S = 2.0  # ours: an orphan lives at most ~2 s longer than its last user


def watch(state_dir: Path, server_pid: int, *, interval_s: float = DEFAULT_INTERVAL_S) -> bool:
    """Block until the server exits or has no live user; True if this watchdog stopped it."""
    while True:
        time.sleep(interval_s)
        if not pid_alive(server_pid):
            return False
        with state_lock(state_dir):
            if live_leases(state_dir / LEASE_DIR, server_pid):
                continue
            terminate_pid(server_pid)
            _forget(state_dir / STATE_FILE, server_pid)
            return True


def _forget(state_path: Path, server_pid: int) -> None:
    """Remove the state file if it still names the stopped server (a newer server's is kept)."""
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        if int(json.loads(state_path.read_text())["pid"]) == server_pid:
            state_path.unlink()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m teammind.agents.llm_server_watchdog", description=__doc__.split("\n\n")[0])
    p.add_argument("--state-dir", required=True, type=Path, help="the server's state folder (TEAMMIND_HOME)")
    p.add_argument("--server-pid", required=True, type=int, help="the llama.cpp server process to watch")
    p.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_S, help="seconds between lease checks")
    args = p.parse_args(argv)
    if args.server_pid <= 0 or args.interval <= 0:
        p.error("--server-pid and --interval must be positive")
    watch(args.state_dir, args.server_pid, interval_s=args.interval)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""One factory for Chroma clients, with telemetry off.

* `path="DIR"`  -> `PersistentClient` (the default: a local folder)
* `path=None`   -> `EphemeralClient` (in-memory; tests and throwaway runs).
  Chroma shares one in-memory system per process, so each ephemeral client
  gets its own fresh database: two ephemeral banks never see each other.
* `host`/`port` -> `HttpClient` for a Chroma server shared by many processes,
  started with `chroma run --path DIR --host 127.0.0.1 --port 8000`.

A `PersistentClient` folder's index serves one process at a time: opening it
takes an exclusive lock on the folder (`FolderLock`), and a second process
gets `BankInUseError` naming the fix (a server) instead of a silently stale
index. The bank opens Chroma only for namespaces big enough to need HNSW, so
processes that only read, list or update utilities never take the lock.
"""

from __future__ import annotations

import fcntl
import os
import threading
import uuid
from pathlib import Path

import chromadb
from chromadb.api import ClientAPI
from chromadb.config import Settings

from teammind.memory.errors import BankInUseError, InvalidFieldError

LOCK_NAME = ".chroma.lock"


def chroma_settings() -> Settings:
    return Settings(anonymized_telemetry=False, allow_reset=False)


def make_client(path: str | Path | None = None, *, host: str | None = None, port: int | None = None) -> ClientAPI:
    """Open the Chroma client for a local folder, a server, or memory (no arguments)."""
    if host is not None or port is not None:
        if path is not None:
            raise InvalidFieldError("path", "given together with host/port", "pass either a folder or a server address")
        if not host:
            raise InvalidFieldError("host", "missing", "pass host='127.0.0.1' (or the server's name) with port")
        return chromadb.HttpClient(host=host, port=int(port or 8000), settings=chroma_settings())
    if path is None:
        database = f"ephemeral_{uuid.uuid4().hex}"
        chromadb.AdminClient(chroma_settings()).create_database(database)
        return chromadb.EphemeralClient(settings=chroma_settings(), database=database)
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise InvalidFieldError("path", f"{folder} exists and is not a folder", "point path at a directory for the bank")
    folder.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(folder), settings=chroma_settings())


class FolderLock:
    """An exclusive, process-wide lock on a bank folder's Chroma index (flock: released at exit, even on kill -9).

    Banks of one process share the lock (Chroma shares one system per folder
    in a process); the last to release it lets another process in.
    """

    _held: dict[tuple[int, str], tuple[int, int]] = {}  # (pid, real folder) -> (fd, holders); a forked child starts afresh
    _guard = threading.Lock()

    def __init__(self, folder: str | Path) -> None:
        self.folder = os.path.realpath(Path(folder).expanduser())
        self.held = False

    def acquire(self, *, wait: bool = False) -> None:
        with FolderLock._guard:
            if self.held:
                return
            key = (os.getpid(), self.folder)
            fd, holders = FolderLock._held.get(key, (-1, 0))
            if fd < 0:
                Path(self.folder).mkdir(parents=True, exist_ok=True)
                fd = os.open(os.path.join(self.folder, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
                except BlockingIOError:
                    other = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                    os.close(fd)
                    raise BankInUseError(
                        f"bank folder {self.folder}: its Chroma index is open in another process (pid {other}). "
                        f"Fix: share one bank across processes through a server: `chroma run --path {self.folder} --port 8000`, "
                        "then MemoryBank(host='127.0.0.1', port=8000) in every process (or close the other process)"
                    ) from None
                os.ftruncate(fd, 0)
                os.pwrite(fd, str(os.getpid()).encode(), 0)
            FolderLock._held[key] = (fd, holders + 1)
            self.held = True

    def release(self) -> None:
        with FolderLock._guard:
            if not self.held:
                return
            self.held = False
            key = (os.getpid(), self.folder)
            if key not in FolderLock._held:
                return
            fd, holders = FolderLock._held[key]
            if holders > 1:
                FolderLock._held[key] = (fd, holders - 1)
                return
            del FolderLock._held[key]
            os.close(fd)  # closing the descriptor drops the flock


REGISTRY_COLLECTION = "teammind-ledger"


def registered_ledger(client: ClientAPI, given: str | Path | None) -> str:
    """The ledger every process of a Chroma server shares, recorded in the server itself.

    The first bank to open a server records its ledger (the one given, else a
    SQLite file under $TEAMMIND_HOME/ledgers on this machine); later banks use
    the record, so Ray workers that only know host and port find the same
    utilities and history. A SQLite ledger on another machine, or a second
    ledger for one server, is refused with the fix rather than split silently.
    """
    import socket

    from chromadb.errors import NotFoundError

    from teammind.memory.ledger import redact

    here = socket.gethostname()
    try:
        meta = dict(client.get_collection(REGISTRY_COLLECTION, embedding_function=None).metadata or {})
    except (NotFoundError, ValueError):
        meta = {}
    if not meta:
        if given is not None:
            location = redact(str(given))  # passwords stay out of the record: workers read them from PGPASSWORD / ~/.pgpass
        else:
            home = Path(os.environ.get("TEAMMIND_HOME") or Path.home() / ".teammind")
            (home / "ledgers").mkdir(parents=True, exist_ok=True)
            location = f"sqlite:{home / 'ledgers' / (uuid.uuid4().hex + '.sqlite3')}"
        try:
            client.create_collection(REGISTRY_COLLECTION, embedding_function=None, metadata={"ledger": location, "host": here})
            return str(given) if given is not None else location
        except Exception:  # another process registered first: use its record
            meta = dict(client.get_collection(REGISTRY_COLLECTION, embedding_function=None).metadata or {})
    location = str(meta["ledger"])
    if given is not None and redact(str(given)) != location:
        raise InvalidFieldError(
            "ledger", f"is {given}, but this Chroma server's ledger is {location}",
            "open every bank of this server with the same ledger (or omit ledger= to use the recorded one)",
        )  # fmt: skip
    if location.startswith("sqlite:") and meta.get("host") != here:
        raise InvalidFieldError(
            "ledger", f"this server's ledger is a SQLite file on {meta.get('host')}, not on this machine ({here})",
            "start the server's banks with a Postgres ledger: MemoryBank(host=..., ledger='postgresql://user@db/teammind')",
        )  # fmt: skip
    return str(given) if given is not None else location

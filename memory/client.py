"""One factory for Chroma clients, with telemetry off.

* `path="DIR"`  -> `PersistentClient` (the default: a local folder)
* `path=None`   -> `EphemeralClient` (in-memory; tests and throwaway runs).
  Chroma shares one in-memory system per process, so each ephemeral client
  gets its own fresh database: two ephemeral banks never see each other.
* `host`/`port` -> `HttpClient` for a Chroma server shared by many processes,
  started with `chroma run --path DIR --host 127.0.0.1 --port 8000`.

A `PersistentClient` folder must be opened by one process at a time; Ray
workers and other multi-process users point at a server instead.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import chromadb
from chromadb.api import ClientAPI
from chromadb.config import Settings

from teammind.memory.errors import InvalidFieldError


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

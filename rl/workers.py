"""Rollout execution: in this process, or on Ray rollout-worker actors.

`RolloutPool.run(specs, ...)` returns one `RolloutResult` per spec, in spec
order, whatever the number of workers: a spec decides its episode completely
(rl/rollout.py) and the experience store is only read during a batch, so
results do not depend on which worker ran what, or when.

    pool = RolloutPool(workers=0, experience=ExperienceStore.local(path))   # in-process
    results = pool.run(specs, weights=state_dict_numpy(policy.net), version=3)

    with ChromaServer(job_dir / "experience") as server, \\
         RolloutPool(workers=4, experience=server.store()) as pool:      # Ray actors
        results = pool.run(specs, weights=..., version=3)

A local Chroma folder can be opened by one process only, so Ray workers
(W > 0) read the experience store through a Chroma server: `ChromaServer`
starts one on a folder (data persists there, so a resumed job reopens it)
and stops it on exit. Ray itself starts locally unless `ray_address` names a
cluster; the package must be importable on the workers (`pip install -e .`
here; the same install, or a `runtime_env`, on a cluster).
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Self

from teammind.memory import InvalidFieldError, MemoryBank
from teammind.rl.rollout import RolloutContext, RolloutResult, RolloutSpec, StateDict


@dataclass(frozen=True)
class ExperienceStore:
    """Where the experience store lives: a local folder (one process) or a Chroma server (many)."""

    path: str | None = None
    host: str | None = None
    port: int | None = None

    @classmethod
    def local(cls, path: str | Path) -> ExperienceStore:
        return cls(path=str(path))

    @classmethod
    def server(cls, host: str, port: int) -> ExperienceStore:
        return cls(host=host, port=port)

    @property
    def shared(self) -> bool:
        """Whether many processes can open it at once (a server; a local folder cannot)."""
        return self.host is not None

    def open(self) -> MemoryBank:
        if self.host is not None:
            return MemoryBank(host=self.host, port=self.port)
        if self.path is None:
            raise InvalidFieldError("experience", "has neither a path nor a host", "use ExperienceStore.local(path) or .server(host, port)")
        return MemoryBank(self.path)


Progress = Callable[[RolloutResult], None]

# --------------------------------------------------------------------------------------------
# Chroma server
# --------------------------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS says is free now (another process could still take it before the server binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def chroma_command() -> list[str]:
    """The `chroma` CLI of this interpreter's environment (next to sys.executable), else via `python -c`.

    chromadb's CLI module has no `__main__`, so the fallback calls its `app()` directly.
    """
    exe = Path(sys.executable).parent / ("chroma.exe" if os.name == "nt" else "chroma")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("chroma")
    if found and Path(found).resolve().parent == Path(sys.executable).resolve().parent:
        return [found]
    return [sys.executable, "-c", "import sys; from chromadb.cli.cli import app; sys.argv[0] = 'chroma'; app()"]


class ChromaServer:
    """A Chroma server subprocess on a folder, for stores shared by many processes (Ray workers).

        with ChromaServer("job/experience") as server:
            store = server.store()            # ExperienceStore.server(host, port)

    The data stays in `path`, so starting a server on the same folder later
    (a resumed job) reopens it. The server's output goes to `log_path`
    (default: `chroma-server.log` next to the folder); a failed start raises
    with the tail of that log.
    """

    def __init__(self, path: str | Path, *, host: str = "127.0.0.1", port: int | None = None,
                 log_path: str | Path | None = None, startup_timeout: float = 60.0) -> None:
        folder = Path(path).expanduser().resolve()
        if folder.exists() and not folder.is_dir():
            raise InvalidFieldError("path", f"{folder} exists and is not a folder", "point the Chroma server at a directory")
        if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
            raise InvalidFieldError("port", f"is {port!r}", "pass a TCP port 1..65535, or None to pick a free one")
        if not startup_timeout > 0:
            raise InvalidFieldError("startup_timeout", f"is {startup_timeout!r}", "pass a positive number of seconds")
        self.path = folder
        self.host = host
        self.port = port if port is not None else 0
        self._fixed_port = port is not None
        self.log_path = Path(log_path).expanduser().resolve() if log_path is not None else folder.parent / "chroma-server.log"
        self.startup_timeout = float(startup_timeout)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def store(self) -> ExperienceStore:
        """The experience store this server serves, for `RolloutPool(experience=...)`."""
        if not self.running:
            raise RuntimeError(f"Chroma server on {self.path} is not running; use it inside `with ChromaServer(...)` or call start()")
        return ExperienceStore.server(self.host, self.port)

    def start(self) -> Self:
        """Start the server and wait for its heartbeat; raises `RuntimeError` with the log tail if it does not come up."""
        if self.running:
            return self
        if not self._fixed_port:
            self.port = free_port(self.host)
        elif port_open(self.host, self.port):
            raise InvalidFieldError("port", f"{self.host}:{self.port} is already in use",
                                    "pass another port, or port=None to pick a free one")
        self.path.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [*chroma_command(), "run", "--path", str(self.path), "--host", self.host, "--port", str(self.port)]
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "CHROMA_TELEMETRY": "False"}
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                          start_new_session=True)  # Ctrl-C in a terminal reaches us, and we stop it in order
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never route 127.0.0.1 through a proxy
        deadline = time.monotonic() + self.startup_timeout
        assert self._proc is not None
        while True:
            code = self._proc.poll()
            if code is not None:
                raise RuntimeError(f"Chroma server on {self.path} exited with code {code} before it answered on {self.url}; "
                                   f"server log {self.log_path} ends with:\n{self.log_tail()}")
            try:
                with opener.open(f"{self.url}/api/v2/heartbeat", timeout=1.0) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"Chroma server on {self.path} did not answer on {self.url} within {self.startup_timeout:.0f} s "
                                   f"(raise startup_timeout if the machine is slow); "
                                   f"server log {self.log_path} ends with:\n{self.log_tail()}")
            time.sleep(0.1)

    def log_tail(self, chars: int = 2000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - chars))
                return f.read().decode(errors="replace")
        except OSError as err:
            return f"(cannot read the log: {err})"

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server, wait, then kill it if it has not exited."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __del__(self) -> None:  # a forgotten server must not outlive the job
        with contextlib.suppress(Exception):  # at interpreter shutdown, modules may be gone
            self.stop(timeout=2.0)

    def __repr__(self) -> str:
        return f"ChromaServer({str(self.path)!r}, url={self.url!r}, running={self.running})"


# --------------------------------------------------------------------------------------------
# Ray rollout workers
# --------------------------------------------------------------------------------------------


# TextWorldExpress runs each environment in its own JVM (rl/envs/twx.py); a worker starts K of them at
# its first episode and reuses them (rl/rollout.py pools them). Start-up, not the game, is most of a
# JVM's CPU: the C1 compiler alone, serial GC and thread pools sized to the worker's share of cores
# halve it (measured here: 0.52 -> 0.29 CPU-s per JVM), so W workers starting together do not starve
# each other. Steady-state steps cost ~0.05 CPU-s per episode either way.
JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-XX:CICompilerCount=1", "-XX:-UsePerfData")


def worker_env(torch_threads: int) -> dict[str, str]:
    """Environment of a rollout worker process: offline, and no library or JVM using more threads than its share of cores.

    A `JAVA_TOOL_OPTIONS` set by the user comes after ours, so its flags win.
    """
    n = str(torch_threads)
    jvm = " ".join([*JVM_OPTIONS, f"-XX:ActiveProcessorCount={n}", os.environ.get("JAVA_TOOL_OPTIONS", "")]).strip()
    return {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "ANONYMIZED_TELEMETRY": "False",
        "OMP_NUM_THREADS": n,
        "MKL_NUM_THREADS": n,
        "OPENBLAS_NUM_THREADS": n,
        "JAVA_TOOL_OPTIONS": jvm,
        # Ray starts workers at nice 15; rollouts are the job's main work, and on a busy machine
        # nice-15 workers get a few percent of a core next to anything at nice 0 (the in-process pool is)
        "RAY_worker_niceness": "0",
        # your own teams, tasks and environments (module:factory) resolve from the driver's folder, as in the driver
        "PYTHONPATH": os.pathsep.join(p for p in (os.getcwd(), os.environ.get("PYTHONPATH", "")) if p),
    }


class RolloutWorker:
    """What one Ray actor holds: a `RolloutContext` (embedder, step bank, policy cache) kept across batches."""

    def __init__(self, experience: ExperienceStore | None, torch_threads: int) -> None:
        # normally set already by the actor's runtime_env (before torch and tokenizers read them); this covers the rest
        os.environ.update({k: v for k, v in worker_env(torch_threads).items() if k not in os.environ})
        import torch

        torch.set_num_threads(torch_threads)
        self.torch_threads = torch_threads
        self.context = RolloutContext(experience_bank=experience.open() if experience is not None else None)

    def run(self, spec: RolloutSpec, weights: StateDict | None, version: int,
            qnet_weights: StateDict | None, qnet_version: int) -> RolloutResult:
        try:
            # Ray hands numpy arrays out of its object store read-only; torch.from_numpy wants writable ones.
            return self.context.run(spec, _writable(weights), version, _writable(qnet_weights), qnet_version)
        except Exception as err:
            if _crosses_processes(err):
                raise
            # the driver could not rebuild this error (Ray would report "Failed to deserialize exception"): send its text
            raise RuntimeError(f"{type(err).__module__}.{type(err).__qualname__}: {err}") from None

    def info(self) -> dict[str, Any]:
        """Where and how this worker runs (tests, debugging)."""
        import torch

        import teammind.rl as rl

        return {
            "pid": os.getpid(), "cwd": os.getcwd(), "rl_file": rl.__file__, "torch_threads": torch.get_num_threads(), "nice": os.nice(0),
            "env": {k: os.environ.get(k) for k in worker_env(self.torch_threads)},
        }


def _crosses_processes(err: BaseException) -> bool:
    """Whether `err` survives pickling (exceptions whose __init__ takes other arguments than .args do not)."""
    try:
        copy.deepcopy(err)  # rebuilds through __reduce_ex__, as pickling across processes does
        return True
    except Exception:  # noqa: BLE001 - any failure means "send it as text"
        return False




def _writable(state: StateDict | None) -> StateDict | None:
    if state is None:
        return None
    import numpy as np

    return {k: (v if getattr(v, "flags", None) is None or v.flags.writeable else np.array(v)) for k, v in state.items()}


@lru_cache(maxsize=1)
def _remote_worker() -> Any:
    """The Ray actor class (made on first use, so `workers=0` never imports Ray)."""
    import ray

    return ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(RolloutWorker)


class RolloutPool:
    """Runs batches of rollout specs; `workers=0` runs them in this process, `workers=W` on W Ray actors.

    W > 0 starts Ray locally if it is not running (or joins `ray_address`),
    and each worker uses `torch_threads` threads (default: its share of this
    machine's cores), so W workers do not oversubscribe the CPU.
    """

    def __init__(self, workers: int = 0, *, experience: ExperienceStore | None = None, experience_bank: MemoryBank | None = None,
                 ray_address: str | None = None, torch_threads: int | None = None, start_timeout: float = 300.0,
                 llm: Any = None) -> None:
        """`llm`: the LLM client LLM-agent episodes use, with workers=0 only (each Ray worker would need its own)."""
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            raise InvalidFieldError("workers", f"is {workers!r}", "pass 0 (in-process) or a positive number of Ray workers")
        if torch_threads is not None and (isinstance(torch_threads, bool) or not isinstance(torch_threads, int) or torch_threads < 1):
            raise InvalidFieldError("torch_threads", f"is {torch_threads!r}",
                                    "pass a positive number of threads per worker, or None for cores // workers")
        self.workers = workers
        self.experience = experience
        self.torch_threads = 0  # set for W > 0
        self._actors: list[Any] = []
        self._owns_ray = False
        self._local: RolloutContext | None = None
        if workers == 0:
            bank = experience_bank if experience_bank is not None else (experience.open() if experience else None)
            self._local = RolloutContext(experience_bank=bank, llm=llm)
            return
        if llm is not None:
            raise InvalidFieldError("llm", f"is set with {workers} Ray workers, which cannot share one client",
                                    "use workers=0 for LLM agents (the embedded server answers one call at a time anyway)")
        if experience_bank is not None:
            raise InvalidFieldError("experience_bank", "is an open bank, which cannot be shipped to Ray workers",
                                    "pass experience=ExperienceStore.server(host, port) (e.g. ChromaServer(path).store()), or use workers=0")
        if experience is not None and not experience.shared:
            raise InvalidFieldError("experience", f"is a local folder ({experience.path}), which only one process can open, "
                                                  f"so {workers} Ray workers cannot share it",
                                    "serve it with `with ChromaServer(path) as server:` and pass experience=server.store(), or use workers=0")
        self.torch_threads = torch_threads or max(1, (os.cpu_count() or 1) // workers)
        self._start_ray(ray_address)
        try:
            self._actors = [self._new_actor() for _ in range(workers)]
            self._wait_started(self._actors, start_timeout)
        except BaseException:
            self.close()
            raise

    def _start_ray(self, address: str | None) -> None:
        import ray

        if ray.is_initialized():
            return
        kwargs: dict[str, Any] = {"address": address, "include_dashboard": False, "log_to_driver": False, "ignore_reinit_error": True}
        if address is None:
            kwargs["num_cpus"] = max(self.workers, os.cpu_count() or 1)
        ray.init(**kwargs)
        self._owns_ray = True

    def _new_actor(self) -> Any:
        env = worker_env(self.torch_threads)
        return _remote_worker().options(runtime_env={"env_vars": env}).remote(self.experience, self.torch_threads)

    @staticmethod
    def _wait_started(actors: Sequence[Any], timeout: float) -> None:
        """Block until every actor has built its context, so start-up errors surface here, not mid-batch.

        Each worker holds one Ray CPU: a cluster without W free CPUs (e.g. another pool still open)
        would queue the actors forever, so this gives up after `timeout` seconds and says why.
        """
        import ray
        from ray.exceptions import RayActorError

        refs = [a.info.remote() for a in actors]
        ready, waiting = ray.wait(refs, num_returns=len(refs), timeout=timeout)
        if waiting:
            raise RuntimeError(f"start_timeout: {len(waiting)} of {len(refs)} rollout workers did not start within {timeout:.0f} s; "
                               f"each needs 1 free Ray CPU (free now: {ray.available_resources().get('CPU', 0)}, cluster: "
                               f"{ray.cluster_resources().get('CPU', 0)}). "
                               "Close other RolloutPools, ask for fewer workers, or raise start_timeout")
        try:
            ray.get(ready)
        except RayActorError as err:
            raise RuntimeError(f"a rollout worker failed to start: {err}. Check that `import teammind.rl` works in a fresh interpreter "
                               "(`pip install -e .`) and that the experience server is reachable") from err

    def worker_info(self) -> list[dict[str, Any]]:
        """`RolloutWorker.info()` of every worker (pid, threads, env); empty for workers=0."""
        import ray

        return ray.get([a.info.remote() for a in self._actors]) if self._actors else []

    def run(
        self,
        specs: Sequence[RolloutSpec],
        weights: StateDict | None = None,
        version: int = 0,
        qnet_weights: StateDict | None = None,
        qnet_version: int = 0,
        on_result: Progress | None = None,
    ) -> list[RolloutResult]:
        """Play every spec; results in spec order. `on_result` is called as each finishes (progress bars)."""
        if self._local is not None:
            out = []
            for spec in specs:
                result = self._local.run(spec, weights, version, qnet_weights, qnet_version)
                if on_result is not None:
                    on_result(result)
                out.append(result)
            return out
        if not self._actors:
            raise RuntimeError("this RolloutPool is closed; create a new one")
        return self._run_remote(list(specs), weights, version, qnet_weights, qnet_version, on_result)

    def _run_remote(self, specs: list[RolloutSpec], weights: StateDict | None, version: int,
                    qnet_weights: StateDict | None, qnet_version: int, on_result: Progress | None) -> list[RolloutResult]:
        import ray
        from ray.exceptions import RayActorError, RayTaskError

        if not specs:
            return []
        weights_ref = ray.put(weights) if weights is not None else None  # once per batch, shared by every worker
        qnet_ref = ray.put(qnet_weights) if qnet_weights is not None else None
        results: list[RolloutResult | None] = [None] * len(specs)
        idle = list(range(len(self._actors)))
        pending: dict[Any, tuple[int, int]] = {}  # object ref -> (spec index, actor index)
        queued = 0
        try:
            while queued < len(specs) or pending:
                while idle and queued < len(specs):  # one episode per idle worker: every worker stays busy
                    slot = idle.pop(0)
                    ref = self._actors[slot].run.remote(specs[queued], weights_ref, version, qnet_ref, qnet_version)
                    pending[ref] = (queued, slot)
                    queued += 1
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    index, slot = pending.pop(ref)
                    episode = specs[index].episode_id
                    try:
                        result = ray.get(ref)
                    except RayActorError as err:
                        self._actors[slot] = self._new_actor()  # keep the pool usable for the next batch
                        raise RuntimeError(f"rollout worker {slot} died while playing episode_id {episode!r} (spec {index}); "
                                           f"a replacement was started, rerun the batch. Cause: {err}") from err
                    except RayTaskError as err:  # the episode raised: re-raise its own error (type and message), naming the episode
                        cause = err.cause if isinstance(err.cause, BaseException) else err
                        cause.add_note(f"while playing episode_id {episode!r} (spec {index}) on rollout worker {slot}")
                        raise cause from err
                    results[index] = result
                    idle.append(slot)
                    if on_result is not None:
                        on_result(result)
        finally:
            for ref in pending:  # on an error: drop what is still queued, so the next batch does not wait behind it
                with contextlib.suppress(Exception):
                    ray.cancel(ref)
        return [r for r in results if r is not None]

    def close(self) -> None:
        """Stop this process's environments, kill the workers; shut Ray down only if this pool started it."""
        local, self._local = self._local, None
        if local is not None:
            local.close()
        actors, self._actors = self._actors, []
        if actors or self._owns_ray:
            import ray

            if ray.is_initialized():
                for actor in actors:
                    with contextlib.suppress(Exception):  # already dead
                        ray.kill(actor)
                if self._owns_ray:
                    ray.shutdown()
            self._owns_ray = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""Rollout execution: in this process, or on Ray rollout-worker actors.

`RolloutPool.run(specs, ...)` returns one `RolloutResult` per spec, in spec
order, whatever the number of workers: a spec decides its episode completely
(rl/rollout.py) and the experience store is only read during a batch, so
results do not depend on which worker ran what, or when.

    pool = RolloutPool(workers=0, experience=ExperienceStore.local(path))   # in-process
    results = pool.run(specs, weights=state_dict_numpy(policy.net), version=3)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from memory import InvalidFieldError, MemoryBank
from rl.rollout import RolloutContext, RolloutResult, RolloutSpec, StateDict


@dataclass(frozen=True)
class ExperienceStore:
    """Where the experience store lives: a local folder (one process) or a Chroma server (many)."""

    path: str | None = None
    host: str | None = None
    port: int | None = None

    @classmethod
    def local(cls, path: str | Path) -> "ExperienceStore":
        return cls(path=str(path))

    @classmethod
    def server(cls, host: str, port: int) -> "ExperienceStore":
        return cls(host=host, port=port)

    def open(self) -> MemoryBank:
        if self.host is not None:
            return MemoryBank(host=self.host, port=self.port)
        if self.path is None:
            raise InvalidFieldError("experience", "has neither a path nor a host", "use ExperienceStore.local(path) or .server(host, port)")
        return MemoryBank(self.path)


Progress = Callable[[RolloutResult], None]


class RolloutPool:
    """Runs batches of rollout specs; `workers=0` runs them in this process."""

    def __init__(self, workers: int = 0, *, experience: ExperienceStore | None = None, experience_bank: MemoryBank | None = None) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            raise InvalidFieldError("workers", f"is {workers!r}", "pass 0 (in-process) or a positive number of Ray workers")
        self.workers = workers
        self.experience = experience
        if workers == 0:
            bank = experience_bank if experience_bank is not None else (experience.open() if experience else None)
            self._local = RolloutContext(experience_bank=bank)
        else:
            raise NotImplementedError("Ray workers: coming in rl/workers.py")

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
        out = []
        for spec in specs:
            result = self._local.run(spec, weights, version, qnet_weights, qnet_version)
            if on_result is not None:
                on_result(result)
            out.append(result)
        return out

    def close(self) -> None:
        pass

    def __enter__(self) -> "RolloutPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""Crash-safe training checkpoints: safetensors for tensors, JSON for everything else, never pickle.

A checkpoint is a folder `checkpoints/it-000012/` written under a temporary
name and renamed into place when complete; `latest.json` (replaced
atomically) then points at it. A kill -9 at any moment leaves either the old
or the new checkpoint fully readable, never a half-written one.

Optimiser state (AdamW's step counts and moments) is flattened into one
safetensors file plus its `param_groups` in JSON, so `--resume` continues
exactly where the killed job stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from teammind.memory import InvalidFieldError
from teammind.memory.files import atomic_write_text

LATEST = "latest.json"


def save_module(module: torch.nn.Module, path: Path, config: dict[str, Any]) -> None:
    save_file({k: v.detach().contiguous() for k, v in module.state_dict().items()}, str(path), metadata={"config": json.dumps(config)})


def load_module(module: torch.nn.Module, path: Path) -> None:
    module.load_state_dict(load_file(str(path)))


def save_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    """AdamW state as flat tensors ("<param index>.<name>") plus param_groups in the metadata."""
    state = optimizer.state_dict()
    tensors = {}
    for index, slots in state["state"].items():
        for name, value in slots.items():
            tensors[f"{index}.{name}"] = (value if torch.is_tensor(value) else torch.tensor(value)).detach().contiguous()
    save_file(tensors, str(path), metadata={"param_groups": json.dumps(state["param_groups"])})


def load_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        groups = json.loads((f.metadata() or {})["param_groups"])
    for group in groups:  # JSON turned tuples (AdamW's betas) into lists
        for key, value in group.items():
            if key != "params" and isinstance(value, list):
                group[key] = tuple(value)
    flat = load_file(str(path))
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in flat.items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def save_arrays(arrays: dict[str, np.ndarray], path: Path) -> None:
    from safetensors.numpy import save_file as save_numpy

    save_numpy({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(path))


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file as load_numpy

    return load_numpy(str(path))


class CheckpointDir:
    """The checkpoints of one run folder; keeps the newest `keep`."""

    def __init__(self, run_dir: Path, keep: int = 2) -> None:
        self.root = Path(run_dir) / "checkpoints"
        self.keep = keep

    def latest(self) -> Path | None:
        pointer = self.root / LATEST
        if not pointer.is_file():
            return None
        target = self.root / json.loads(pointer.read_text())["checkpoint"]
        if not (target / "state.json").is_file():
            raise InvalidFieldError("--resume", f"{pointer} points at an incomplete checkpoint {target}", "delete latest.json to restart")
        return target

    def begin(self, iteration: int) -> Path:
        """A fresh temporary folder to fill; `commit` renames it into place."""
        self.root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=self.root, prefix=f".it-{iteration:06d}-"))

    def commit(self, tmp: Path, iteration: int, state: dict[str, Any]) -> Path:
        atomic_write_text(tmp / "state.json", json.dumps(state, indent=2))
        final = self.root / f"it-{iteration:06d}"
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        _fsync_dir(self.root)
        atomic_write_text(self.root / LATEST, json.dumps({"checkpoint": final.name, "iteration": iteration}))
        self._prune(final)
        return final

    def _prune(self, current: Path) -> None:
        done = sorted(p for p in self.root.glob("it-*") if p.is_dir())
        for old in done[: max(0, len(done) - self.keep)]:
            if old != current:
                shutil.rmtree(old, ignore_errors=True)
        for stale in self.root.glob(".it-*"):  # temporaries of a killed job
            shutil.rmtree(stale, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

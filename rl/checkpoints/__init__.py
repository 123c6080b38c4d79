"""Checkpoints shipped inside the package (TextWorldExpress, scripted agents).

`teammind train` reproduces them; see docs/training.md for the command.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ADMISSION = HERE / "twx_admission.safetensors"
QNET = HERE / "twx_qnet.safetensors"


def shipped_admission_path() -> Path:
    """The shipped learned admission policy (safetensors, config in its metadata)."""
    return ADMISSION


def shipped_qnet_path() -> Path:
    """The shipped Q-network for experience reranking (safetensors, config in its metadata)."""
    return QNET

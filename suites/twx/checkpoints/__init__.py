"""Checkpoints shipped with the TextWorldExpress suite (scripted agents); the coin policy is teammind's default.

`teammind train` reproduces them; provenance.json holds each one's command and
measured numbers, docs/training.md the story. The default admission policy was
trained on `coin`; a game with its own policy (``twx_<game>_admission.safetensors``,
today `twc`) gets that one, since a policy learns which kinds of entries the
game's teams read (the coin policy admits everything on twc).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ADMISSION = HERE / "twx_admission.safetensors"
QNET = HERE / "twx_qnet.safetensors"


def game_admission_path(env: str) -> Path | None:
    """The shipped policy trained on this TextWorldExpress game (`twx:<game>`), or None if none ships."""
    kind, _, rest = env.partition(":")
    game = rest.split(":", 1)[0]
    if kind != "twx" or not game.isidentifier():
        return None
    path = HERE / f"twx_{game}_admission.safetensors"
    return path if path.is_file() else None

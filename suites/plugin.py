"""What a suite registers under the ``teammind.suites`` entry-point group.

A suite is one folder: its environment adapter, scripted agent, intent helpers
and shipped checkpoints. It registers one `Suite` object; a third-party package
does the same in its own ``pyproject.toml``::

    [project.entry-points."teammind.suites"]
    mygame = "mygame.teammind_suite:SUITE"

and ``mygame:<anything>`` specs then resolve through it. The object only names
functions by ``module:attribute`` so that listing suites imports no game engine.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Suite:
    """One suite plugin.

    prefix: the spec prefix it owns (``twx`` for ``twx:coin``).
    env_factory: ``module:function``, ``(spec, **overrides) -> EnvFactory``.
    scripted_agents: ``module:function``, ``(spec) -> (team -> Agent)``; None if the suite has no scripted agent.
    forms: the spec forms, shown in errors and help.
    intent: ``module:function``, ``(task, observation) -> str`` keying experiences (None: task and first line).
    checkpoints: ``module:function``, ``(spec) -> Path | None`` of the suite's own shipped admission policy.
    install: what to install when the suite's engine is missing.
    """

    prefix: str
    env_factory: str
    scripted_agents: str | None = None
    forms: str = ""
    intent: str | None = None
    checkpoints: str | None = None
    install: str = "pip install 'teammind[envs]'"

    def load(self, field_name: str) -> Any:
        """Import the function a field names; a missing engine raises ValueError with the install command."""
        target = getattr(self, field_name)
        if target is None:
            raise ValueError(f"suite {self.prefix!r} has no {field_name}")
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise ValueError(f"spec: the {self.prefix!r} suite needs an optional package ({err}); install with {self.install}") from err
        return getattr(module, attr)

    def admission_checkpoint(self, spec: str) -> Path | None:
        """This suite's own shipped admission policy for `spec`, or None."""
        return self.load("checkpoints")(spec) if self.checkpoints else None

"""teammind: parallel LangGraph agent teams over one shared memory bank whose admission and retrieval are learned.

The public facade: the bank, the specs, the three verbs (`run`, `evaluate`, `train`) and `ParallelTeams` for your own teams. Layers, each importable on its own: `teammind.memory` (the
bank), `teammind.agents`, `teammind.graphs`, `teammind.suites`, `teammind.rl`.
"""

from teammind.memory import (
    AdmissionPolicy,
    AdmitAll,
    AdmitNone,
    BankStore,
    Entry,
    InvalidFieldError,
    LearnedAdmission,
    MemoryBank,
    MemoryBankError,
    NoveltyThreshold,
    RetrievalConfig,
)

from teammind.api import evaluate, run, train
from teammind.specs import EvalSpec, RunSpec, TrainSpec

__version__ = "0.1.0"

_LAZY = {
    "ParallelTeams": ("teammind.teams", "ParallelTeams"),
    "TeamMemory": ("teammind.agents.team_memory", "TeamMemory"),
    "TeamOutput": ("teammind.graphs.parallel_teams", "TeamOutput"),
    "TeamsResult": ("teammind.graphs.parallel_teams", "TeamsResult"),
    "ExperienceSource": ("teammind.graphs.experience", "ExperienceSource"),
    "learn_from_episode": ("teammind.rl.q_learner", "learn_from_episode"),
}


def __getattr__(name: str):
    """The team API imports LangGraph and LangChain on first use, so `import teammind` stays quick."""
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'teammind' has no attribute {name!r}")


__all__ = [*_LAZY, 
    "AdmissionPolicy", "AdmitAll", "AdmitNone", "BankStore", "Entry", "InvalidFieldError", "LearnedAdmission", "MemoryBank",
    "MemoryBankError", "NoveltyThreshold", "RetrievalConfig", "EvalSpec", "RunSpec", "TrainSpec", "evaluate", "run", "train", "__version__",
]

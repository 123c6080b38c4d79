"""teammind: parallel LangGraph agent teams over one shared memory bank whose admission and retrieval are learned.

The public facade: the bank, the specs and the three verbs (`run`, `evaluate`, `train`). Layers, each importable on its own: `teammind.memory` (the
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

__all__ = [
    "AdmissionPolicy", "AdmitAll", "AdmitNone", "BankStore", "Entry", "InvalidFieldError", "LearnedAdmission", "MemoryBank",
    "MemoryBankError", "NoveltyThreshold", "RetrievalConfig", "EvalSpec", "RunSpec", "TrainSpec", "evaluate", "run", "train", "__version__",
]

"""teammind: parallel LangGraph agent teams over one shared memory bank whose admission and retrieval are learned.

The public facade. Layers, each importable on its own: `teammind.memory` (the
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

__version__ = "0.1.0"

__all__ = [
    "AdmissionPolicy", "AdmitAll", "AdmitNone", "BankStore", "Entry", "InvalidFieldError", "LearnedAdmission", "MemoryBank",
    "MemoryBankError", "NoveltyThreshold", "RetrievalConfig", "__version__",
]

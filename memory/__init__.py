"""teammind's global memory bank: entries, the SQL ledger and vector index, admission, two-phase retrieval.

Depends on nothing else of ours (agents, graphs and rl depend on it).
"""

from teammind.memory.admission import (
    AdmissionDecision,
    AdmissionFeatures,
    AdmissionPolicy,
    AdmitAll,
    AdmitNone,
    LearnedAdmission,
    NoveltyThreshold,
    make_policy,
)
from teammind.memory.bank import MemoryBank, Proposal, SearchRequest, StepCandidate, default_bank_path
from teammind.memory.embeddings import Embedder, get_embedder
from teammind.memory.errors import BankInUseError, EntryNotFoundError, InvalidFieldError, MemoryBankError
from teammind.memory.langgraph_store import BankStore
from teammind.memory.ledger import HistoryEvent
from teammind.memory.retrieval import Hit, RetrievalConfig, calibrate_delta
from teammind.memory.schema import Entry, EntryLimits, Origin

__all__ = [
    "AdmissionDecision",
    "AdmissionFeatures",
    "AdmissionPolicy",
    "AdmitAll",
    "AdmitNone",
    "BankInUseError",
    "BankStore",
    "Embedder",
    "Entry",
    "EntryLimits",
    "EntryNotFoundError",
    "HistoryEvent",
    "Hit",
    "InvalidFieldError",
    "LearnedAdmission",
    "MemoryBank",
    "MemoryBankError",
    "NoveltyThreshold",
    "Origin",
    "Proposal",
    "RetrievalConfig",
    "SearchRequest",
    "StepCandidate",
    "calibrate_delta",
    "default_bank_path",
    "get_embedder",
    "make_policy",
]

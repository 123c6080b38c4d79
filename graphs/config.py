"""Configuration of a parallel-teams run, validated up front (bad values name the field and the fix)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from teammind.memory import AdmissionPolicy, AdmitAll, InvalidFieldError, RetrievalConfig

Aggregator = Literal["first", "majority", "best", "llm"]
AGGREGATORS: tuple[str, ...] = ("first", "majority", "best", "llm")


@dataclass
class RunConfig:
    """One task, K teams, one shared bank namespace.

    teams: K parallel teams (LTS: 3).
    max_steps: step limit per team (LTS: 30).
    memory: share a bank between teams; False = memory-free parallel teams.
    admission: the admission policy for proposed steps (ignored without memory).
    retrieval: two-phase retrieval settings for team reads (lam=0: similarity only).
    aggregator: "first" (first successful team; the run stops as soon as one
        succeeds, which is where shared memory saves time), "majority" (the
        outcome most teams reached), "best" (highest score once all finish), or
        "llm" (an LLM reads every team's final state and picks the answer team,
        without seeing scores; needs `RunRuntime(aggregator_llm=...)`).
    sample_admission: Bernoulli-sample admission decisions (training) instead
        of argmax (evaluation); seeded by `seed` and `sample_seed`.
    sample_seed: varies the sampled decisions between rollouts of the same
        task (a training group plays one seed G times with G sample seeds).
    experience_namespace: where past episodes' experiences live; set it to
        retrieve experiences when the episode starts (MemRL). None = off.
    experience_retrieval: two-phase retrieval settings for experiences
        (MemRL: k1 5-10, k2 3-5, lam 0.5; lam=0 is similarity only).
    """

    seed: int = 0
    teams: int = 3
    max_steps: int = 30
    memory: bool = True
    admission: AdmissionPolicy = field(default_factory=AdmitAll)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    aggregator: Aggregator = "first"
    sample_admission: bool = False
    tenant: str = "teammind"
    sample_seed: int = 0
    experience_namespace: tuple[str, ...] | None = None
    experience_retrieval: RetrievalConfig = field(default_factory=lambda: RetrievalConfig(k1=10, k2=3))

    def __post_init__(self) -> None:
        for name, lo in (("seed", 0), ("teams", 1), ("max_steps", 1), ("sample_seed", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise InvalidFieldError(name, f"is {v!r}", f"pass an integer >= {lo}")
        if self.aggregator not in AGGREGATORS:
            raise InvalidFieldError("aggregator", f"is {self.aggregator!r}", f"use one of {AGGREGATORS}")
        if not isinstance(self.admission, AdmissionPolicy):
            raise InvalidFieldError("admission", f"is {type(self.admission).__name__}", "pass a memory.AdmissionPolicy")

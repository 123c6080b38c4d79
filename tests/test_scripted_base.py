"""The scripted agents' shared base: team rank, the per-step reading budget, and bank-sized keys."""

from __future__ import annotations

import zlib

from teammind.agents.base import AgentAction, StepContext
from teammind.agents.environment import Observation
from teammind.agents.memory_tools import MemoryHit
from teammind.agents.team_memory import TeamMemory
from teammind.agents.scripted import BANK_KEY_WORDS, MAX_KEY_WORDS, ScriptedAgent, compact_key, team_rank
from teammind.memory import Entry, Origin

NS = ("teammind", "scripted-base-test")


class Reader(ScriptedAgent):
    """The smallest scripted agent: reads nothing unless a test drives the reader."""

    def __init__(self, *, max_searches: int = 4, max_reads: int = 4) -> None:
        self.max_searches = max_searches
        self.max_reads = max_reads
        self._reset_reader()

    def act(self, ctx: StepContext) -> AgentAction:
        self.begin_step(ctx)
        return AgentAction(action="wait", reads=self.end_step())


class FakeMemory:
    """A bank stand-in that returns fixed hits and counts the calls made to it."""

    def __init__(self, hits: list[MemoryHit], *, fail: bool = False) -> None:
        self.hits = hits
        self.fail = fail
        self.searches: list[str] = []
        self.read_calls: list[str] = []

    def search_memory(self, query: str) -> list[MemoryHit]:
        self.searches.append(query)
        if self.fail:
            raise RuntimeError("bank down")
        return list(self.hits)

    def read_memory(self, entry_id: str) -> str | None:
        self.read_calls.append(entry_id)
        if self.fail:
            raise RuntimeError("bank down")
        return f"value of {entry_id}"


def ctx_for(memory: object, team: str = "team-0") -> StepContext:
    obs = Observation(text="You are here.", valid_actions=("wait",), task="test")
    return StepContext(task="test", observation=obs, step_index=0, max_steps=5, team=team, memory=memory)  # type: ignore[arg-type]


def hits(n: int, team: str = "team-1") -> list[MemoryHit]:
    return [MemoryHit(f"e{i}", f"key {i}", 1.0 - i / 100, team) for i in range(n)]


def read_all(agent: ScriptedAgent, query: str) -> list[str]:
    return [t for t in (agent._read_text(h) for h in agent._search(query)) if t is not None]


def test_team_rank_is_the_trailing_number_of_the_name() -> None:
    assert team_rank("team-2") == 2


def test_team_rank_without_a_number_is_the_stable_crc_of_the_name() -> None:
    assert team_rank("alpha") == team_rank("alpha") == zlib.crc32(b"alpha")


def test_begin_step_takes_the_rank_from_the_context() -> None:
    agent = Reader()
    agent.begin_step(ctx_for(FakeMemory([]), team="team-7"))
    assert (agent._rank, agent._team) == (7, "team-7")


def test_reader_runs_at_most_max_searches_queries_a_step() -> None:
    memory = FakeMemory(hits(1))
    agent = Reader(max_searches=2)
    agent.begin_step(ctx_for(memory))
    for q in ("a", "b", "c", "d"):
        agent._search(q)
    assert memory.searches == ["a", "b"]


def test_reader_reads_at_most_max_reads_entries_a_step() -> None:
    agent = Reader(max_reads=3)
    agent.begin_step(ctx_for(FakeMemory(hits(6))))
    assert len(read_all(agent, "anything")) == 3
    assert agent.end_step() == ["e0", "e1", "e2"]


def test_reading_budget_opens_again_each_step() -> None:
    memory = FakeMemory(hits(4))
    agent = Reader(max_searches=1, max_reads=2)
    agent.begin_step(ctx_for(memory))
    assert read_all(agent, "q") == ["value of e0", "value of e1"]
    agent.begin_step(ctx_for(memory))
    assert read_all(agent, "q") == ["value of e2", "value of e3"]


def test_reader_reads_an_entry_once_per_episode() -> None:
    memory = FakeMemory(hits(2))
    agent = Reader()
    agent.begin_step(ctx_for(memory))
    read_all(agent, "first step")
    agent.begin_step(ctx_for(memory))
    assert read_all(agent, "second step") == []
    assert memory.read_calls == ["e0", "e1"]


def test_reader_skips_the_teams_own_entries(bank) -> None:
    for team in ("team-0", "team-1"):
        bank.add(Entry.new(NS, f"coin is in the kitchen ({team})", f"from {team}", origin=Origin(team=team)))
    agent = Reader()
    agent.begin_step(ctx_for(TeamMemory(bank, NS, "team-0")))
    found = agent._search("coin is in the kitchen")
    assert [h.team for h in found] == ["team-1"]
    assert read_all(agent, "where is the coin") == ["from team-1"]


def test_a_bank_whose_search_raises_reads_as_nothing() -> None:
    agent = Reader()
    agent.begin_step(ctx_for(FakeMemory(hits(3), fail=True)))
    assert agent._search("anything") == [] and agent._search_failed
    assert agent.end_step() == []


def test_compact_key_keeps_at_most_the_limit_below_the_banks() -> None:
    long = " ".join(f"w{i}" for i in range(BANK_KEY_WORDS + 5))
    assert len(compact_key(long).split()) == MAX_KEY_WORDS < BANK_KEY_WORDS
    assert compact_key("in the  kitchen") == "in the  kitchen"


def test_scripted_keys_keep_36_of_the_banks_40_words() -> None:
    assert (BANK_KEY_WORDS, MAX_KEY_WORDS) == (40, 36)

"""Past experiences for your own teams: retrieved at the start, used through TeamMemory, learned from with the grader's outcome."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import tool
from langgraph.prebuilt import create_react_agent
from scripted_chat import ScriptedChatModel

from teammind import ParallelTeams
from teammind.agents.memory_tools import UNTRUSTED_HEADER
from teammind.graphs.experience import ExperienceSource, task_intent
from teammind.memory import Entry, InvalidFieldError, MemoryBank
from teammind.rl.q_learner import learn_from_episode

NS = ("app", "experience")
TASK = "what is the capital of the country whose currency is the krone?"
PAST = json.dumps({"v": 1, "outcome": "success", "plan": ["lookup(x='currency krone')"], "steps": 1, "summary": "look up the currency first"})


@tool
def lookup(x: str) -> str:
    """Look up x."""
    return f"value of {x}"


@pytest.fixture
def store():
    bank = MemoryBank.ephemeral()
    bank.add(Entry.new(NS, task_intent(TASK), PAST, kind="experience", id="exp-past"))
    yield bank
    bank.close()


def react_team(plan: list, models: dict | None = None, answer: str = "Copenhagen"):
    def make_team(memory):
        model = ScriptedChatModel(plan=plan, answer=answer)
        if models is not None:
            models[memory.team] = model
        return create_react_agent(model, memory.share([lookup]) + memory.tools())

    return make_team


def test_every_team_gets_the_experiences_retrieved_when_the_run_starts(bank, store):
    seen: dict[str, list[str]] = {}

    def make_team(memory):
        seen[memory.team] = [e.id for e in memory.experiences]
        return create_react_agent(ScriptedChatModel(answer="Copenhagen"), memory.tools())

    teams = ParallelTeams(make_team, k=2, bank=bank, admission="all", experiences=ExperienceSource(store, NS))
    summary = teams.invoke({"messages": [("user", TASK)]}).summary
    assert seen == {"team-0": ["exp-past"], "team-1": ["exp-past"]}
    assert summary["intent"] == task_intent(TASK) and summary["experiences_retrieved"] == ["exp-past"]
    assert summary["experiences_used"] == []


def test_reading_an_experience_by_id_is_its_use_and_quotes_it_as_untrusted(bank, store):
    models: dict = {}
    teams = ParallelTeams(react_team([("read_shared_memory", {"id": "exp-past"})], models), k=1, bank=bank, admission="all",
                          experiences=ExperienceSource(store, NS))
    summary = teams.invoke({"messages": [("user", TASK)]}).summary
    replies = [m.content for prompt in models["team-0"].prompts for m in prompt if isinstance(m, ToolMessage)]
    assert replies and UNTRUSTED_HEADER in replies[-1] and "look up the currency first" in replies[-1]
    assert summary["experiences_used"] == ["exp-past"]


def test_the_experience_prompt_quotes_past_runs_as_untrusted_data(bank, store):
    prompts: list[str] = []

    def make_team(memory):
        prompts.append(memory.experience_prompt())
        return create_react_agent(ScriptedChatModel(answer="Copenhagen"), [])

    ParallelTeams(make_team, k=1, bank=bank, admission="all", experiences=ExperienceSource(store, NS)).invoke({"messages": [("user", TASK)]})
    assert prompts[0].startswith(UNTRUSTED_HEADER) and 'id="exp-past"' in prompts[0]


def test_use_experience_refuses_an_id_that_was_not_retrieved(bank, store):
    errors: list[str] = []

    def make_team(memory):
        with pytest.raises(KeyError, match="exp-other") as caught:
            memory.use_experience("exp-other")
        errors.append(str(caught.value))
        return create_react_agent(ScriptedChatModel(answer="x"), [])

    ParallelTeams(make_team, k=1, bank=bank, admission="all", experiences=ExperienceSource(store, NS)).invoke({"messages": [("user", TASK)]})
    assert errors


def test_a_run_without_experiences_has_no_experience_keys(bank):
    summary = ParallelTeams(react_team([]), k=1, bank=bank, admission="all").invoke({"messages": [("user", TASK)]}).summary
    assert "intent" not in summary and "experiences_used" not in summary


def test_experiences_must_be_an_experience_source(bank, store):
    with pytest.raises(InvalidFieldError, match="experiences"):
        ParallelTeams(react_team([]), k=1, bank=bank, admission="all", experiences={"bank": store})  # type: ignore[arg-type]


def test_an_experience_source_refuses_an_empty_namespace(store):
    with pytest.raises(InvalidFieldError, match="experiences.namespace"):
        ExperienceSource(store, ())


def test_the_graders_outcome_moves_q_of_the_experience_used_and_the_run_is_written_back(bank, store):
    teams = ParallelTeams(react_team([("read_shared_memory", {"id": "exp-past"}), ("lookup", {"x": "currency krone"})]), k=1, bank=bank,
                          admission="all", grade=lambda a: a == "Copenhagen", experiences=ExperienceSource(store, NS))
    result = teams.invoke({"messages": [("user", TASK)]})
    info = learn_from_episode(store, NS, result.summary)
    assert info["used"] == ["exp-past"] and info["reward"] == 1.0
    assert store.get(NS, "exp-past").q > 0.0
    written = json.loads(store.get(NS, info["written"]).value)
    assert written["outcome"] == "success" and any(a.startswith("lookup(") for a in written["plan"])


def test_a_failed_run_lowers_q_of_the_experience_used_and_is_written_back_as_a_reflection(bank, store):
    teams = ParallelTeams(react_team([("read_shared_memory", {"id": "exp-past"})], answer="Oslo"), k=1, bank=bank, admission="all",
                          grade=lambda a: a == "Copenhagen", experiences=ExperienceSource(store, NS))
    info = learn_from_episode(store, NS, teams.invoke({"messages": [("user", TASK)]}).summary)
    assert info["reward"] == -1.0 and store.get(NS, "exp-past").q < 0.0
    assert json.loads(store.get(NS, info["written"]).value)["outcome"] == "failure"

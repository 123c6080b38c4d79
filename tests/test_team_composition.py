"""Orchestrator + worker teams and the LLM aggregator, against a real local OpenAI-compatible endpoint."""

from __future__ import annotations

import json

import pytest

from _fake_openai import FakeOpenAI, Reply, ok
from teammind.agents.llm import LLMClient, LLMConfig
from teammind.agents.llm_agent import LLMAgent
from teammind.agents.orchestrator import OrchestratorWorkerAgent
from teammind.graphs.config import RunConfig
from teammind.graphs.parallel import run_parallel_teams
from teammind.graphs.runtime import RunRuntime
from toy_world import Corridor, CorridorWalker


def _endpoint(request: dict) -> Reply:
    text = json.dumps(request.get("messages", []))
    if "subgoal" in text and "plan for a text-game agent" in text:
        return ok(json.dumps({"subgoal": "walk right until you see the coin"}))
    if "judge which team" in text:
        return ok(json.dumps({"team": "team-1"}))
    return ok(json.dumps({"action": "go right", "note": "walking right"}))


def test_orchestrator_sets_subgoals_the_worker_sees_and_both_calls_are_counted(bank):
    with FakeOpenAI(_endpoint) as srv:
        client = LLMClient(LLMConfig(base_url=srv.base_url, model="fake"))
        runtime = RunRuntime(lambda: Corridor(12), lambda team: OrchestratorWorkerAgent(client, LLMAgent(client), replan_every=3),
                             RunConfig(seed=2, teams=2, max_steps=6), bank=bank, task_name="corridor")
        summary = run_parallel_teams(runtime)
        worker_prompts = [json.dumps(r["messages"]) for r in srv.requests if "plan for a text-game agent" not in json.dumps(r["messages"])]
    plans = summary["llm_calls"] - summary["env_steps"]
    assert plans >= 2  # at least one plan per team
    assert any("Current subgoal: walk right until you see the coin" in p for p in worker_prompts)


def test_llm_aggregator_picks_the_team_the_judge_names(bank):
    with FakeOpenAI(_endpoint) as srv:
        client = LLMClient(LLMConfig(base_url=srv.base_url, model="fake"))
        runtime = RunRuntime(lambda: Corridor(12), lambda team: CorridorWalker(), RunConfig(seed=2, aggregator="llm"), bank=bank,
                             task_name="corridor", aggregator_llm=client)
        summary = run_parallel_teams(runtime)
    assert summary["answer_team"] == "team-1" and summary["llm_calls"] == 1
    assert "aggregator_error" not in summary


def test_llm_aggregator_without_a_client_is_a_clear_error(bank):
    with pytest.raises(ValueError, match="aggregator_llm"):
        RunRuntime(lambda: Corridor(12), lambda team: CorridorWalker(), RunConfig(aggregator="llm"), bank=bank)

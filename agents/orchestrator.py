"""Team composition "orchestrator + worker": a planner LLM sets subgoals, a worker acts on them.

The default team is one acting agent. With `--team orchestrator` each team has
an orchestrator that, every `replan_every` steps, reads the task, the recent
steps and the keys of shared entries (quoted as untrusted data) and writes one
subgoal; the worker (any `Agent`, usually an `LLMAgent`) then acts with the
subgoal appended to its task. The orchestrator costs one extra LLM call per
`replan_every` steps, accounted with the worker's calls.
"""

from __future__ import annotations

import json
from dataclasses import replace

from typing import TYPE_CHECKING

from teammind.agents.base import Agent, AgentAction, LLMUsage, StepContext
from teammind.agents.chat_models import ChatClient, as_chat_client
from teammind.agents.environment import Observation
from teammind.agents.llm import LLMClient, LLMConfig, LLMError
from teammind.agents.memory_tools import quote_untrusted

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

SUBGOAL_SCHEMA = {
    "type": "object",
    "properties": {"subgoal": {"type": "string", "maxLength": 160}},
    "required": ["subgoal"],
}


class OrchestratorWorkerAgent(Agent):
    """An orchestrator LLM that plans subgoals around a worker agent that acts.

    `planner` is an `LLMClient`, an `LLMConfig`, or any LangChain chat model (see `as_chat_client`).
    """

    name = "orchestrator+worker"

    def __init__(
        self, planner: LLMClient | LLMConfig | BaseChatModel | ChatClient, worker: Agent, *, replan_every: int = 5, max_tokens: int = 60
    ) -> None:
        if replan_every < 1:
            raise ValueError("replan_every: must be >= 1; pass how many steps a subgoal lasts")
        self.planner: ChatClient = as_chat_client(planner)
        self.worker = worker
        self.replan_every = replan_every
        self.max_tokens = max_tokens
        self.subgoal = ""

    def reset(self, observation: Observation) -> None:
        self.subgoal = ""
        self.worker.reset(observation)

    def observe(self, action: str, observation: Observation) -> None:
        self.worker.observe(action, observation)

    def describe_outcome(self, action: str, observation: Observation) -> tuple[str, str] | None:
        return self.worker.describe_outcome(action, observation)

    def _plan(self, ctx: StepContext) -> tuple[str, LLMUsage, str | None]:
        recent = "\n".join(f"- {a} -> {o[:120]}" for a, o in ctx.history[-4:]) or "- (no steps yet)"
        shared = quote_untrusted([(h.id[:8], h.key) for h in ctx.hits[:4]])
        messages = [
            {"role": "system", "content": "You plan for a text-game agent. Reply with JSON {\"subgoal\": ...}: one short, concrete subgoal."},
            {"role": "user", "content": f"Task: {ctx.task}\nNow: {ctx.observation.text[:400]}\nRecent steps:\n{recent}\n{shared}\nNext subgoal?"},
        ]
        try:
            reply = self.planner.chat(messages, json_schema=SUBGOAL_SCHEMA, max_tokens=self.max_tokens, team=ctx.team)
        except LLMError as err:
            return "", err.usage, f"orchestrator LLM failed: {err.reason}"
        try:
            subgoal = str(json.loads(reply.text).get("subgoal", "")).strip()
        except (ValueError, AttributeError):
            subgoal = reply.text.strip()[:160]
        return subgoal, reply.usage, None

    def act(self, ctx: StepContext) -> AgentAction:
        usage = LLMUsage()
        if ctx.step_index % self.replan_every == 0 or not self.subgoal:
            subgoal, usage, error = self._plan(ctx)
            if error is not None:
                return AgentAction(action="", usage=usage, error=error)
            self.subgoal = subgoal
        worker_ctx = replace(ctx, task=f"{ctx.task} Current subgoal: {self.subgoal}" if self.subgoal else ctx.task)
        action = self.worker.act(worker_ctx)
        action.usage = LLMUsage().add(usage).add(action.usage)
        return action

"""A LangChain callback handler per team: LLM usage from any chat model, and the stop signal at the next call.

Usage comes from LangChain's own usage metadata (`AIMessage.usage_metadata`,
else the provider's `llm_output["token_usage"]`), so it works for every
`BaseChatModel`. The same handler raises `TeamStopped` when a team starts a
model or tool call after the run no longer needs it; `raise_error` and
`run_inline` make LangChain propagate that from sync and async runs alike.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult

from teammind.agents.base import LLMUsage
from teammind.agents.team_memory import RunControl


def usage_of(response: LLMResult) -> tuple[int, int]:
    """(prompt tokens, completion tokens) of one model call, from usage metadata or the provider's token usage."""
    prompt = completion = 0
    found = False
    for generations in response.generations:
        for generation in generations:
            meta = getattr(getattr(generation, "message", None), "usage_metadata", None)
            if meta:
                prompt += int(meta.get("input_tokens", 0))
                completion += int(meta.get("output_tokens", 0))
                found = True
    if not found and response.llm_output:
        usage = response.llm_output.get("token_usage") or response.llm_output.get("usage") or {}
        prompt = int(usage.get("prompt_tokens", usage.get("input_tokens", 0)) or 0)
        completion = int(usage.get("completion_tokens", usage.get("output_tokens", 0)) or 0)
    return prompt, completion


class TeamCallbacks(BaseCallbackHandler):
    """Counts one team's model calls and tokens; stops the team at its next call once the run is decided."""

    raise_error = True
    run_inline = True

    def __init__(self, team: str, control: RunControl) -> None:
        self.team = team
        self.control = control
        self.usage = LLMUsage()
        self._lock = threading.Lock()
        self._started: dict[UUID, float] = {}

    def _check(self) -> None:
        self.control.check(self.team)

    def on_chat_model_start(self, serialized: dict[str, Any], messages: list[list[Any]], *, run_id: UUID, **kwargs: Any) -> None:
        self._check()

    def on_llm_start(self, serialized: dict[str, Any], prompts: list[str], *, run_id: UUID, **kwargs: Any) -> None:
        self._check()

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, *, run_id: UUID, **kwargs: Any) -> None:
        self._check()

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        prompt, completion = usage_of(response)
        with self._lock:
            self.usage.add(LLMUsage(calls=1, prompt_tokens=prompt, completion_tokens=completion))

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            self.usage.add(LLMUsage(calls=1))


class _QuietStops(logging.Filter):
    """LangChain logs every exception a handler raises; a stopped team is the plan, not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "TeamStopped(" not in record.getMessage()


logging.getLogger("langchain_core.callbacks.manager").addFilter(_QuietStops())

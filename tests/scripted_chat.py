"""A scripted langchain-core chat model for tests: it makes planned tool calls, then answers.

`ScriptedChatModel(plan=[("lookup", {"x": "a"}), ...], answer="42")` asks for
the plan's calls one model turn at a time (the next one after each tool result)
and then answers. It reports usage metadata like a real provider, and keeps
every prompt it was given, so tests can check what reached the model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field


class ScriptedChatModel(BaseChatModel):
    """Tool calls from `plan` in order, then `answer` (or `answer_fn(messages)`)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    plan: list[tuple[str, dict[str, Any]]] = Field(default_factory=list)
    answer: str = "done"
    answer_fn: Callable[[list[BaseMessage]], str] | None = None
    prompts: list[list[BaseMessage]] = Field(default_factory=list)
    lock: Any = Field(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> "ScriptedChatModel":
        return self

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        with self.lock:
            self.prompts.append(list(messages))
        done = sum(1 for m in messages if isinstance(m, ToolMessage))
        prompt_tokens = sum(len(str(m.content).split()) for m in messages)
        if done < len(self.plan):
            name, args = self.plan[done]
            message = AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call-{done}", "type": "tool_call"}])
        else:
            message = AIMessage(content=self.answer_fn(messages) if self.answer_fn else self.answer)
        message.usage_metadata = {"input_tokens": prompt_tokens, "output_tokens": 5, "total_tokens": prompt_tokens + 5}
        return ChatResult(generations=[ChatGeneration(message=message)])

"""Agents, the environment protocol, the LLM client and embedded server, LangChain chat models, and the tools agents call."""

from __future__ import annotations

from typing import Any

__all__ = ["chat_model"]


def __getattr__(name: str) -> Any:
    """`chat_model` is imported on first use, so `import teammind.agents` stays cheap (no LangChain, no openai)."""
    if name == "chat_model":
        from teammind.agents.chat_models import chat_model

        return chat_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

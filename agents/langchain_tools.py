"""teammind's tools as LangChain tools, for teams built with LangGraph: the calculator and sandboxed Python.

Both return text and never raise for bad input (a wrong expression or a
crashing snippet is a result the model reads). `latency_s` adds a fixed delay
per call, so a benchmark can model a slow web tool (Learning to Share's teams
wait seconds per search) with an offline one; the default is none.
"""

from __future__ import annotations

import time

from langchain_core.tools import BaseTool, StructuredTool

from teammind.agents.tools import DEFAULT_TIMEOUT_S, calculate, run_python
from teammind.memory import InvalidFieldError


def _check_latency(latency_s: float) -> float:
    if isinstance(latency_s, bool) or not isinstance(latency_s, (int, float)) or latency_s < 0:
        raise InvalidFieldError("latency_s", f"is {latency_s!r}", "pass seconds per call, >= 0 (0 = no added delay)")
    return float(latency_s)


def calculator_tool(latency_s: float = 0.0) -> BaseTool:
    """`calculator(expression)`: exact arithmetic (+ - * / // % **, sqrt, round, min, max, ...), never `eval`."""
    delay = _check_latency(latency_s)

    def calculator(expression: str) -> str:
        """Evaluate an arithmetic expression such as '(12 + 30) * 4 / 7' and return the result."""
        if delay:
            time.sleep(delay)
        return calculate(expression)

    return StructuredTool.from_function(calculator)


def python_tool(latency_s: float = 0.0, timeout_s: float = DEFAULT_TIMEOUT_S) -> BaseTool:
    """`python(code)`: runs a snippet in a separate, resource-limited process without network; returns its output."""
    delay = _check_latency(latency_s)

    def python(code: str) -> str:
        """Run Python code in a sandbox and return what it prints (use print for results)."""
        if delay:
            time.sleep(delay)
        return run_python(code, timeout_s=timeout_s).text()

    return StructuredTool.from_function(python)


def with_latency(tool: BaseTool, latency_s: float) -> BaseTool:
    """The same tool with `latency_s` added before every call (sync and async)."""
    delay = _check_latency(latency_s)
    if not delay:
        return tool

    def run(**kwargs: object) -> object:
        time.sleep(delay)
        return tool.invoke(kwargs)

    async def arun(**kwargs: object) -> object:
        import asyncio

        await asyncio.sleep(delay)
        return await tool.ainvoke(kwargs)

    return StructuredTool(name=tool.name, description=tool.description, args_schema=tool.args_schema, func=run, coroutine=arun)


__all__ = ["calculator_tool", "python_tool", "with_latency"]

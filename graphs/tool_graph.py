"""A scripted (LLM-free) team as a LangGraph graph over shared tools: plan -> act (one tool call) -> ... -> answer.

A `Solver` reads the question, names the next tool call from what the team
knows so far, folds each reply into its facts and answers. The graph calls the
tools that `memory.share(...)` wrapped, so sharing, in-flight waiting and
admission happen exactly as for an LLM team, and it records each call as an AI
tool call and a tool message, so its final state reads like a ReAct team's.

With `recall`, before a call the solver may name a search of the shared memory
(`memory.tools()`): an entry whose key shows another team already learned the
fact (possibly through a different call) is read instead of making the call.
That is how a team uses another team's intermediate result that no identical
call would have served.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from teammind.agents.memory_tools import quoted_entries
from teammind.agents.team_memory import TeamMemory
from teammind.graphs.parallel_teams import task_text

_WRITTEN_BY_RE = re.compile(r"(?P<key>.*) \(written by (?P<team>[^)]*)\)$", re.DOTALL)


@dataclass(frozen=True)
class Call:
    """One tool call a solver wants: the tool's name and its arguments."""

    tool: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recall:
    """A search of the shared memory before a call: the query, and which entry keys hold a fact the team needs.

    match: an entry key -> the call whose result that entry holds (its value is
    then absorbed as that call's reply), or None when the entry does not help.
    """

    query: str
    match: Callable[[str], Call | None]


class Solver(Protocol):
    """How a scripted team solves one kind of question; facts are plain data (the graph's state)."""

    def plan(self, question: str, rank: int) -> dict[str, Any] | None:
        """The question, parsed (None: this solver cannot read it). `rank` lets teams order their work differently."""

    def next_call(self, plan: dict[str, Any], facts: dict[str, Any]) -> Call | None:
        """The next tool call, or None when the team can answer."""

    def recall(self, plan: dict[str, Any], facts: dict[str, Any], call: Call) -> Recall | None:
        """A shared-memory search that may make `call` unnecessary (None: just call)."""

    def absorb(self, plan: dict[str, Any], facts: dict[str, Any], call: Call, reply: str) -> dict[str, Any]:
        """The facts after `call` replied `reply` (a new dict)."""

    def answer(self, plan: dict[str, Any], facts: dict[str, Any]) -> str:
        """The final answer from the facts."""


class ScriptedState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    plan: dict[str, Any] | None
    facts: dict[str, Any]


def entry_call(key: str) -> tuple[str, str]:
    """(tool name, the result's first line) of a shared entry's key `tool(args) -> first line`; ("", "") otherwise."""
    call, arrow, first = key.partition(" -> ")
    tool = call.split("(", 1)[0] if "(" in call else ""
    return (tool, first.strip()) if arrow and tool.isidentifier() else ("", "")


def search_hits(reply: str, team: str) -> list[tuple[str, str]]:
    """(entry id, key) of a `search_shared_memory` reply, leaving out the entries `team` wrote itself."""
    hits = [(label, _WRITTEN_BY_RE.match(text)) for label, text in quoted_entries(reply)]
    return [(label, m["key"]) for label, m in hits if m is not None and m["team"] != team]


def scripted_graph(memory: TeamMemory, solver: Solver, tools: Sequence[BaseTool], *, recall: bool = True, name: str = "scripted") -> Any:
    """A compiled graph that solves with `solver`, calling `tools` through `memory.share` (and reading the bank with `recall`)."""
    shared = {t.name: t for t in memory.share(tools)}
    bank_tools = {t.name: t for t in memory.tools()} if recall else {}
    search, read = bank_tools.get("search_shared_memory"), bank_tools.get("read_shared_memory")

    def plan(state: ScriptedState) -> dict[str, Any]:
        return {"plan": solver.plan(task_text(state), memory.rank), "facts": {}}

    def act(state: ScriptedState, config: RunnableConfig) -> dict[str, Any]:
        the_plan, facts = state["plan"], state.get("facts", {})
        assert the_plan is not None
        call = solver.next_call(the_plan, facts)
        assert call is not None
        messages: list[AnyMessage] = []
        turn = len(state.get("messages", []))
        wanted = solver.recall(the_plan, facts, call) if search is not None and read is not None else None
        if wanted is not None:
            found = _tool_turn(messages, turn, search, {"query": wanted.query}, config)
            for entry_id, key in search_hits(found, memory.team):
                held = wanted.match(key)
                if held is not None:
                    value = _tool_turn(messages, turn, read, {"id": entry_id}, config)
                    return {"facts": solver.absorb(the_plan, facts, held, value), "messages": messages}
        if call.tool not in shared:
            raise KeyError(f"{name}: the solver asked for tool {call.tool!r}; the team has {', '.join(sorted(shared))}")
        reply = _tool_turn(messages, turn, shared[call.tool], call.args, config)
        return {"facts": solver.absorb(the_plan, facts, call, reply), "messages": messages}

    def answer(state: ScriptedState) -> dict[str, Any]:
        the_plan = state.get("plan")
        text = solver.answer(the_plan, state.get("facts", {})) if the_plan is not None else "I cannot read this question."
        return {"messages": [AIMessage(content=text)]}

    def route(state: ScriptedState) -> str:
        the_plan = state.get("plan")
        return "act" if the_plan is not None and solver.next_call(the_plan, state.get("facts", {})) is not None else "answer"

    graph = StateGraph(ScriptedState)
    graph.add_node("plan", plan)
    graph.add_node("act", act)
    graph.add_node("answer", answer)
    graph.add_edge(START, "plan")
    graph.add_conditional_edges("plan", route, ["act", "answer"])
    graph.add_conditional_edges("act", route, ["act", "answer"])
    graph.add_edge("answer", END)
    return graph.compile(name=name)


def _tool_turn(messages: list[AnyMessage], turn: int, tool: BaseTool, args: dict[str, Any], config: RunnableConfig) -> str:
    """Invoke `tool` (its callbacks see the call) and record the turn as an AI tool call plus the tool's reply."""
    call_id = f"call-{turn + len(messages)}"
    messages.append(AIMessage(content="", tool_calls=[{"name": tool.name, "args": dict(args), "id": call_id, "type": "tool_call"}]))
    reply = tool.invoke(dict(args), config=config)
    text = reply if isinstance(reply, str) else str(getattr(reply, "content", reply))
    messages.append(ToolMessage(content=text, tool_call_id=call_id, name=tool.name))
    return text


__all__ = ["Call", "Recall", "ScriptedState", "Solver", "entry_call", "scripted_graph", "search_hits"]

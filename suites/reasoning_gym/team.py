"""Scripted teams (no LLM) for reasoning-gym over shared tools: arithmetic with the calculator, arc_1d with sandboxed Python.

    teammind run --team teammind.suites.reasoning_gym.team:scripted_team --tasks teammind.suites.reasoning_gym.tasks:load_tasks:dataset=chain_sum,n=5
    teammind run --team teammind.suites.reasoning_gym.team:arc_team --tasks teammind.suites.reasoning_gym.tasks:load_tasks:dataset=arc_1d,n=5

The team parses the question's expression into a tree of binary operations
and asks the calculator for one operation at a time, each on two numbers it
already has; the last one is the answer. A chain of additions and
subtractions is regrouped pairwise (a - b - c + d = (a - b) - (c - d)), so
its pairs are independent sub-results. Teams differ by rank in which ready
sub-result they compute first, so K teams start on different pairs and then
need the ones the others computed: the calls are the same text in every team,
which is what shared memory serves. With `recall`, a team searches the bank
for a sub-result before computing it (a read of another team's entry).

The arc_1d team (`arc_team`) tests hypotheses of the scripted solver's library
(`teammind.suites.reasoning_gym.scripted.HYPOTHESES`) with the `python` tool,
one program per hypothesis, and answers the prediction of the first that
passes on the examples; it never sees the expected answer. Team r of K tests
the library's hypotheses r, r + K, ... so that K teams cover K times as many
within their step budget (`memory.max_steps` tests). Past experiences
(`memory.experiences`, best first) are hints, data only: the best-ranked
success whose plan tested a known hypothesis names the hypothesis team 0
tests first (the other teams leave it to team 0 and keep their share, so a
wrong hint costs the K teams one test, not K), and team 0 reports that
experience as used when it tests it.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from teammind.agents.langchain_tools import calculator_tool, python_tool
from teammind.agents.team_memory import TeamMemory
from teammind.suites.options import as_bool, as_seconds
from teammind.graphs.tool_graph import Call, Recall, entry_call, scripted_graph
from teammind.suites.countries.tools import unquote
from teammind.suites.reasoning_gym.scripted import (
    BY_NAME,
    PASS_OUTPUT_RE,
    SOLVER_ORDERS,
    arithmetic_expression,
    experience_hint,
    library_order,
    parse_arc,
    program,
    puzzle_id,
)

_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}


class ExpressionError(ValueError):
    """The question's expression is not plain arithmetic on numbers."""


def negate(number: str) -> str:
    """A number's text with the opposite sign ('-5' <-> '5'; '0' stays)."""
    if number.startswith("-"):
        return number[1:]
    return number if number in ("0", "0.0") else f"-{number}"


def parse_tree(expression: str) -> dict[str, dict[str, Any]]:
    """The expression as nodes "n0".."nK" (the root is the last): {"num"}, {"neg": child} or {"op", "left", "right"}.

    Additions and subtractions in a row become one chain of signed terms,
    regrouped pairwise into a balanced tree of independent sub-results.
    """
    try:
        root = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError as err:
        raise ExpressionError(f"not an arithmetic expression: {expression!r} ({err.msg})") from None
    nodes: dict[str, dict[str, Any]] = {}

    def add(node: dict[str, Any]) -> str:
        name = f"n{len(nodes)}"
        nodes[name] = node
        return name

    def terms(node: ast.expr, sign: int) -> list[tuple[int, ast.expr]]:
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            right = 1 if isinstance(node.op, ast.Add) else -1
            return terms(node.left, sign) + [(sign * right, node.right)]
        return [(sign, node)]

    def build(node: ast.expr) -> str:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return add({"num": str(node.value)})
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd):
            return build(node.operand)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            if isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float)):
                return add({"num": negate(str(node.operand.value))})
            return add({"neg": build(node.operand)})
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            level = [(sign, build(term)) for sign, term in terms(node, 1)]
            while len(level) > 1:
                paired = []
                for i in range(0, len(level) - 1, 2):
                    (s1, a), (s2, b) = level[i], level[i + 1]
                    # s1*a + s2*b = s1 * (a + (s1*s2)*b)
                    paired.append((s1, add({"op": "+" if s1 == s2 else "-", "left": a, "right": b})))
                if len(level) % 2:
                    paired.append(level[-1])
                level = paired
            sign, name = level[0]
            return name if sign > 0 else add({"neg": name})
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return add({"op": _OPS[type(node.op)], "left": build(node.left), "right": build(node.right)})
        raise ExpressionError(f"{ast.unparse(node)!r} is not plain arithmetic (numbers, + - * / and parentheses)")

    build(root)
    return nodes


def operation_text(op: str, left: str, right: str) -> str:
    """The calculator expression for one operation: 'a - b' rather than 'a + -b'."""
    if op in "+-" and right.startswith("-"):
        return f"{left} {'-' if op == '+' else '+'} {right[1:]}"
    return f"{left} {op} {right}"


class ArithmeticSolver:
    """Solves arithmetic questions one calculator call per operation (see `tool_graph.Solver`); facts: node -> value."""

    def plan(self, question: str, rank: int) -> dict[str, Any] | None:
        expression = arithmetic_expression(question)
        if expression is None:
            return None
        try:
            nodes = parse_tree(expression)
        except ExpressionError:
            return None
        return {"nodes": nodes, "root": f"n{len(nodes) - 1}", "rank": rank}

    def _values(self, plan: dict[str, Any], facts: dict[str, Any]) -> dict[str, str]:
        """Every node's value known so far: numbers, computed operations, and negations of known values."""
        values = {name: node["num"] for name, node in plan["nodes"].items() if "num" in node}
        values.update(facts.get("values", {}))
        for name, node in plan["nodes"].items():  # children come before parents, so one pass suffices
            if "neg" in node and node["neg"] in values:
                values[name] = negate(values[node["neg"]])
        return values

    def _ready(self, plan: dict[str, Any], facts: dict[str, Any]) -> list[Call]:
        values = self._values(plan, facts)
        return [Call("calculator", {"expression": operation_text(node["op"], values[node["left"]], values[node["right"]])})
                for name, node in plan["nodes"].items()
                if "op" in node and name not in values and node["left"] in values and node["right"] in values]

    def next_call(self, plan: dict[str, Any], facts: dict[str, Any]) -> Call | None:
        if "error" in facts:
            return None
        ready = self._ready(plan, facts)
        return ready[plan["rank"] % len(ready)] if ready else None

    def recall(self, plan: dict[str, Any], facts: dict[str, Any], call: Call) -> Recall | None:
        expression = call.args["expression"]

        def match(key: str) -> Call | None:
            tool, _ = entry_call(key)
            return call if tool == "calculator" and key.startswith(f"calculator(expression={expression!r})") else None

        return Recall(query=f"calculator {expression}", match=match)

    def absorb(self, plan: dict[str, Any], facts: dict[str, Any], call: Call, reply: str) -> dict[str, Any]:
        result = unquote(reply)
        if result.startswith("error"):
            return {**facts, "error": result}
        values = self._values(plan, facts)
        solved = {name for name, node in plan["nodes"].items() if "op" in node and name not in values and node["left"] in values
                  and node["right"] in values
                  and operation_text(node["op"], values[node["left"]], values[node["right"]]) == call.args["expression"]}
        return {**facts, "values": {**facts.get("values", {}), **{name: result for name in solved}}}

    def answer(self, plan: dict[str, Any], facts: dict[str, Any]) -> str:
        if "error" in facts:
            return f"I cannot answer: the calculator said {facts['error']}"
        return self._values(plan, facts).get(plan["root"], "I could not finish the calculation.")


_TESTED_RE = re.compile(r"#\s*hypothesis:\s*([a-z0-9_]{1,60})", re.IGNORECASE)


def hypothesis_tested(call: str) -> str | None:
    """The known hypothesis a python call (its code, or its text in a plan) tests, from its `# hypothesis: <name>` line."""
    m = _TESTED_RE.search(call[:400]) if isinstance(call, str) else None
    return m.group(1) if m and m.group(1) in BY_NAME else None


class ArcSolver:
    """Solves arc_1d puzzles by testing the library's hypotheses with python (see the module doc); facts: tested, passed."""

    def __init__(self, memory: TeamMemory, order: str = "library") -> None:
        if order not in SOLVER_ORDERS:
            raise ValueError(f"order: {order!r} is not one of {', '.join(SOLVER_ORDERS)}")
        self.memory = memory
        self.order = order

    def plan(self, question: str, rank: int) -> dict[str, Any] | None:
        arc = parse_arc(question)
        if arc is None:
            return None
        library = library_order(puzzle_id(question), self.order)  # the same for every team
        k = max(1, self.memory.n_teams)
        mine = library[rank % k::k] + [n for i, n in enumerate(library) if i % k != rank % k]
        hint = experience_hint(self.memory.experiences, hypothesis_tested)
        if hint is not None:  # team 0 tests the hint first; the others leave it to team 0 and keep their share
            mine = [n for n in mine if n != hint[0]]
            if rank % k == 0:
                mine.insert(0, hint[0])
        return {"train": [[list(i), list(o)] for i, o in arc[0]], "test": list(arc[1]), "order": mine,
                "hint": list(hint) if hint is not None else None, "budget": max(1, self.memory.max_steps)}

    def next_call(self, plan: dict[str, Any], facts: dict[str, Any]) -> Call | None:
        tested = facts.get("tested", [])
        if facts.get("passed") or len(tested) >= plan["budget"]:
            return None
        name = next((n for n in plan["order"] if n not in tested), None)
        if name is None:
            return None
        return Call("python", {"code": program(BY_NAME[name], [(i, o) for i, o in plan["train"]], plan["test"])})

    def recall(self, plan: dict[str, Any], facts: dict[str, Any], call: Call) -> Recall | None:
        return None

    def absorb(self, plan: dict[str, Any], facts: dict[str, Any], call: Call, reply: str) -> dict[str, Any]:
        name = hypothesis_tested(call.args["code"])
        assert name is not None
        if plan["hint"] is not None and plan["hint"][0] == name:
            self.memory.use_experience(plan["hint"][1])
        m = PASS_OUTPUT_RE.search(unquote(reply))
        passed = dict(facts.get("passed", {}))
        if m:
            passed[name] = " ".join(m.group(1).split())
        return {"tested": [*facts.get("tested", []), name], "passed": passed}

    def answer(self, plan: dict[str, Any], facts: dict[str, Any]) -> str:
        passed = facts.get("passed", {})
        if passed:
            return next(iter(passed.values()))
        return " ".join(str(x) for x in plan["test"])  # no hypothesis fits: the test input unchanged, a guess


def arc_team(memory: TeamMemory, latency_s: float | str = 0.0, order: str = "library") -> Any:
    """`make_team(memory)`: the scripted arc_1d team over the shared python tool (`latency_s` per call, `order` of hypotheses)."""
    return scripted_graph(memory, ArcSolver(memory, order), [python_tool(as_seconds("latency_s", latency_s))], recall=False,
                          name=f"arc-{memory.team}")


def scripted_team(memory: TeamMemory, latency_s: float | str = 0.0, recall: bool | str = False) -> Any:
    """`make_team(memory)`: the scripted arithmetic team over the shared calculator (`latency_s` per call).

    `recall` is off by default: every sub-result it needs is an identical calculator call, which `memory.share` already serves.
    """
    return scripted_graph(memory, ArithmeticSolver(), [calculator_tool(as_seconds("latency_s", latency_s))],
                          recall=as_bool("recall", recall), name=f"arithmetic-{memory.team}")


__all__ = ["ArcSolver", "ArithmeticSolver", "arc_team", "hypothesis_tested", "ExpressionError", "negate", "operation_text", "parse_tree", "scripted_team"]

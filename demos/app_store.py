"""An ordinary LangGraph app with teammind memory: a tool-using math assistant over reasoning-gym tasks.

It is a plain `StateGraph` (not teammind's parallel-teams graph) compiled with
`BankStore`, and it touches memory only through LangGraph's store API:

    recall     store.search the user's namespace for similar past tasks; quote
               them in the prompt as UNTRUSTED data
    answer     one LLM call: JSON {"notes", "expression"}
    calculate  the tool step: evaluate the expression safely (ast, numbers only)
    grade      the dataset's own `score_answer`
    feedback   store.record_outcome(+1 / -1) on the items recall used, so the
               Q-weighted rerank learns which memories lead to right answers
    remember   store.put the task, the work, the answer and whether it was right

Each run is one session; a second run on the same `--bank` sees the first's
memories (and their learned Q).

    python demos/app_store.py --tasks 5 --dataset gsm_symbolic --bank ./app-bank --llm embedded --seed 0 --json s1.json
    python demos/app_store.py --tasks 5 --dataset gsm_symbolic --bank ./app-bank --llm embedded --seed 1 --json s2.json

(also `teammind app ...`). The lines a user adds to their own graph are
marked `# teammind` below; docs/embedding.md walks through them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from teammind.agents.memory_tools import quote_untrusted  # teammind
from teammind.memory import BankStore  # teammind
from teammind.memory.errors import InvalidFieldError, MemoryBankError
from teammind.agents.tools import evaluate, format_number

if TYPE_CHECKING:  # langgraph.graph is imported where the graph is built: `teammind --help` stays fast
    from langgraph.runtime import Runtime

SYSTEM = (
    "You solve math problems. Write the whole calculation as one arithmetic expression of numbers, "
    "+ - * / and parentheses; a calculator evaluates it. Reply with JSON only."
)
# one worked example: a 135M model copies a shape it is shown far better than one it is told
EXAMPLE = [
    {"role": "user", "content": "Problem: Tom has 3 bags with 4 apples in each bag. He eats 2 apples. How many apples does Tom have left?"},
    {"role": "assistant", "content": json.dumps({"notes": "3 bags of 4 apples is 3*4, then he eats 2", "expression": "3*4-2"})},
]
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"notes": {"type": "string"}, "expression": {"type": "string"}},
    "required": ["notes", "expression"],
}
RECALL_LIMIT = 3
MAX_ANSWER_TOKENS = 160


# --------------------------------------------------------------------------- the calculator tool

def _normalise(expression: str) -> str:
    """What small models write around arithmetic: 1,820 / $5 / 30% / 3 x 4 / 2^3 / trailing '='."""
    text = expression.strip().rstrip("=").replace("×", "*").replace("÷", "/").replace("^", "**").replace("$", "")
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = re.sub(r"(\d+(?:\.\d+)?)\s*%", r"(\1/100)", text)
    return re.sub(r"(?<=[\d)\s])x(?=[\s\d(])", "*", text)


def calculate(expression: str) -> float:
    """The value of what a small model wrote as arithmetic (`teammind.agents.tools.evaluate` after `_normalise`); ValueError otherwise."""
    value = evaluate(_normalise(expression if isinstance(expression, str) else ""))
    try:
        return float(value)
    except OverflowError as err:
        raise ValueError(f"{expression!r} is too large") from err


def last_number(text: str) -> str:
    found = re.findall(r"-?\d+(?:\.\d+)?", (text or "").replace(",", ""))
    return found[-1] if found else ""


_ARITHMETIC_RUN = re.compile(r"[-(\d][\d\s.,+\-*/()x%^×÷]*")


def tool_answer(expression: str, raw: str = "") -> tuple[str, str]:
    """(answer, how): the calculator on the expression, else on the first arithmetic run in it, else its last number."""
    try:
        return format_number(calculate(expression)), "calculate"
    except ValueError:
        pass
    for run in _ARITHMETIC_RUN.findall(expression or ""):
        if re.search(r"\d\s*[-+*/x×÷^]\s*[\d(]", run):
            try:
                return format_number(calculate(run)), "calculate (part)"
            except ValueError:
                continue
    return last_number(expression or raw), "last number"


# --------------------------------------------------------------------------- the graph


class State(TypedDict, total=False):
    index: int
    question: str
    recalled: list[dict[str, Any]]  # the memory items recall used: namespace, key, score, and what they said
    memory: str  # the quoted (untrusted) memory block of the prompt
    notes: str
    expression: str
    raw: str
    answer: str
    tool: str  # how the answer came out of the expression (see tool_answer)
    score: float
    correct: bool
    prompt_tokens: int
    completion_tokens: int
    q_after: dict[str, float]
    key: str


@dataclass
class AppContext:
    """What the nodes need besides the state (LangGraph runtime context)."""

    llm: Any  # agents.llm.LLMClient or anything with its `chat`
    dataset: Any  # a reasoning_gym dataset: ds[i], ds.score_answer(answer, entry)
    user: str
    session: str
    dataset_name: str = ""
    limit: int = RECALL_LIMIT


def recall(state: State, runtime: Runtime[AppContext]) -> dict[str, Any]:
    ctx = runtime.context
    hits = runtime.store.search(("users", ctx.user), query=state["question"], limit=ctx.limit)  # teammind
    memory = quote_untrusted([(h.key, describe(h.value)) for h in hits])  # teammind
    recalled = [{**h.value, "namespace": list(h.namespace), "key": h.key, "score": h.score} for h in hits]  # teammind
    return {"recalled": recalled, "memory": memory}


def describe(value: dict[str, Any]) -> str:
    """One remembered task as prompt text (it is quoted as untrusted data)."""
    verdict = "graded CORRECT" if value.get("correct") else "graded WRONG"
    return (f"Past problem: {value.get('question', '')}\nNotes: {value.get('notes', '')}\n"
            f"Expression: {value.get('expression', '')}\nAnswer: {value.get('answer', '')} ({verdict})")  # fmt: skip


def answer(state: State, runtime: Runtime[AppContext]) -> dict[str, Any]:
    user = f"Problem: {state['question']}"
    if state.get("memory"):
        user = f"{state['memory']}\n\nSimilar past problems are above; a CORRECT one may show the method.\n\n{user}"
    messages = [{"role": "system", "content": SYSTEM}, *EXAMPLE, {"role": "user", "content": user}]
    reply = runtime.context.llm.chat(messages, json_schema=ANSWER_SCHEMA, max_tokens=MAX_ANSWER_TOKENS)
    try:
        data = json.loads(reply.text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        data = {}
    return {
        "notes": str(data.get("notes", ""))[:500],
        "expression": str(data.get("expression", ""))[:300],
        "raw": reply.text,
        "prompt_tokens": reply.usage.prompt_tokens,
        "completion_tokens": reply.usage.completion_tokens,
    }


def calculate_node(state: State) -> dict[str, Any]:
    answer, how = tool_answer(state.get("expression", ""), state.get("raw", ""))
    return {"answer": answer, "tool": how}


def grade(state: State, runtime: Runtime[AppContext]) -> dict[str, Any]:
    ds = runtime.context.dataset
    try:
        score = float(ds.score_answer(state.get("answer") or None, ds[state["index"]]))
    except Exception:  # noqa: BLE001 - some scorers raise on text they cannot parse: that is a wrong answer
        score = 0.0
    return {"score": score, "correct": score >= 1.0}


def feedback(state: State, runtime: Runtime[AppContext]) -> dict[str, Any]:
    """MemRL: every item recall used moves its Q toward this task's reward (+1 right, -1 wrong)."""
    reward = 1.0 if state["correct"] else -1.0  # teammind
    by_namespace: dict[tuple[str, ...], list[str]] = {}
    for item in state.get("recalled", []):
        by_namespace.setdefault(tuple(item["namespace"]), []).append(item["key"])
    q_after: dict[str, float] = {}
    for ns, keys in by_namespace.items():
        new_q = runtime.store.record_outcome(ns, keys, reward)  # teammind
        q_after.update(new_q)
    return {"q_after": q_after}


def remember(state: State, runtime: Runtime[AppContext]) -> dict[str, Any]:
    ctx = runtime.context
    key = f"{ctx.session}-{ctx.dataset_name}-{state['index']}"
    value = {"question": state["question"], "notes": state.get("notes", ""), "expression": state.get("expression", ""),
             "answer": state.get("answer", ""), "correct": state["correct"], "session": ctx.session}  # fmt: skip
    runtime.store.put(("users", ctx.user, "tasks"), key, value, index=["question"])  # teammind
    return {"key": key}


def build_graph(store: BankStore) -> Any:
    """recall -> answer -> calculate -> grade -> feedback -> remember, compiled over the teammind store."""
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(State, context_schema=AppContext)
    builder.add_node("recall", recall)
    builder.add_node("answer", answer)
    builder.add_node("calculate", calculate_node)
    builder.add_node("grade", grade)
    builder.add_node("feedback", feedback)
    builder.add_node("remember", remember)
    builder.add_edge(START, "recall")
    builder.add_edge("recall", "answer")
    builder.add_edge("answer", "calculate")
    builder.add_edge("calculate", "grade")
    builder.add_edge("grade", "feedback")
    builder.add_edge("feedback", "remember")
    builder.add_edge("remember", END)
    graph = builder.compile(store=store)  # teammind
    return graph


# --------------------------------------------------------------------------- one session


def load_dataset(name: str, size: int, seed: int) -> Any:
    try:
        import reasoning_gym
    except ImportError as err:
        raise InvalidFieldError("--dataset", "needs the reasoning-gym package, which is not installed", "pip install reasoning-gym") from err
    try:
        return reasoning_gym.create_dataset(name, size=size, seed=seed)
    except ValueError as err:  # unknown name
        raise InvalidFieldError("--dataset", f"{name!r}: {err}", "pass a reasoning-gym dataset name, e.g. gsm_symbolic") from err


def run_session(
    store: BankStore, llm: Any, *, dataset: str, tasks: int, seed: int, user: str = "demo", session: str | None = None,
    limit: int = RECALL_LIMIT, on_task: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """Run `tasks` tasks of `dataset` (seed `seed`) through the graph; returns the session summary."""
    ds = load_dataset(dataset, tasks, seed)
    session = session or uuid.uuid4().hex[:8]
    ctx = AppContext(llm=llm, dataset=ds, user=user, session=session, dataset_name=dataset, limit=limit)
    graph = build_graph(store)
    results = []
    start = time.perf_counter()
    for i in range(tasks):
        entry = ds[i]
        out = graph.invoke({"index": i, "question": entry["question"]}, context=ctx)
        row = {
            "index": i, "key": out["key"], "question": entry["question"], "expected": str(entry.get("answer", "")),
            "answer": out.get("answer", ""), "expression": out.get("expression", ""), "tool": out.get("tool", ""),
            "score": out["score"], "correct": out["correct"],
            "recalled": [{"key": r["key"], "namespace": r["namespace"], "session": r.get("session"), "score": r["score"],
                          "correct": r.get("correct"), "q_after": out.get("q_after", {}).get(r["key"])} for r in out.get("recalled", [])],
            "prompt_tokens": out.get("prompt_tokens", 0), "completion_tokens": out.get("completion_tokens", 0),
        }  # fmt: skip
        results.append(row)
        if on_task is not None:
            on_task(row)
    n = len(results)
    return {
        "dataset": dataset, "seed": seed, "tasks": n, "user": user, "session": session,
        "accuracy": sum(r["correct"] for r in results) / n if n else 0.0,
        "correct": sum(r["correct"] for r in results),
        "tasks_with_memory": sum(1 for r in results if r["recalled"]),
        "memory_hits": sum(len(r["recalled"]) for r in results),
        "memory_hits_from_earlier_sessions": sum(1 for r in results for m in r["recalled"] if m["session"] != session),
        "prompt_tokens": sum(r["prompt_tokens"] for r in results),
        "completion_tokens": sum(r["completion_tokens"] for r in results),
        "llm_calls": n,
        "wall_s": round(time.perf_counter() - start, 3),
        "results": results,
    }  # fmt: skip


# --------------------------------------------------------------------------- CLI


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--tasks", type=int, default=5, help="tasks in this session (default 5)")
    p.add_argument("--dataset", default="gsm_symbolic", help="reasoning-gym dataset (default gsm_symbolic)")
    p.add_argument("--seed", type=int, default=0, help="dataset seed: which tasks (default 0)")
    p.add_argument("--bank", required=True, help="bank folder; sessions on the same folder share memory")
    p.add_argument("--llm", default="embedded", help="embedded (local llama.cpp server) or an OpenAI-compatible base URL")
    p.add_argument("--model", default=None, help="model name for --llm URL (default: the server's first model)")
    p.add_argument("--user", default="demo", help="whose memory: items live under ('users', USER) (default demo)")
    p.add_argument("--k", type=int, default=RECALL_LIMIT, help=f"memories recalled per task (default {RECALL_LIMIT})")
    p.add_argument("--json", default=None, help="write the session summary (with per-task results) here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("app", help="a plain LangGraph assistant with teammind memory (demos/app_store.py)")
    add_arguments(p)
    p.set_defaults(func=cmd_app)


def _check(args: argparse.Namespace) -> None:
    if args.tasks < 1:
        raise InvalidFieldError("--tasks", f"is {args.tasks}", "pass a positive number of tasks")
    if args.k < 1:
        raise InvalidFieldError("--k", f"is {args.k}", "recall at least one memory per task")
    if not args.user or not args.user.strip() or "/" in args.user:
        raise InvalidFieldError("--user", f"is {args.user!r}", "pass a non-empty user id without '/'")


def cmd_app(args: argparse.Namespace) -> int:
    """Run one session; an unreachable or failing LLM ends it with exit code 2 and the reason."""
    from teammind.agents.llm import LLMError
    from teammind.agents.llm_server import EmbeddedLLMError

    try:
        return _session_cli(args)
    except (LLMError, EmbeddedLLMError) as err:
        print(f"error: --llm {args.llm}: {err}", file=sys.stderr)
        return 2


def _session_cli(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from teammind.agents.llm import LLMClient
    from teammind.agents.llm_server import ensure_llm

    _check(args)
    load_dataset(args.dataset, 1, args.seed)  # a bad name fails before the model starts
    llm_config = ensure_llm(args.llm, model=args.model)  # and a bad --llm before the bank folder is created
    store = BankStore(path=args.bank)  # teammind
    try:
        with LLMClient(llm_config) as llm, tqdm(total=args.tasks, desc="tasks", unit="task", disable=True if args.quiet else None) as bar:

            def on_task(row: dict[str, Any]) -> None:
                used = ", ".join(f"{m['key']}({'right' if m['correct'] else 'wrong'})" for m in row["recalled"]) or "-"
                tqdm.write(f"task {row['index']}: {'RIGHT' if row['correct'] else 'wrong'}  answer={row['answer'] or '?'} "
                           f"expected={row['expected']}  recalled: {used}", file=sys.stdout)  # fmt: skip
                bar.update(1)

            summary = run_session(store, llm, dataset=args.dataset, tasks=args.tasks, seed=args.seed, user=args.user, limit=args.k,
                                  on_task=on_task)  # fmt: skip
    finally:
        store.close()
    summary["bank"] = args.bank
    summary["llm"] = args.llm
    print(f"session {summary['session']} ({args.dataset}, seed {args.seed}, user {args.user}): "
          f"accuracy {summary['accuracy']:.2f} ({summary['correct']}/{summary['tasks']}), "
          f"memory hits {summary['memory_hits']} in {summary['tasks_with_memory']} tasks "
          f"({summary['memory_hits_from_earlier_sessions']} from earlier sessions), "
          f"tokens {summary['prompt_tokens']} prompt + {summary['completion_tokens']} completion, {summary['wall_s']:.1f}s")  # fmt: skip
    if args.json:
        from teammind.memory.files import atomic_write_text

        atomic_write_text(args.json, json.dumps(summary, indent=2))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="app_store", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return cmd_app(args)
    except (MemoryBankError, ValueError) as err:  # what `teammind` itself catches (demos/cli.py)
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

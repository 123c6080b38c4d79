"""Any LangGraph graph as K parallel teams over one shared bank: `ParallelTeams`.

    dispatch --Send x K--> team (the user's graph, on the same input) --> aggregate

`make_team(memory)` is called once per team and run; `memory` (a `TeamMemory`)
is how the team reaches the bank: `memory.share(tools)` shares tool results
through admission, `memory.tools()` searches and reads the bank. The K graphs
run concurrently (LangGraph runs a superstep's `Send` tasks in threads, or as
tasks under `ainvoke`) over one task namespace. Teams run freely rather than in
lock-step rounds: a result admitted by one team answers the same call of
another at once, and a call in flight in one team is awaited by the others.

The aggregator picks the answer: `first` (the first team to finish with a
passing grade, or simply first without a grader; the other teams stop at their
next model or tool call and keep what they admitted), `majority` (vote over
normalised answers), `best` (highest grade), `llm` (a judge chat model), or a
callable over the team outputs.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import or_
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableLambda
from langgraph.errors import GraphRecursionError
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from teammind.agents.base import LLMUsage
from teammind.agents.memory_tools import ExperienceHit, quote_untrusted
from teammind.agents.team_memory import RunControl, SharedCalls, TeamCall, TeamCounts, TeamMemory, TeamStopped
from teammind.graphs.episode import AdmissionRecord, EpisodeRecord, StepRecord
from teammind.graphs.experience import ExperienceSource, task_intent
from teammind.graphs.tasks import Grader, Task, as_task
from teammind.graphs.team_callbacks import TeamCallbacks
from teammind.graphs.trace import TraceWriter
from teammind.memory import AdmissionPolicy, InvalidFieldError, MemoryBank, RetrievalConfig, make_policy

AGGREGATORS = ("first", "majority", "best", "llm")
DEFAULT_RECURSION_LIMIT = 40  # LangGraph steps per team: a ReAct team takes two per tool round
TeamFactory = Callable[[TeamMemory], Any]


@dataclass
class TeamOutput:
    """What one team did: its final state, its answer and grade, why it ended, and what it cost."""

    team: str
    output: Any = None  # the team graph's final state (None if it failed or was stopped)
    answer: str | None = None
    score: float | None = None  # the grade of the answer (None without a grader)
    passed: bool = False
    error: str | None = None
    stopped: bool = False  # stopped by the aggregator before it finished
    finish_order: int | None = None  # 0 for the first team to finish, ...
    wall_s: float = 0.0
    usage: LLMUsage = field(default_factory=LLMUsage)
    counts: TeamCounts = field(default_factory=TeamCounts)
    calls: list[TeamCall] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.error is None and not self.stopped and self.output is not None

    def to_summary(self) -> dict[str, Any]:
        return {
            "steps": len(self.calls), "success": self.passed, "score": self.score, "error": self.error, "done": self.finished or self.error is not None,
            "stopped": self.stopped, "finish_order": self.finish_order, "answer": self.answer, "wall_s": round(self.wall_s, 3), "usage": self.usage.to_dict(), **self.counts.to_dict(),
        }


@dataclass
class TeamsResult:
    """The outcome of one `ParallelTeams` run."""

    answer: str | None
    team: str | None  # the team whose answer was chosen
    outputs: dict[str, Any]  # team -> its graph's final state
    summary: dict[str, Any]  # the keys of `teammind run --json`, plus tool_calls and tool_calls_shared
    teams: dict[str, TeamOutput]
    record: EpisodeRecord  # the typed episode record (what trainers learn from)


def last_ai_text(state: Any) -> str:
    """The default answer: the text of the last AI message of the team's final state."""
    messages = state.get("messages") if isinstance(state, dict) else getattr(state, "messages", None)
    for message in reversed(messages or []):
        if isinstance(message, AIMessage) and not message.tool_calls:
            return message.text if isinstance(message.text, str) else str(message.content)
    for message in reversed(messages or []):
        if isinstance(message, AIMessage):
            return message.text if isinstance(message.text, str) else str(message.content)
    return "" if messages is not None else str(state)


def normalise_answer(answer: str) -> str:
    """For the majority vote: case, spacing and trailing punctuation do not split votes."""
    return re.sub(r"\s+", " ", answer.strip().lower()).rstrip(" .!")


def task_text(inputs: Any) -> str:
    """The task of an input: a string, or the first human message of a `messages` input."""
    if isinstance(inputs, str):
        return inputs
    messages = inputs.get("messages") if isinstance(inputs, dict) else None
    for message in messages or []:
        if isinstance(message, HumanMessage):
            return message.text if isinstance(message.text, str) else str(message.content)
        if isinstance(message, tuple) and len(message) == 2 and message[0] in ("user", "human"):
            return str(message[1])
        if isinstance(message, dict) and message.get("role") in ("user", "human"):
            return str(message.get("content", ""))
        if isinstance(message, str):
            return message
    return ""


def _slug(text: str, limit: int = 32) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit] or "task"


class ParallelTeams:
    """K teams of any LangGraph graph (or LangChain runnable) on one task over one shared bank.

    make_team: `make_team(memory) -> graph`, called once per team and run;
        `memory.team` is the team id, `memory.rank` its index (vary prompts,
        temperatures or models with it so that K teams explore K ways).
    k: how many teams (Learning to Share: 3).
    bank: the shared bank; None with admission "none" (no shared memory).
    admission: "none", "all", "novelty[:T]", "learned:PATH", or a policy.
    aggregator: "first", "majority", "best", "llm" (needs `judge`), or a
        callable `(outputs: list[TeamOutput]) -> team id`.
    grade: `grade(answer) -> float | bool`; an answer passes at >= pass_score.
    answer: `answer(final_state) -> str` (default: the last AI message's text).
    judge: a chat model for the llm aggregator.
    recursion_limit: LangGraph steps per team graph.
    trace: a JSONL file that receives the episode record of every run.
    sample_admission: sample admission decisions (training, temperature 1.2) instead of the argmax;
        seeded by `sample_seed`, the team and the call index.
    experiences: past runs' experiences (MemRL), retrieved once when a run starts under the task's
        first words and handed to every team as `memory.experiences`; the summary then has `intent`,
        `experiences_retrieved` and `experiences_used`, which `teammind.rl.q_learner.learn_from_episode`
        turns into Q updates and the write-back of this run.
    """

    def __init__(
        self,
        make_team: TeamFactory,
        k: int = 3,
        *,
        bank: MemoryBank | None = None,
        admission: str | AdmissionPolicy | None = "all",
        aggregator: str | Callable[[list[TeamOutput]], str] = "first",
        grade: Grader | None = None,
        answer: Callable[[Any], str] = last_ai_text,
        judge: Any = None,
        retrieval: RetrievalConfig | None = None,
        tenant: str = "teammind",
        pass_score: float = 1.0,
        recursion_limit: int = DEFAULT_RECURSION_LIMIT,
        max_steps: int = 30,
        trace: str | Path | None = None,
        sample_admission: bool = False,
        sample_seed: int = 0,
        experiences: ExperienceSource | None = None,
    ) -> None:
        if not callable(make_team):
            raise InvalidFieldError("make_team", f"is {type(make_team).__name__}", "pass a function memory -> compiled graph")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise InvalidFieldError("k", f"is {k!r}", "pass the number of teams, an integer >= 1")
        if not callable(aggregator) and aggregator not in AGGREGATORS:
            raise InvalidFieldError("aggregator", f"is {aggregator!r}", f"use one of {', '.join(AGGREGATORS)} or a callable")
        if experiences is not None and not isinstance(experiences, ExperienceSource):
            raise InvalidFieldError("experiences", f"is {type(experiences).__name__}", "pass ExperienceSource(bank, namespace), or None")
        if aggregator == "llm" and judge is None:
            raise InvalidFieldError("judge", "missing for aggregator='llm'", "pass judge=<a chat model>, e.g. chat_model('embedded')")
        self.policy = self.resolve_admission(admission)
        if self.policy is not None and bank is None:
            raise InvalidFieldError("bank", f"missing for admission {getattr(self.policy, 'name', admission)!r}",
                                    "pass bank=MemoryBank(...) (or MemoryBank.ephemeral()), or admission='none'")
        self.make_team = make_team
        self.k = k
        self.bank = bank if self.policy is not None else None
        self.aggregator = aggregator
        self.grade = grade
        self.answer = answer
        self.judge = judge
        self.retrieval = retrieval
        self.tenant = tenant
        self.pass_score = float(pass_score)
        self.recursion_limit = recursion_limit
        self.max_steps = max_steps
        self.trace = TraceWriter(trace) if trace else None
        self.sample_admission = bool(sample_admission)
        self.sample_seed = sample_seed
        self.experiences = experiences

    @staticmethod
    def resolve_admission(admission: str | AdmissionPolicy | None) -> AdmissionPolicy | None:
        """An admission word or policy -> the policy (None: no shared memory)."""
        if admission is None or isinstance(admission, AdmissionPolicy):
            return admission
        if not isinstance(admission, str):
            raise InvalidFieldError("admission", f"is {type(admission).__name__}", "pass none, all, novelty[:T], learned:PATH or a policy")
        if admission == "none":
            return None
        if admission == "learned":
            raise InvalidFieldError("admission", "'learned' needs a checkpoint here", "use teammind.ParallelTeams (which knows the shipped "
                                    "policy) or learned:PATH.safetensors")
        return make_policy(admission)

    # -- running -------------------------------------------------------------------------------
    def invoke(self, inputs: Any, *, task: str | None = None, config: dict[str, Any] | None = None) -> TeamsResult:
        """Run the K teams on `inputs` (each team's graph gets the same input) and aggregate their answers."""
        run = self._start(inputs, task)
        state = run.graph.invoke({"outputs": {}}, {**(config or {}), "max_concurrency": self.k})
        return self._finish(run, state["outputs"])

    async def ainvoke(self, inputs: Any, *, task: str | None = None, config: dict[str, Any] | None = None) -> TeamsResult:
        """`invoke` for async apps: the teams run as asyncio tasks."""
        run = self._start(inputs, task)
        state = await run.graph.ainvoke({"outputs": {}}, {**(config or {}), "max_concurrency": self.k})
        return self._finish(run, state["outputs"])

    def run(self, task: Task | str, *, run_id: str | None = None) -> TeamsResult:
        """Run one `Task` (its own grader, if it has one, replaces this object's); `run_id` names its namespace (default random)."""
        task = as_task(task)
        run = self._start(task.input, task.text, task.grade, task.id, run_id)
        state = run.graph.invoke({"outputs": {}}, {"max_concurrency": self.k})
        return self._finish(run, state["outputs"])

    def _start(self, inputs: Any, task: str | None, grade: Grader | None = None, task_id: str = "", run_id: str | None = None) -> "_Run":
        text = task if task is not None else task_text(inputs)
        if not isinstance(text, str) or not text.strip():
            raise InvalidFieldError("task", "is empty and the input has no user message", "pass task='...' (the question the teams work on)")
        if self.aggregator == "best" and (grade or self.grade) is None:
            raise InvalidFieldError("grade", "missing for aggregator='best'", "pass grade=<answer -> float> (or a task with its grader)")
        run_id = run_id or uuid.uuid4().hex[:12]
        namespace = (self.tenant, f"{_slug(text)}-{run_id}")
        control = RunControl()
        calls = SharedCalls()
        intent = task_intent(text) if self.experiences is not None else ""
        experiences = tuple(self.experiences.retrieve(intent)) if self.experiences is not None else ()
        memories = {
            name: TeamMemory(self.bank, namespace, name, self.retrieval, admission=self.policy, task=text, n_teams=self.k,
                             max_steps=self.max_steps, rank=i, calls=calls, control=control, sample=self.sample_admission,
                             seed=self.sample_seed, experiences=experiences)
            for i, name in enumerate(f"team-{i}" for i in range(self.k))
        }
        graphs = {}
        for name, memory in memories.items():
            graph = self.make_team(memory)
            if not hasattr(graph, "invoke"):
                raise InvalidFieldError("make_team", f"returned {type(graph).__name__} for {name}",
                                        "return a compiled LangGraph graph or a LangChain runnable")
            graphs[name] = graph
        run = _Run(run_id=run_id, task=text, namespace=namespace, inputs=inputs, control=control, memories=memories, team_graphs=graphs,
                   started=time.perf_counter(), grade=grade or self.grade, task_id=task_id, intent=intent, experiences=experiences)
        run.graph = self._build_graph(run)
        return run

    def _build_graph(self, run: "_Run") -> Any:
        def dispatch(state: _TeamsState) -> list[Send]:
            return [Send("team", {"team": name}) for name in run.memories]

        def team(payload: dict[str, str]) -> dict[str, Any]:
            name = payload["team"]
            callbacks = TeamCallbacks(name, run.control)
            started = time.perf_counter()
            output, error, stopped = None, None, False
            try:
                output = run.team_graphs[name].invoke(run.inputs, self._team_config(run, name, callbacks))
            except TeamStopped:
                stopped = True
            except GraphRecursionError:
                error = f"recursion limit of {self.recursion_limit} reached without an answer"
            except Exception as err:  # noqa: BLE001 - one team's failure ends that team, not the run
                error = f"{type(err).__name__}: {err}"
            return {"outputs": {name: self._team_output(run, name, callbacks, started, output, error, stopped)}}

        async def ateam(payload: dict[str, str]) -> dict[str, Any]:
            name = payload["team"]
            callbacks = TeamCallbacks(name, run.control)
            started = time.perf_counter()
            output, error, stopped = None, None, False
            try:
                output = await run.team_graphs[name].ainvoke(run.inputs, self._team_config(run, name, callbacks))
            except TeamStopped:
                stopped = True
            except GraphRecursionError:
                error = f"recursion limit of {self.recursion_limit} reached without an answer"
            except Exception as err:  # noqa: BLE001
                error = f"{type(err).__name__}: {err}"
            return {"outputs": {name: self._team_output(run, name, callbacks, started, output, error, stopped)}}

        graph = StateGraph(_TeamsState)
        graph.add_node("team", RunnableLambda(team, afunc=ateam, name="team"))
        graph.add_conditional_edges(START, dispatch, ["team"])
        graph.add_edge("team", END)
        return graph.compile()

    def _team_config(self, run: "_Run", name: str, callbacks: TeamCallbacks) -> dict[str, Any]:
        return {"callbacks": [callbacks], "recursion_limit": self.recursion_limit,
                "configurable": {"thread_id": f"{run.run_id}-{name}"}, "run_name": name}

    def _team_output(self, run: "_Run", name: str, callbacks: TeamCallbacks, started: float, output: Any, error: str | None,
                     stopped: bool) -> TeamOutput:
        """Grade a finished team; under `first`, a passing (or, without a grader, any) answer stops the others."""
        memory = run.memories[name]
        out = TeamOutput(team=name, output=output, error=error, stopped=stopped, wall_s=time.perf_counter() - started,
                         usage=callbacks.usage, counts=memory.counts, calls=sorted(memory.log, key=lambda c: c.index))
        if output is not None:
            try:
                out.answer = self.answer(output)
            except Exception as err:  # noqa: BLE001 - a bad extractor is this team's failure
                out.error, out.output = f"answer: {type(err).__name__}: {err}", None
        if out.answer is not None and run.grade is not None:
            try:
                grade = run.grade(out.answer)
                out.score = float(grade)
            except Exception as err:  # noqa: BLE001
                out.error = f"grade: {type(err).__name__}: {err}"
            else:
                out.passed = out.score >= self.pass_score
        if out.answer is not None and out.error is None:
            with run.lock:
                out.finish_order = run.finished
                run.finished += 1
                if self.aggregator == "first" and (out.passed or run.grade is None):
                    run.control.stop(f"{name} answered first")
        return out

    # -- aggregating ---------------------------------------------------------------------------
    def _finish(self, run: "_Run", outputs: dict[str, TeamOutput]) -> TeamsResult:
        wall = time.perf_counter() - run.started
        teams = {name: outputs[name] for name in sorted(outputs)}
        chosen, judge_usage, note = self._choose(run, list(teams.values()))
        answer = teams[chosen].answer if chosen is not None else None
        record = self._record(run, teams)
        usage = LLMUsage()
        for out in teams.values():
            usage.add(out.usage)
        usage.add(judge_usage)
        read_by_other = {entry_id for name, out in teams.items() for c in out.calls for entry_id, writer in c.read_writers.items()
                         if writer and writer != name}
        grade = teams[chosen].score if chosen is not None else None
        summary: dict[str, Any] = {
            "run_id": run.run_id, "namespace": list(run.namespace), "task": run.task, **({"task_id": run.task_id} if run.task_id else {}),
            "success": (1.0 if chosen is not None and teams[chosen].passed else 0.0) if run.grade is not None else None,
            "score": grade, "answer": answer, "answer_team": chosen,
            "steps": sum(len(t.calls) for t in teams.values()),
            "env_steps": sum(t.counts.tool_calls for t in teams.values()),  # the work that touched the world: executed calls
            "llm_calls": usage.calls, "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
            "wall_s": round(wall, 3),
            "proposed": sum(t.counts.proposed for t in teams.values()), "admitted": sum(t.counts.admitted for t in teams.values()),
            "read_by_other": len(read_by_other), "reads": sum(t.counts.reads for t in teams.values()),
            "tool_calls": sum(t.counts.tool_calls for t in teams.values()),
            "tool_calls_shared": sum(t.counts.tool_calls_shared for t in teams.values()),
            "admission": self.policy.name if self.policy is not None else "none",
            "aggregator": self.aggregator if isinstance(self.aggregator, str) else getattr(self.aggregator, "__name__", "callable"),
            "teams": {name: out.to_summary() for name, out in teams.items()},
            "actions": {name: [c.call for c in out.calls] for name, out in teams.items()},
            **({"intent": run.intent, "experiences_retrieved": [e.id for e in run.experiences],
                "experiences_used": sorted({e for m in run.memories.values() for e in m.experiences_used})} if self.experiences is not None else {}),
            **({"aggregator_note": note} if note else {}),
        }
        record = EpisodeRecord(steps=record.steps, summary=summary)
        if self.trace is not None:
            self.trace.write([s.to_dict() for s in record.steps] + [{"type": "summary", **summary}])
        return TeamsResult(answer=answer, team=chosen, outputs={n: o.output for n, o in teams.items()}, summary=summary, teams=teams,
                           record=record)

    def _choose(self, run: "_Run", outputs: list[TeamOutput]) -> tuple[str | None, LLMUsage, str | None]:
        """(the chosen team, what the judge cost, a note when the judge failed)."""
        answered = sorted((o for o in outputs if o.answer is not None and o.error is None), key=lambda o: o.finish_order or 0)
        if not answered:
            return None, LLMUsage(), None
        if callable(self.aggregator):
            chosen = self.aggregator(outputs)
            if chosen not in {o.team for o in outputs}:
                raise InvalidFieldError("aggregator", f"returned {chosen!r}", "return the id of one of the teams (TeamOutput.team)")
            return chosen, LLMUsage(), None
        if self.aggregator == "first":
            passing = [o for o in answered if o.passed] if run.grade is not None else answered
            return (passing or answered)[0].team, LLMUsage(), None
        if self.aggregator == "best":
            return max(answered, key=lambda o: (o.score or 0.0, -(o.finish_order or 0))).team, LLMUsage(), None
        if self.aggregator == "majority":
            votes = Counter(normalise_answer(o.answer or "") for o in answered)
            top = max(votes.values())
            return next(o.team for o in answered if votes[normalise_answer(o.answer or "")] == top), LLMUsage(), None
        return self._judge(run, answered)

    def _judge(self, run: "_Run", answered: list[TeamOutput]) -> tuple[str, LLMUsage, str | None]:
        """Ask the judge model which team's answer is right (answers quoted as untrusted data); the first finisher if it fails."""
        ids = [o.team for o in answered]
        messages: list[BaseMessage] = [
            SystemMessage(content="You judge which team answered the task correctly. Reply with JSON {\"team\": <team id>} and nothing else."),
            HumanMessage(content=f"Task: {run.task}\n" + quote_untrusted([(o.team, o.answer or "") for o in answered])
                         + f"\nTeam ids: {', '.join(ids)}"),
        ]
        callbacks = TeamCallbacks("judge", RunControl())
        try:
            reply = self.judge.invoke(messages, config={"callbacks": [callbacks]})
        except Exception as err:  # noqa: BLE001 - a failing judge falls back, with the reason
            return ids[0], callbacks.usage, f"judge failed ({type(err).__name__}: {err}); took the first answer"
        text = reply.text if isinstance(getattr(reply, "text", None), str) else str(getattr(reply, "content", reply))
        pick = ""
        try:
            pick = str(json.loads(text[text.index("{"): text.rindex("}") + 1]).get("team", ""))
        except (ValueError, AttributeError):
            pick = next((t for t in ids if t in text), "")
        if pick not in ids:
            return ids[0], callbacks.usage, f"judge named no team ({text[:80]!r}); took the first answer"
        return pick, callbacks.usage, None

    def _record(self, run: "_Run", teams: dict[str, TeamOutput]) -> EpisodeRecord:
        steps = []
        for name, out in teams.items():
            for call in out.calls:
                proposal = call.proposal
                admission = AdmissionRecord.from_decision(self.policy.name, proposal.decision) if proposal is not None and self.policy else None
                steps.append(StepRecord(run_id=run.run_id, round=call.index, team=name, step=call.index, action=call.call, key=call.key,
                                        error=call.error, read_writers=dict(call.read_writers), entry_id=call.entry_id, admission=admission))
        steps.sort(key=lambda s: (s.round, s.team))
        return EpisodeRecord(steps=tuple(steps), summary={})


class _TeamsState(TypedDict, total=False):
    outputs: Annotated[dict[str, TeamOutput], or_]


@dataclass
class _Run:
    """The live objects of one run (not graph state: team graphs and memories are not data)."""

    run_id: str
    task: str
    namespace: tuple[str, ...]
    inputs: Any
    control: RunControl
    memories: dict[str, TeamMemory]
    team_graphs: dict[str, Any]
    started: float
    grade: Grader | None = None
    task_id: str = ""
    intent: str = ""  # the experience key of this run ("" without experiences)
    experiences: tuple[ExperienceHit, ...] = ()
    graph: Any = None
    finished: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


__all__ = ["AGGREGATORS", "ParallelTeams", "TeamOutput", "TeamsResult", "last_ai_text", "normalise_answer", "task_text"]

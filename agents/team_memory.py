"""A team's only door to the shared bank: search, read, propose, and LangChain tools that share their results.

Every team of a run gets one `TeamMemory`, bound to the run's namespace, its
team id and the run's admission policy. Built-in teams call `search_memory`,
`read_memory` and `evaluate` from their agents and graph nodes; a user's
LangGraph team gets the same through LangChain tools:

* `share(tools)` wraps tools so that each result is proposed to admission (key
  from the tool name, the arguments and the result's first line; value the
  whole result; the tool name is the admission feature). A call already made
  with the same arguments (by another team, or by this one earlier) is
  answered from the bank when its result was admitted, and a call in flight in
  another team is awaited instead of repeated: parallel teams repeat tool work,
  and this is what a shared, selectively admitted memory saves (Learning to
  Share).
* `tools()` gives `search_shared_memory` and `read_shared_memory`: two-phase
  retrieval over the bank, quoted as untrusted data; a read is a use.
* `experiences`: past runs' experiences retrieved when the run started
  (MemRL; `experience_prompt()` quotes them for a prompt). A team that acts on
  one says so with `use_experience(id)` (reading its id with
  `read_shared_memory` does the same), so that the grader's outcome moves that
  experience's Q.

Whatever a team receives from the bank is another team's text: it reaches the
model only inside the untrusted block of `quote_untrusted`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import ConfigDict

from teammind.agents.memory_tools import ExperienceHit, MemoryHit, quote_untrusted
from teammind.memory import AdmissionPolicy, EntryNotFoundError, MemoryBank, Origin, Proposal, RetrievalConfig, StepCandidate
from teammind.memory.schema import EntryLimits, Namespace
from teammind.memory.tokens import count_tokens

KEY_WORD_MARGIN = 4  # a call's key stays this many words under the bank's limit
WAIT_POLL_S = 0.05  # how often a team waiting on another team's call checks whether the run was decided


class TeamStopped(RuntimeError):
    """Raised at a team's next model or tool call once the run no longer needs it (another team answered)."""


class RunControl:
    """Whether a run still needs its teams: set once an answer is chosen, checked before every model and tool call."""

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self.reason = ""
        self._lock = threading.Lock()

    def stop(self, reason: str) -> None:
        with self._lock:
            if not self._stopped.is_set():
                self.reason = reason
                self._stopped.set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def check(self, team: str) -> None:
        """Raise `TeamStopped` for `team` if the run was decided without it."""
        if self._stopped.is_set():
            raise TeamStopped(f"{team} stopped: {self.reason}")


@dataclass(frozen=True)
class SharedCall:
    """A finished tool call as the other teams see it: who ran it and where its admitted result lives."""

    call_id: str
    writer: str
    entry_id: str | None  # None: the result was not admitted (the other teams run the call themselves)


class SharedCalls:
    """The tool calls of one run across its teams: in flight (a future) or finished (its `SharedCall`).

    One per run and process; the teams of a run share it. A call whose owner
    fails is forgotten, so a waiting team runs it itself.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, tuple[str, Future[SharedCall]]] = {}

    def claim(self, call_id: str, team: str) -> tuple[Future[SharedCall], bool]:
        """The call's future and whether `team` now owns it (must run it and resolve the future).

        `team` owns a call nobody ran and a finished call that was not admitted; a
        call in flight is awaited and an admitted one is answered from the bank,
        whichever team ran it (a team repeating its own call reads its own entry).
        """
        with self._lock:
            current = self._calls.get(call_id)
            if current is not None:
                future = current[1]
                if not future.done():
                    return future, False
                shared = future.result() if future.exception() is None else None
                if shared is not None and shared.entry_id is not None:
                    return future, False
            future = Future()
            self._calls[call_id] = (team, future)
            return future, True

    def forget(self, call_id: str, future: Future[SharedCall]) -> None:
        """Drop a finished call whose entry is gone (expired or deleted), so the next team to ask runs it again."""
        with self._lock:
            current = self._calls.get(call_id)
            if current is not None and current[1] is future:
                del self._calls[call_id]

    def fail(self, call_id: str, future: Future[SharedCall], error: BaseException) -> None:
        with self._lock:
            current = self._calls.get(call_id)
            if current is not None and current[1] is future:
                del self._calls[call_id]
        future.set_exception(error)


@dataclass(frozen=True)
class StepDraft:
    """A step a team wants to share, before admission judges it."""

    key: str
    value: str
    tool: str
    step_index: int
    entry_id: str
    agent: str = ""
    error: bool = False
    task: str | None = None  # None: the run's task


@dataclass
class TeamCall:
    """One tool call of a team: what it ran or was served, the admission decision on its result, what it read."""

    index: int
    call: str  # "tool(arg=...)"
    key: str = ""
    entry_id: str | None = None
    proposal: Proposal | None = None  # None: served from another team, or no memory
    shared_from: str | None = None  # the team whose admitted result answered this call
    read_writers: dict[str, str] = field(default_factory=dict)  # entry id read -> the team that wrote it
    error: str | None = None
    seconds: float = 0.0


@dataclass
class TeamCounts:
    """A team's use of the bank and its tools (summed into the run summary)."""

    proposed: int = 0
    admitted: int = 0
    tool_calls: int = 0  # executed by this team
    tool_calls_shared: int = 0  # answered from another team's admitted result
    reads: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"proposed": self.proposed, "admitted": self.admitted, "tool_calls": self.tool_calls,
                "tool_calls_shared": self.tool_calls_shared, "reads": self.reads}


def canonical_arguments(arguments: dict[str, Any]) -> str:
    """Arguments as canonical JSON: the same call gives the same text whatever the argument order."""
    return json.dumps(arguments, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))


def call_text(tool: str, arguments: dict[str, Any], max_chars: int = 200) -> str:
    """`tool(a='x', b=2)`, readable in keys, traces and replies."""
    inner = ", ".join(f"{k}={v!r}" for k, v in sorted(arguments.items()))
    if len(inner) > max_chars:
        inner = inner[: max_chars - 3] + "..."
    return f"{tool}({inner})"


def call_entry_id(namespace: Namespace, tool: str, arguments: dict[str, Any]) -> str:
    """The bank id of a call's result: the same call in the same namespace is one entry."""
    digest = hashlib.sha256(json.dumps([list(namespace), tool, canonical_arguments(arguments)]).encode()).hexdigest()
    return f"call-{digest[:32]}"


def call_key(tool: str, arguments: dict[str, Any], result: str, max_words: int) -> str:
    """The entry key of a call: the call and its result's first line, cut to the bank's key limit."""
    first = next((line.strip() for line in result.splitlines() if line.strip()), "(empty result)")
    words = f"{call_text(tool, arguments, 120)} -> {first}".split()
    return " ".join(words[:max_words])


def fit_value(text: str, limits: EntryLimits) -> str:
    """`text` cut so that the bank accepts it as a value (a marker says it was cut)."""
    if count_tokens(text) <= limits.max_value_tokens:
        return text
    marker = "\n... [cut to the bank's value limit]"
    budget = limits.max_value_tokens - count_tokens(marker)
    cut = text[: budget * 3]
    while count_tokens(cut) > budget:
        cut = cut[: int(len(cut) * 0.9)]
    return cut + marker


def result_text(result: Any) -> str:
    """A tool's output as the text that is shared (LangChain tools may return messages or objects)."""
    content = getattr(result, "content", result)
    if isinstance(content, str):
        return content
    try:
        return json.dumps(content, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(content)


def served_reply(call: str, writer: str, entry_id: str, value: str) -> str:
    """What a team gets for a call another team already made: that team's result, quoted as untrusted data."""
    return f"{call} was already run by {writer}; its result, from the shared memory:\n" + quote_untrusted([(entry_id, value)])


class TeamMemory:
    """One team's view of the shared bank for one run.

    `bank=None` is a run without shared memory: `share` still counts the team's
    tool calls (every call runs) and `tools()` is empty. `calls` and `control`
    are shared by the teams of a run; `task` and `n_teams` feed admission.
    """

    def __init__(
        self,
        bank: MemoryBank | None,
        namespace: Namespace,
        team: str,
        retrieval: RetrievalConfig | None = None,
        *,
        admission: AdmissionPolicy | None = None,
        task: str = "",
        n_teams: int = 1,
        max_steps: int = 30,
        rank: int = 0,
        calls: SharedCalls | None = None,
        control: RunControl | None = None,
        sample: bool = False,
        seed: int = 0,
        episode: str | None = None,
        experiences: Sequence[ExperienceHit] = (),
    ) -> None:
        self.bank = bank
        self.namespace = tuple(namespace)
        self.team = team
        self.rank = rank
        self.retrieval = retrieval
        self.admission = admission
        self.task = task
        self.n_teams = n_teams
        self.max_steps = max_steps
        self.calls = calls or SharedCalls()
        self.control = control or RunControl()
        self.sample = sample
        self.seed = seed
        self.episode = episode if episode is not None else self.namespace[-1]
        self.counts = TeamCounts()
        self.reads: list[str] = []  # entry ids read, in order
        self.log: list[TeamCall] = []  # this team's tool calls, in the order they finished
        self.experiences: tuple[ExperienceHit, ...] = tuple(experiences)  # best first
        self.experiences_used: list[str] = []  # ids, in the order the team first used them
        self._lock = threading.Lock()
        self._next_index = 0

    def _index(self) -> int:
        """A number for the team's next call (a ReAct step may run several tool calls at once, in threads)."""
        with self._lock:
            index = self._next_index
            self._next_index += 1
            return index

    # -- reading -------------------------------------------------------------------------------
    def search_memory(self, query: str) -> list[MemoryHit]:
        """Two-phase retrieval in the run's namespace: ids, keys and writers only (reading a value is `read_memory`)."""
        if self.bank is None:
            return []
        hits = self.bank.search(self.namespace, query, config=self.retrieval)
        return [MemoryHit(h.entry.id, h.entry.key, h.score, h.entry.origin.team) for h in hits]

    def read_memory(self, entry_id: str) -> str | None:
        """The entry's value, recording the use by this team; None if it does not exist (or expired)."""
        return self._read(entry_id)[0]

    def _read(self, entry_id: str) -> tuple[str | None, str]:
        """(value, writer) of an entry, recording the use; (None, "") if there is none."""
        if self.bank is None:
            return None, ""
        try:
            entry = self.bank.read(self.namespace, entry_id, team=self.team)
        except EntryNotFoundError:
            return None, ""
        with self._lock:
            self.reads.append(entry_id)
            self.counts.reads += 1
        return entry.value, entry.origin.team

    # -- experiences ---------------------------------------------------------------------------
    def use_experience(self, experience_id: str) -> None:
        """Record that this team acts on a retrieved experience (the outcome then moves its Q)."""
        if experience_id not in {e.id for e in self.experiences}:
            raise KeyError(f"use_experience: {experience_id!r} is not one of this run's experiences ({[e.id for e in self.experiences]})")
        with self._lock:
            if experience_id not in self.experiences_used:
                self.experiences_used.append(experience_id)

    def experience_prompt(self) -> str:
        """The retrieved experiences quoted as untrusted data for a prompt ("" when there are none)."""
        return quote_untrusted([(e.id, f"past task: {e.intent} | what happened: {e.text}") for e in self.experiences])

    # -- proposing -----------------------------------------------------------------------------
    def candidate(self, draft: StepDraft) -> StepCandidate:
        """What the bank's admission judges for a step of this team (lock-step rounds judge a round's candidates together)."""
        return StepCandidate(
            namespace=self.namespace, task=self.task if draft.task is None else draft.task, key=draft.key, value=draft.value,
            origin=Origin(team=self.team, agent=draft.agent, step=draft.step_index, episode=self.episode),
            tool=draft.tool, error=draft.error, step_index=draft.step_index, max_steps=self.max_steps, n_teams=self.n_teams,
            id=draft.entry_id,
        )

    def evaluate(self, draft: StepDraft, *, sample: bool | None = None, rng: random.Random | None = None) -> Proposal:
        """The admission decision on a step, without writing it."""
        if self.bank is None:
            raise ValueError("evaluate: this team has no shared memory (admission none); nothing can be proposed")
        sampled = self.sample if sample is None else sample
        if sampled and rng is None:
            rng = random.Random(f"{self.seed}/{self.team}/{draft.step_index}")
        return self.bank.evaluate(self.candidate(draft), self.admission, sample=sampled, rng=rng)

    def propose(self, draft: StepDraft) -> Proposal:
        """Judge a step and write it now if admitted (teams that run freely, not in lock-step rounds)."""
        proposal = self.evaluate(draft)
        if proposal.admitted:
            assert self.bank is not None
            self.bank.commit([proposal])
        with self._lock:
            self.counts.proposed += 1
            self.counts.admitted += 1 if proposal.admitted else 0
        return proposal

    # -- tools ---------------------------------------------------------------------------------
    def share(self, tools: Sequence[BaseTool]) -> list[BaseTool]:
        """The same tools, wrapped so that their results are shared with the other teams through admission."""
        out: list[BaseTool] = []
        for tool in tools:
            if not isinstance(tool, BaseTool):
                raise TypeError(f"share: {tool!r} is not a LangChain BaseTool; wrap functions with langchain_core.tools.tool first")
            out.append(SharedTool(name=tool.name, description=tool.description, args_schema=tool.args_schema, inner=tool, memory=self))
        return out

    def tools(self) -> list[BaseTool]:
        """`search_shared_memory(query)` and `read_shared_memory(id)` over the run's bank and experiences (none without either)."""
        if self.bank is None and not self.experiences:
            return []

        def search_shared_memory(query: str) -> str:
            """Search the memory shared by the parallel teams for entries about `query`. Returns entry ids and keys; read one with read_shared_memory."""
            self.control.check(self.team)
            hits = self.search_memory(query)
            if not hits:
                return "No shared entries match."
            return quote_untrusted([(h.id, f"{h.key} (written by {h.team or 'unknown'})") for h in hits])

        def read_shared_memory(id: str) -> str:  # noqa: A002 - the name the model sees
            """Read the full value of a shared memory entry by its id (from search_shared_memory)."""
            self.control.check(self.team)
            experience = next((e for e in self.experiences if e.id == id.strip()), None)
            if experience is not None:
                self.use_experience(experience.id)
                return quote_untrusted([(experience.id, experience.text)])
            value, writer = self._read(id.strip())
            if value is None:
                return f"No shared entry {id!r}."
            index = self._index()
            with self._lock:
                self.log.append(TeamCall(index=index, call=f"read_shared_memory(id={id!r})", read_writers={id.strip(): writer}))
            return quote_untrusted([(id.strip(), value)])

        return [StructuredTool.from_function(search_shared_memory), StructuredTool.from_function(read_shared_memory)]

    def call_shared(self, tool: BaseTool, arguments: dict[str, Any], config: dict[str, Any] | None = None) -> str:
        """Run `tool` with `arguments`, or answer from another team's admitted result of the same call (see module doc)."""
        self.control.check(self.team)
        call = _Call(self._index(), call_text(tool.name, arguments), time.perf_counter())
        if self.bank is None:
            return self._executed(call, result_text(tool.invoke(arguments, config=config)), None)
        call_id = call_entry_id(self.namespace, tool.name, arguments)
        while True:
            future, owner = self.calls.claim(call_id, self.team)
            if owner:
                try:
                    result = result_text(tool.invoke(arguments, config=config))
                except BaseException as err:
                    self.calls.fail(call_id, future, err)
                    raise
                return self._share_result(call, tool.name, arguments, call_id, future, result)
            served = self._serve(call, self._wait(future))
            if served is not None:
                return served
            if future.done() and future.exception() is None:
                self.calls.forget(call_id, future)

    async def acall_shared(self, tool: BaseTool, arguments: dict[str, Any], config: dict[str, Any] | None = None) -> str:
        """`call_shared` for async teams: waits without blocking the event loop and runs async tools natively."""
        self.control.check(self.team)
        call = _Call(self._index(), call_text(tool.name, arguments), time.perf_counter())
        if self.bank is None:
            return self._executed(call, result_text(await tool.ainvoke(arguments, config=config)), None)
        call_id = call_entry_id(self.namespace, tool.name, arguments)
        while True:
            future, owner = self.calls.claim(call_id, self.team)
            if owner:
                try:
                    result = result_text(await tool.ainvoke(arguments, config=config))
                except BaseException as err:
                    self.calls.fail(call_id, future, err)
                    raise
                return await asyncio.to_thread(self._share_result, call, tool.name, arguments, call_id, future, result)
            shared = await self._await(future)
            served = await asyncio.to_thread(self._serve, call, shared)
            if served is not None:
                return served
            if future.done() and future.exception() is None:
                self.calls.forget(call_id, future)

    def _serve(self, call: "_Call", shared: SharedCall | None) -> str | None:
        """The admitted result of the call, read from the bank (a use); None when this team must run it."""
        if shared is None or shared.entry_id is None:
            return None  # failed or not admitted: claim again (this team may now own it)
        value, writer = self._read(shared.entry_id)
        if value is None:
            return None  # expired or deleted since
        with self._lock:
            self.counts.tool_calls_shared += 1
            self.log.append(TeamCall(index=call.index, call=call.text, entry_id=shared.entry_id, shared_from=writer,
                                     read_writers={shared.entry_id: writer}, seconds=time.perf_counter() - call.started))
        return served_reply(call.text, writer if writer != self.team else "this team", shared.entry_id, value)

    def _wait(self, future: Future[SharedCall]) -> SharedCall | None:
        """The other team's finished call (None if it failed); gives up with `TeamStopped` when the run is decided."""
        while True:
            self.control.check(self.team)
            try:
                return future.result(timeout=WAIT_POLL_S)
            except TimeoutError:
                continue
            except Exception:  # noqa: BLE001 - the owner's failure is its own; this team runs the call itself
                return None

    async def _await(self, future: Future[SharedCall]) -> SharedCall | None:
        wrapped = asyncio.wrap_future(future)
        while True:
            self.control.check(self.team)
            try:
                return await asyncio.wait_for(asyncio.shield(wrapped), timeout=WAIT_POLL_S)
            except TimeoutError:
                continue
            except Exception:  # noqa: BLE001 - as in `_wait`
                return None

    def _share_result(self, call: "_Call", tool: str, arguments: dict[str, Any], call_id: str, future: Future[SharedCall],
                      result: str) -> str:
        """Propose an executed call's result to admission and tell the waiting teams the outcome."""
        assert self.bank is not None
        limits = self.bank.limits
        draft = StepDraft(key=call_key(tool, arguments, result, limits.max_key_words - KEY_WORD_MARGIN),
                          value=fit_value(result, limits) or "(empty result)", tool=tool, step_index=call.index, entry_id=call_id,
                          agent="langchain-tool")
        try:
            proposal = self.propose(draft)
        except BaseException as err:
            self.calls.fail(call_id, future, err)
            raise
        future.set_result(SharedCall(call_id=call_id, writer=self.team, entry_id=call_id if proposal.admitted else None))
        return self._executed(call, result, proposal)

    def _executed(self, call: "_Call", result: str, proposal: Proposal | None) -> str:
        with self._lock:
            self.counts.tool_calls += 1
            self.log.append(TeamCall(index=call.index, call=call.text, key=proposal.entry.key if proposal is not None else "",
                                     proposal=proposal, entry_id=proposal.entry.id if proposal is not None else None,
                                     seconds=time.perf_counter() - call.started))
        return result


@dataclass(frozen=True)
class _Call:
    index: int
    text: str
    started: float


class SharedTool(BaseTool):
    """A LangChain tool whose calls go through a team's `TeamMemory` (same name, description and arguments)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: BaseTool
    memory: TeamMemory

    def _run(self, *args: Any, run_manager: CallbackManagerForToolRun | None = None, **kwargs: Any) -> str:
        config = {"callbacks": run_manager.get_child()} if run_manager is not None else None
        return self.memory.call_shared(self.inner, _arguments(self.inner, args, kwargs), config)

    async def _arun(self, *args: Any, run_manager: AsyncCallbackManagerForToolRun | None = None, **kwargs: Any) -> str:
        config = {"callbacks": run_manager.get_child()} if run_manager is not None else None
        return await self.memory.acall_shared(self.inner, _arguments(self.inner, args, kwargs), config)


def _arguments(tool: BaseTool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments as a dict (a single-input tool may be called with one positional value)."""
    if args:
        names = list(tool.args)
        if len(args) > len(names):
            raise TypeError(f"{tool.name}: {len(args)} positional arguments for {len(names)} parameters")
        kwargs = {**dict(zip(names, args)), **kwargs}
    return kwargs


__all__ = [
    "RunControl", "SharedCall", "SharedCalls", "SharedTool", "StepDraft", "TeamCall", "TeamCounts", "TeamMemory", "TeamStopped",
    "call_entry_id", "call_key", "call_text", "canonical_arguments", "fit_value", "served_reply",
]

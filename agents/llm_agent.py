"""An agent that picks each action with one JSON-mode LLM call.

One call per step returns `{"action": ..., "note": ...}`; the note becomes the
step's key (DESIGN §3: no extra LLM call for keys). The prompt is kept short
for a 2k-context model: the task, the last few steps, what the shared bank
offers (keys and ids, plus the top entries read and quoted as untrusted data),
the current observation and the valid actions.

The reply is parsed robustly against `valid_actions`: exact match, then
case/whitespace/punctuation-insensitive match, then a list number, then the
closest action by token overlap; if nothing fits, a deterministic valid action
is taken and the returned `LLMAgentAction.fallback` says so. Endpoint problems
never raise out of `act`: the action comes back with `error` set to the reason.

Free-text observations (`Observation.free_text`, e.g. reasoning-gym): the
schema's "action" is any string, the prompt lists the action forms (the
templates in `valid_actions`), and `match_free_text` keeps a reply that starts
with a template verb as written and turns anything else into ``answer <reply>``.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from teammind.agents.base import Agent, AgentAction, LLMUsage, StepContext
from teammind.agents.chat_models import ChatClient, as_chat_client
from teammind.agents.environment import Observation
from teammind.agents.llm import LLMClient, LLMConfig, LLMError
from teammind.agents.memory_tools import MemoryHit, quote_untrusted

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

SYSTEM_PROMPT = (
    "You play a text game step by step. Choose the next action. "
    'Answer with one JSON object: {"action": "<one of the valid actions, copied exactly>", '
    '"note": "<one short sentence: what you learned so far that helps the task>"}.'
)


FREE_TEXT_SYSTEM_PROMPT = (
    "You solve a task step by step. Each step you take one action, written in one of the action forms you are given "
    "(for example 'answer <text>' for your final answer, or a tool call). "
    'Answer with one JSON object: {"action": "<the action word, e.g. answer>", '
    '"argument": "<what the action needs: your final answer, an expression, or code>", '
    '"note": "<one short sentence: what you learned so far that helps the task>"}.'
)


@dataclass
class LLMAgentAction(AgentAction):
    """An AgentAction with how the LLM's reply was turned into the action."""

    fallback: bool = False  # True: the reply named no valid action; a deterministic one was taken
    match: str = ""  # exact | normalized | index | overlap | fallback | error
    reply: str = ""  # the model's raw text (truncated), for traces


# --------------------------------------------------------------------------- parsing

_WORD = re.compile(r"[a-z0-9]+")
_NUMBERED = re.compile(r"^\s*(\d+)\s*[.):-]\s*(.+)$")


def normalize_action(text: str) -> str:
    """Lower case, single spaces, no surrounding quotes or punctuation."""
    text = " ".join(str(text).lower().split())
    return text.strip(" \t\"'`.,;:!?()[]{}<>")


def _tokens(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _reply_object(text: str) -> Any:
    """The JSON value in a model reply that should be JSON but may be fenced or wrapped in prose (None if none)."""
    text = (text or "").strip()
    obj: Any = None
    candidates = [text]
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    if fenced:
        candidates.append(fenced.group(1))
    braced = re.search(r"\{.*\}", text, re.DOTALL)
    if braced:
        candidates.append(braced.group(0))
    for cand in candidates:
        try:
            obj = json.loads(cand)
            break
        except (TypeError, ValueError):
            continue
    if isinstance(obj, list) and obj and isinstance(obj[0], dict):
        obj = obj[0]
    return obj


def reply_field(text: str, names: tuple[str, ...]) -> Any:
    """The first of `names` (case-insensitive) in the reply's JSON object, else None."""
    obj = _reply_object(text)
    if not isinstance(obj, dict):
        return None
    lowered = {str(k).strip().lower(): v for k, v in obj.items()}
    return next((lowered[n] for n in names if n in lowered), None)


def extract_reply(text: str) -> tuple[Any, str]:
    """(action candidate, note) from a model reply that should be JSON but may be messy."""
    text = (text or "").strip()
    obj = _reply_object(text)
    if isinstance(obj, dict):
        lowered = {str(k).strip().lower(): v for k, v in obj.items()}
        action: Any = None
        for k in ("action", "next_action", "command", "act", "choice", "answer"):
            if k in lowered:
                action = lowered[k]
                break
        if isinstance(action, dict):  # {"action": {"name": "go north"}}
            action = next((v for v in action.values() if isinstance(v, str | int)), None)
        if isinstance(action, list) and action:
            action = action[0]
        note = lowered.get("note") or lowered.get("summary") or lowered.get("thought") or ""
        return action, note if isinstance(note, str) else json.dumps(note)
    if isinstance(obj, str | int):
        return obj, ""
    # not JSON at all: a regex for "action": "...", else the whole text
    m = re.search(r'"?action"?\s*[:=]\s*"([^"]+)"', text, re.IGNORECASE)
    if m:
        return m.group(1), ""
    return text, ""


def match_action(candidate: Any, valid_actions: tuple[str, ...] | list[str]) -> tuple[str | None, str]:
    """Map the model's answer onto one of `valid_actions`; (None, "fallback") if nothing fits."""
    valid = list(valid_actions)
    if not valid or candidate is None:
        return None, "fallback"
    if isinstance(candidate, bool):
        return None, "fallback"
    if isinstance(candidate, int):
        return (valid[candidate - 1], "index") if 1 <= candidate <= len(valid) else (None, "fallback")
    text = str(candidate)
    if text in valid:
        return text, "exact"
    norm = {normalize_action(v): v for v in reversed(valid)}  # first wins on collisions
    n = normalize_action(text)
    if n in norm:
        return norm[n], "normalized"
    m = _NUMBERED.match(text)
    if m:
        rest = normalize_action(m.group(2))
        if rest in norm:
            return norm[rest], "normalized"
    if n.isdigit():
        i = int(n)
        return (valid[i - 1], "index") if 1 <= i <= len(valid) else (None, "fallback")
    if not n:
        return None, "fallback"
    # a valid action quoted inside a longer answer ("I will go north now"): the longest one
    inside = [v for v in valid if normalize_action(v) and re.search(rf"(?<![a-z0-9]){re.escape(normalize_action(v))}(?![a-z0-9])", n)]
    if inside:
        return max(inside, key=lambda v: (len(normalize_action(v)), -valid.index(v))), "overlap"
    cand = _tokens(n)
    if not cand:
        return None, "fallback"
    best, best_score = None, 0.0
    for v in valid:
        vt = _tokens(v)
        if not vt:
            continue
        inter = len(cand & vt)
        if not inter:
            continue
        score = inter / len(cand | vt) + 0.5 * inter / len(vt)  # Jaccard, favouring actions mostly covered
        if score > best_score:
            best, best_score = v, score
    return (best, "overlap") if best is not None else (None, "fallback")


def template_verbs(templates: tuple[str, ...] | list[str]) -> list[str]:
    """The leading words of free-text action templates ("answer <text>" -> "answer")."""
    verbs = []
    for t in templates:
        words = str(t).split()
        if words and not words[0].startswith("<") and words[0].lower() not in verbs:
            verbs.append(words[0].lower())
    return verbs


def match_free_text(candidate: Any, templates: tuple[str, ...] | list[str]) -> tuple[str | None, str]:
    """A free-text action from the model's answer: kept as written when it starts with a template verb,
    else taken as the answer ("answer " + text, when "answer" is a form). (None, "fallback") when empty."""
    if candidate is None or isinstance(candidate, bool):
        return None, "fallback"
    text = str(candidate).strip()
    if not text:
        return None, "fallback"
    verbs = template_verbs(templates)
    m = re.match(r"([A-Za-z_]+)\b", text)
    if m and m.group(1).lower() in verbs:
        return m.group(1).lower() + text[len(m.group(1)) :], "free"
    if "answer" in verbs or not verbs:
        return f"answer {text}", "free-answer"
    return f"{verbs[0]} {text}", "free-answer"


def reply_schema(valid_actions: tuple[str, ...] | list[str], note_chars: int = 160, free_text: bool = False) -> dict[str, Any]:
    """JSON schema of the reply: the action is one of the valid actions, and a short note.

    Free text: the action is one of the forms' leading words and a separate, non-empty
    "argument" carries the rest; small models constrained this way fill the argument in
    instead of replying with a bare "answer".
    """
    if free_text:
        verbs = template_verbs(valid_actions)
        return {
            "type": "object",
            "properties": {
                "action": {"type": "string", "enum": verbs} if verbs else {"type": "string", "minLength": 1},
                "argument": {"type": "string", "minLength": 1},
                "note": {"type": "string", "maxLength": note_chars},
            },
            "required": ["action", "argument", "note"],
        }
    action: dict[str, Any] = {"type": "string", "enum": list(dict.fromkeys(valid_actions))}
    return {
        "type": "object",
        "properties": {
            "action": action,
            "note": {"type": "string", "maxLength": note_chars},
        },
        "required": ["action", "note"],
    }


def fallback_action(valid_actions: tuple[str, ...] | list[str], recent: list[str], step_index: int) -> str:
    """A deterministic valid action: the first not taken recently, else one by step index."""
    valid = list(valid_actions)
    recent_set = set(recent)
    for v in valid:
        if v not in recent_set:
            return v
    return valid[step_index % len(valid)]


def _one_line(text: str, max_chars: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= max_chars else text[: max_chars - 3].rstrip() + "..."


def _count(text: str) -> int:
    from teammind.memory.tokens import count_tokens

    return count_tokens(text)


# --------------------------------------------------------------------------- agent


class LLMAgent(Agent):
    """Chooses each step's action with one LLM call in JSON mode.

    `llm` is an `LLMClient`, an `LLMConfig` (a client is made for it), or any LangChain
    chat model (e.g. `teammind.agents.chat_model(...)`, which `as_chat_client` adapts).
    """

    name = "llm"

    def __init__(
        self,
        llm: LLMClient | LLMConfig | BaseChatModel | ChatClient,
        *,
        max_tokens: int = 80,
        temperature: float = 0.0,
        history_steps: int = 4,
        memory_hits: int = 4,
        memory_reads: int = 2,
        max_actions_shown: int = 40,
        prompt_budget_tokens: int = 1300,
        observation_chars: int = 700,
        value_chars: int = 300,
        constrain: bool = True,
        free_text_max_tokens: int = 512,
        task_chars: int = 2500,
        experience_hits: int = 2,
        experience_plan_steps: int = 8,
        seed: int | None = None,
    ) -> None:
        self.client: ChatClient = as_chat_client(llm)
        self.seed = seed  # sampling seed sent to the endpoint (None: none sent)
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.history_steps = history_steps
        self.memory_hits = memory_hits
        self.memory_reads = memory_reads
        self.max_actions_shown = max_actions_shown
        self.prompt_budget_tokens = prompt_budget_tokens
        self.observation_chars = observation_chars
        self.value_chars = value_chars
        self.constrain = constrain  # send a JSON schema whose "action" is an enum of the valid actions
        self.free_text_max_tokens = free_text_max_tokens  # free-text actions (answers, code) need room
        self.task_chars = task_chars  # free-text tasks (questions) are shown up to this many characters
        self.experience_hits = experience_hits  # past episodes shown (best-ranked first)
        self.experience_plan_steps = experience_plan_steps  # actions of a success plan shown
        self._history: deque[tuple[str, str]] = deque(maxlen=max(history_steps, 1) * 4)
        self.last_messages: list[dict[str, str]] = []  # the prompt of the last call (for traces and tests)

    @classmethod
    def for_team(cls, llm: LLMClient | LLMConfig | BaseChatModel | ChatClient, team: str, **kwargs: Any) -> "LLMAgent":
        """The agent of team `team` in a run of K teams: team 0 greedy, later teams hotter and seeded (`TeamSampling`),
        so K teams of one model explore K ways instead of repeating each other."""
        from teammind.agents.sampling import TeamSampling
        from teammind.agents.scripted import team_rank

        sampling = TeamSampling.for_rank(team_rank(team))
        return cls(llm, temperature=sampling.temperature, seed=sampling.seed if sampling.temperature > 0 else None, **kwargs)

    # ---- episode hooks
    def reset(self, observation: Observation) -> None:
        self._history.clear()

    def observe(self, action: str, observation: Observation) -> None:
        self._history.append((action, observation.text))

    # ---- prompt
    def _memory_block(self, ctx: StepContext) -> tuple[str, list[str]]:
        """Quoted shared-memory block and the ids read for it."""
        if ctx.memory is None:
            return "", []
        hits: list[MemoryHit] = list(getattr(ctx, "hits", None) or [])
        if not hits:
            first = ctx.observation.text.strip().splitlines()[0] if ctx.observation.text.strip() else ""
            hits = ctx.memory.search_memory(f"{ctx.task} {first}".strip())
        hits = hits[: self.memory_hits]
        if not hits:
            return "", []
        reads: list[str] = []
        items: list[tuple[str, str]] = []
        for i, h in enumerate(hits):
            text = f"key: {_one_line(h.key, 160)}"
            if i < self.memory_reads:
                value = ctx.memory.read_memory(h.id)
                if value is not None:
                    reads.append(h.id)
                    text += f"\nvalue: {value[: self.value_chars]}" + ("..." if len(value) > self.value_chars else "")
            items.append((h.id, text))
        return quote_untrusted(items), reads

    def build_messages(self, ctx: StepContext, memory_block: str, history: list[tuple[str, str]]) -> list[dict[str, str]]:
        obs = ctx.observation
        free = bool(getattr(obs, "free_text", False))
        system = FREE_TEXT_SYSTEM_PROMPT if free else SYSTEM_PROMPT
        valid = list(obs.valid_actions)
        shown = valid[: self.max_actions_shown]
        actions = "\n".join(f"- {a}" for a in shown) + (f"\n(+{len(valid) - len(shown)} more)" if len(valid) > len(shown) else "")
        obs_text = obs.text.strip()
        task = ctx.task.strip()
        if free:
            if len(task) > self.task_chars:
                task = task[: self.task_chars] + "..."
            if obs_text == ctx.task.strip():
                obs_text = "(the task above; nothing done yet)"
        if len(obs_text) > self.observation_chars:
            obs_text = obs_text[: self.observation_chars] + "..."

        def compose(hist: list[tuple[str, str]], mem: str) -> str:
            parts = [f"Task: {task}", f"Step {ctx.step_index + 1} of {ctx.max_steps}."]
            if hist:
                lines = [f"- {_one_line(a, 120)} -> {_one_line(o, 120)}" if free else f"- {a} -> {_one_line(o, 120)}" for a, o in hist]
                parts.append("Your last steps:\n" + "\n".join(lines))
            if mem:
                parts.append(mem)
            parts.append(f"Now: {obs_text}")
            if free:
                parts.append(
                    f"Action forms (the first word is the action, <...> is the argument you fill in):\n{actions}"
                )
                parts.append('Reply with JSON only: {"action": "<the action word>", "argument": "<your answer, expression or code>", '
                             '"note": "<one sentence: what you see or learned>"}')
            else:
                parts.append(f"Valid actions:\n{actions}")
                parts.append('Reply with JSON only: {"action": "<one valid action>", "note": "<one sentence: what you see or learned>"}')
            return "\n\n".join(parts)

        hist = history[-self.history_steps :] if self.history_steps > 0 else []
        mem = memory_block
        user = compose(hist, mem)
        # keep within the prompt budget: drop old steps first, then the memory values
        while _count(system) + _count(user) > self.prompt_budget_tokens and hist:
            hist = hist[1:]
            user = compose(hist, mem)
        if _count(system) + _count(user) > self.prompt_budget_tokens and mem:
            mem = mem[: max(0, len(mem) - 4 * (_count(system) + _count(user) - self.prompt_budget_tokens))]
            mem = mem.rsplit("\n", 1)[0] + "\n</shared_memory>" if mem else ""
            user = compose(hist, mem)
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def _experience_block(self, ctx: StepContext) -> tuple[str, list[str]]:
        """Past episodes retrieved for this task (MemRL), quoted as untrusted data, and their ids.

        A success shows the start of its plan, a failure its reflection. The ids go
        into `AgentAction.experiences`, so their Q learns from this episode's outcome.
        """
        items: list[tuple[str, str]] = []
        for hit in list(getattr(ctx, "experiences", None) or [])[: self.experience_hits]:
            data = hit.parsed()
            if data is None:
                continue
            if data["outcome"] == "success":
                plan = "; ".join(data["plan"][: self.experience_plan_steps])
                text = f"a past episode of a similar task succeeded; its first actions: {plan}"
            else:
                text = f"a past episode of a similar task failed: {data.get('reflection', '')}"
            items.append((hit.id, _one_line(text, self.value_chars)))
        return quote_untrusted(items), [i for i, _ in items]

    # ---- act
    def act(self, ctx: StepContext) -> LLMAgentAction:
        experience_block, experience_ids = self._experience_block(ctx)
        action = self._act(ctx, experience_block)
        action.experiences = list(experience_ids)
        return action

    def _act(self, ctx: StepContext, experience_block: str) -> LLMAgentAction:
        valid = tuple(ctx.observation.valid_actions)
        history = list(getattr(ctx, "history", None) or self._history)
        memory_block, reads = self._memory_block(ctx)
        memory_block = "\n".join(b for b in (experience_block, memory_block) if b)
        messages = self.build_messages(ctx, memory_block, history)
        self.last_messages = messages
        free = bool(getattr(ctx.observation, "free_text", False))
        try:
            reply = self.client.chat(
                messages,
                json_mode=True,
                json_schema=reply_schema(valid, free_text=free) if self.constrain and valid else None,
                max_tokens=max(self.max_tokens, self.free_text_max_tokens) if free else self.max_tokens,
                temperature=self.temperature,
                team=ctx.team,
                extra_body={"seed": self.seed} if self.seed is not None else None,
            )
        except LLMError as exc:
            return LLMAgentAction(action="", error=f"LLM call failed: {exc.reason}", usage=exc.usage, reads=reads, match="error")
        if free:
            return self._free_text_action(reply, valid, reads)

        if not valid:
            return LLMAgentAction(action="", error="no valid actions to choose from", usage=reply.usage, reads=reads, reply=reply.text[:500], match="error")
        candidate, note = extract_reply(reply.text)
        action, how = match_action(candidate, valid)
        fallback = action is None
        if action is None:
            action = fallback_action(valid, [a for a, _ in history[-self.history_steps :]], ctx.step_index)
        note = _one_line(note, 200) if isinstance(note, str) else ""
        return LLMAgentAction(
            action=action,
            key=note,
            tool=action.split(" ")[0] if action else "",
            usage=reply.usage if isinstance(reply.usage, LLMUsage) else LLMUsage(),
            reads=reads,
            fallback=fallback,
            match=how,
            reply=reply.text[:500],
        )

    def _free_text_action(self, reply: Any, templates: tuple[str, ...], reads: list[str]) -> LLMAgentAction:
        """A free-text observation: the reply's action is kept as written (see `match_free_text`)."""
        usage = reply.usage if isinstance(reply.usage, LLMUsage) else LLMUsage()
        candidate, note = extract_reply(reply.text)
        argument = reply_field(reply.text, ("argument", "input", "expression", "code", "text"))
        if isinstance(candidate, str) and isinstance(argument, str | int | float) and str(argument).strip() \
                and candidate.strip().lower() in template_verbs(templates):
            candidate = f"{candidate.strip()} {argument}"  # {"action": "answer", "argument": "42"}
        action, how = match_free_text(candidate, templates)
        note = _one_line(note, 200) if isinstance(note, str) else ""
        if action is None:
            return LLMAgentAction(action="", error="the reply has no action", usage=usage, reads=reads, reply=reply.text[:500], match="error",
                                  fallback=True)
        return LLMAgentAction(action=action, key=note or _one_line(action, 200), tool=action.split(None, 1)[0].lower(), usage=usage, reads=reads,
                              match=how, reply=reply.text[:500])

"""LangChain chat models as teammind's LLMs, and teammind's `chat(...)` call on any LangChain chat model.

* `chat_model("embedded" | "embedded:gemma3" | URL)` returns a langchain-core
  `BaseChatModel`: `langchain-openai`'s `ChatOpenAI` for an OpenAI-compatible
  endpoint, and for the embedded llama.cpp servers a `JsonToolCallingChatModel`
  around one, so `bind_tools` and `create_react_agent` work offline on a model
  whose server has no tool calls.
* `JsonToolCallingChatModel` turns tool calling into one JSON-schema-constrained
  reply: the schema is a choice between each bound tool's arguments (tagged
  with the tool's name) and a final answer; the reply becomes
  `AIMessage(tool_calls=[...])` or a plain answer. Tool calls and tool results
  in the history are rendered as plain turns, which any chat template takes.
* `as_chat_client(llm)` gives an `LLMClient`, an `LLMConfig` or any
  `BaseChatModel` the `chat(messages, json_schema=..., ...) -> LLMReply` call
  that the built-in agents make, with the same accounting and `LLMError`s.
"""

from __future__ import annotations

import functools
import json
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage, convert_to_messages
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool

from teammind.agents.base import LLMUsage
from teammind.agents.llm import (
    SCHEMA_STYLES,
    LLMClient,
    LLMConfig,
    LLMConfigError,
    LLMConnectionError,
    LLMError,
    LLMReply,
    LLMResponseError,
    LLMStatusError,
    LLMTimeoutError,
    ToolCall,
    UsageLedger,
    _count_tokens,
    _short,
    accounted_call,
    chat_response_format,
    rejects_schema,
    schema_response_format,
)

if TYPE_CHECKING:
    from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
    from langchain_core.runnables import Runnable

TOOL_CALLING = ("json", "native")
# how a chat model is asked for schema-constrained JSON: LLMConfig's three styles, and "prompt" for
# models that take no OpenAI `response_format` (the schema goes into the prompt, the reply is parsed)
ADAPTER_STYLES = (*SCHEMA_STYLES, "prompt")
SCHEMA_STYLE_KEY = "teammind_schema_style"  # where `chat_model` records the endpoint's style, in the model's metadata
ANSWER_KEY = "answer"
_TAG_KEYS = ("tool", "tool_name", "__tool__")  # the reply's tool-name key: the first one no bound tool takes as an argument
_FORCED = ("any", "required")
_PLACEHOLDERS: dict[str, Any] = {"string": "...", "integer": 0, "number": 0, "boolean": False, "array": [], "object": {}}


# --------------------------------------------------------------------------- OpenAI-compatible endpoints


@functools.cache
def _llama_cpp_chat_openai() -> type:
    """`ChatOpenAI` that sends `max_tokens`, as `LLMClient` does: llama-cpp-python's server ignores
    `max_completion_tokens` (what ChatOpenAI sends) and would generate until its context is full.

    Defined on first use so that importing this module does not import langchain-openai;
    it is this module's `LlamaCppChatOpenAI` (see `__getattr__`)."""
    from langchain_openai import ChatOpenAI

    class LlamaCppChatOpenAI(ChatOpenAI):
        __module__ = __name__
        __qualname__ = "LlamaCppChatOpenAI"
        def _get_request_payload(self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any) -> dict[str, Any]:
            payload = super()._get_request_payload(input_, stop=stop, **kwargs)
            if "max_completion_tokens" in payload:
                payload["max_tokens"] = payload.pop("max_completion_tokens")
            if payload.get("stream") is False:
                del payload["stream"]  # the API's default
            return payload

    return LlamaCppChatOpenAI


def __getattr__(name: str) -> Any:
    if name == "LlamaCppChatOpenAI":
        return _llama_cpp_chat_openai()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _with_response_format(kwargs: dict[str, Any], response_format: Mapping[str, Any] | None) -> dict[str, Any]:
    """`kwargs` for a ChatOpenAI call that sends `response_format` in the request body.

    It goes through `extra_body`: given as `response_format`, ChatOpenAI parses the reply as
    structured output and raises on a reply cut off by `max_tokens`, which callers here handle.
    """
    extra = {k: v for k, v in dict(kwargs.get("extra_body") or {}).items() if k != "response_format"}
    if response_format is not None:
        extra["response_format"] = dict(response_format)
    out = {k: v for k, v in kwargs.items() if k not in ("extra_body", "response_format")}
    if extra:
        out["extra_body"] = extra
    return out


def _openai_chat(cfg: LLMConfig, *, temperature: float, seed: int | None, max_tokens: int | None) -> BaseChatModel:
    """A `ChatOpenAI` for the endpoint `cfg` describes, with its JSON-schema style in the metadata."""
    from langchain_openai import ChatOpenAI

    from teammind.agents.llm_server import LLAMA_CPP_PYTHON_SCHEMA_STYLE

    cls = _llama_cpp_chat_openai() if cfg.schema_style == LLAMA_CPP_PYTHON_SCHEMA_STYLE else ChatOpenAI
    return cls(
        model=cfg.model,
        base_url=cfg.base_url,
        api_key=cfg.api_key,
        temperature=temperature,
        seed=seed,
        max_tokens=max_tokens,
        timeout=cfg.timeout_s,
        max_retries=cfg.max_retries,
        metadata={SCHEMA_STYLE_KEY: cfg.schema_style},
    )


def chat_model(
    llm: str = "embedded",
    *,
    model: str | None = None,
    api_key: str | None = None,
    temperature: float = 0.0,
    seed: int | None = None,
    max_tokens: int | None = None,
    timeout_s: float = 60.0,
    max_retries: int = 3,
    tool_calling: str | None = None,
    max_tool_rounds: int | None = None,
) -> BaseChatModel:
    """A LangChain chat model for `llm`: "embedded" (the local SmolLM2 server, started or reused),
    "embedded:gemma3" (the local Gemma 3 270M server), or an OpenAI-compatible base URL.

    `tool_calling` is "native" (the endpoint's own tool calls; the default for a URL) or "json"
    (tool calls as a JSON-schema-constrained reply; the default for the embedded servers, which
    have no tool calls). A URL's model and key come from `model` / `api_key`, else the
    environment (`TEAMMIND_LLM_MODEL`, `TEAMMIND_LLM_API_KEY`), else the endpoint's first model.
    `max_tool_rounds` bounds the tool-calling replies of a JSON tool-calling model per turn, after which
    only an answer is allowed (default: 1 for the embedded models, which otherwise repeat calls; 4 else);
    raise it for tasks that need several hops.
    """
    from teammind.agents.llm_server import EMBEDDED_MODELS, embedded_model, ensure_llm

    spec = (llm or "").strip() if isinstance(llm, str) else ""
    others = ", ".join(f"'embedded:{n}'" for n in EMBEDDED_MODELS if n != "smollm2")
    choices = f"'embedded', {others} or an http(s) URL such as 'http://127.0.0.1:8080/v1'"
    try:
        local = embedded_model(spec)
    except ValueError as err:
        raise LLMConfigError("llm", f"{err}.") from None
    if local is None and not spec.startswith(("http://", "https://")):
        raise LLMConfigError("llm", f"{llm!r} is not an LLM spec; use {choices}.")
    if model is not None and not model.strip():
        raise LLMConfigError(
            "model", "is empty; pass the model's name (GET <base URL>/models lists them), or omit it to use the endpoint's first model."
        )
    if local is not None and model is not None and model != local.alias:
        raise LLMConfigError(
            "model", f"the embedded server {spec!r} serves {local.alias!r}, not {model!r}; omit model, or pass the URL of an endpoint that serves it."
        )
    if tool_calling is not None and tool_calling not in TOOL_CALLING:
        raise LLMConfigError(
            "tool_calling", f"is {tool_calling!r}; use 'native' (the endpoint's own tool calls) or 'json' (tool calls as a JSON reply)."
        )
    if max_tool_rounds is not None and (isinstance(max_tool_rounds, bool) or not isinstance(max_tool_rounds, int) or max_tool_rounds < 1):
        raise LLMConfigError("max_tool_rounds", f"must be a positive integer or None, got {max_tool_rounds!r}; pass e.g. max_tool_rounds=3.")
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1):
        raise LLMConfigError("max_tokens", f"must be a positive integer or None, got {max_tokens!r}; pass e.g. max_tokens=256.")
    cfg = ensure_llm(spec, model=model, api_key=api_key, timeout_s=timeout_s, max_retries=max_retries)
    base = _openai_chat(cfg, temperature=temperature, seed=seed, max_tokens=max_tokens)
    if (tool_calling or ("json" if local is not None else "native")) == "native":
        return base
    if local is not None:
        # a model this small answers at once unless its first reply must be a tool call, and loops on tools unless bounded
        return JsonToolCallingChatModel(inner=base, schema_style=cfg.schema_style, system_role=local.system_role, tool_first=True,
                                        max_tool_rounds=max_tool_rounds or 1)
    return JsonToolCallingChatModel(inner=base, schema_style=cfg.schema_style, max_tool_rounds=max_tool_rounds or 4)


# --------------------------------------------------------------------------- tool calls as a JSON reply


def _text(content: Any) -> str:
    """A message's content as plain text (content blocks joined)."""
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, Mapping) and isinstance(block.get("text"), str):
            parts.append(block["text"])
    return "".join(parts)


def _loads(text: str) -> Any:
    """The JSON value in `text` (raw control characters inside strings allowed), else None."""
    for candidate in (text, *re.findall(r"\{.*\}", text, re.DOTALL)[:1]):
        try:
            return json.loads(candidate, strict=False)
        except (TypeError, ValueError):
            continue
    return None


def _type_hint(schema: Mapping[str, Any]) -> str:
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(map(str, kind))
    return str(kind or "value")


def _steer(params: Mapping[str, Any]) -> dict[str, Any]:
    """A required free string argument must be non-empty: small models otherwise fill in ""."""
    props = dict(params.get("properties") or {})
    for name in params.get("required") or []:
        prop = props.get(name)
        if isinstance(prop, Mapping) and prop.get("type") == "string" and not any(k in prop for k in ("enum", "const", "pattern", "format", "minLength")):
            props[name] = {**prop, "minLength": 1}
    return props


def _tag_key(tools: Sequence[Mapping[str, Any]]) -> str:
    """The key that names the tool in a reply: the first of `_TAG_KEYS` that no tool has as an argument."""
    taken = {p for t in tools for p in ((t["function"].get("parameters") or {}).get("properties") or {})}
    return next(k for k in _TAG_KEYS if k not in taken)


class _ToolTurn:
    """One reply that may be a tool call: the schema it follows, the tag key, and the tools by name."""

    def __init__(self, tools: Sequence[Mapping[str, Any]], allowed: Sequence[str], answer: bool) -> None:
        self.tools = {t["function"]["name"]: t["function"] for t in tools}
        self.tag = _tag_key(tools)
        options: list[dict[str, Any]] = []
        defs: dict[str, Any] = {}
        for name in allowed:
            params = self.tools[name].get("parameters") or {}
            defs.update(params.get("$defs") or {})
            options.append({
                "type": "object",
                "properties": {self.tag: {"const": name}, **_steer(params)},
                "required": [self.tag, *[r for r in params.get("required") or [] if r != self.tag]],
            })  # fmt: skip
        if answer:
            options.append({"type": "object", "properties": {ANSWER_KEY: {"type": "string", "minLength": 1}}, "required": [ANSWER_KEY]})
        self.schema: dict[str, Any] = options[0] if len(options) == 1 else {"anyOf": options}
        if defs:
            self.schema = {**self.schema, "$defs": defs}

    def instructions(self) -> str:
        """The system text that tells the model its tools and the reply format."""
        lines = ["You can use tools. Tools:"]
        for name, fn in self.tools.items():
            props = (fn.get("parameters") or {}).get("properties") or {}
            args = ", ".join(f"{json.dumps(p)}: {_type_hint(s)}" for p, s in props.items())
            desc = " ".join(str(fn.get("description") or "").split())
            lines.append(f"- {name}: {desc + ' ' if desc else ''}Arguments: {{{args}}}")
        name, fn = next(iter(self.tools.items()))
        props = (fn.get("parameters") or {}).get("properties") or {}
        example = {self.tag: name, **{p: _PLACEHOLDERS.get(str(s.get("type")), "...") for p, s in props.items()}}
        lines.append(
            f'To call a tool, reply with JSON such as {json.dumps(example)}. When you know the final answer, reply with JSON {{"{ANSWER_KEY}": "..."}}.'
        )
        return "\n".join(lines)

    def parse(self, text: str) -> AIMessage:
        """The reply as an AIMessage: a tool call, the final answer, or (unparsable) the raw text."""
        obj = _loads(text)
        if isinstance(obj, dict) and obj.get(self.tag) in self.tools:
            args = {k: v for k, v in obj.items() if k != self.tag}
            return AIMessage(content="", tool_calls=[{"name": obj[self.tag], "args": args, "id": f"call_{uuid.uuid4().hex[:24]}", "type": "tool_call"}])
        if isinstance(obj, dict) and ANSWER_KEY in obj:
            answer = obj[ANSWER_KEY]
            return AIMessage(content=answer if isinstance(answer, str) else json.dumps(answer))
        cut = re.match(rf'\s*\{{\s*"{ANSWER_KEY}"\s*:\s*"(.*)', text, re.DOTALL)  # an answer cut off by max_tokens
        if cut:
            return AIMessage(content=cut.group(1))
        named = re.match(rf'\s*\{{\s*"{re.escape(self.tag)}"\s*:\s*"([^"]+)"', text)
        if named and named.group(1) in self.tools:
            error = "the tool call is not complete JSON (raise max_tokens)"
            bad = {"name": named.group(1), "args": text, "id": f"call_{uuid.uuid4().hex[:24]}", "error": error, "type": "invalid_tool_call"}
            return AIMessage(content="", invalid_tool_calls=[bad])
        return AIMessage(content=text)


def _render_history(messages: Sequence[BaseMessage], tag: str) -> list[BaseMessage]:
    """Tool calls and tool results as plain assistant and user turns (small models' templates have no tool role)."""
    names: dict[str, str] = {}
    out: list[BaseMessage] = []
    for m in messages:
        if isinstance(m, AIMessage) and m.tool_calls:
            calls = []
            for call in m.tool_calls:
                names[call.get("id") or ""] = call["name"]
                calls.append(json.dumps({tag: call["name"], **(call.get("args") or {})}))
            out.append(AIMessage(content="\n".join([t for t in (_text(m.content).strip(),) if t] + calls)))
        elif isinstance(m, ToolMessage):
            name = m.name or names.get(m.tool_call_id, "the tool")
            verb = "failed" if m.status == "error" else "returned"
            out.append(HumanMessage(content=f"The tool {name} {verb}: {_text(m.content)}"))
        else:
            out.append(m)
    return out


def _rounds(messages: Sequence[BaseMessage]) -> int:
    """Tool-calling replies since the user last spoke."""
    n = 0
    for m in reversed(messages):
        if isinstance(m, HumanMessage):
            break
        if isinstance(m, AIMessage) and m.tool_calls:
            n += 1
    return n


def _with_system(messages: list[BaseMessage], text: str) -> list[BaseMessage]:
    if messages and isinstance(messages[0], SystemMessage):
        return [SystemMessage(content=f"{_text(messages[0].content)}\n\n{text}"), *messages[1:]]
    return [SystemMessage(content=text), *messages]


def _fold_system(messages: list[BaseMessage]) -> list[BaseMessage]:
    """System text moved to the start of the first user turn, for chat formats that drop system messages."""
    system = "\n\n".join(_text(m.content) for m in messages if isinstance(m, SystemMessage))
    rest = [m for m in messages if not isinstance(m, SystemMessage)]
    if not system:
        return rest
    for i, m in enumerate(rest):
        if isinstance(m, HumanMessage):
            return [*rest[:i], HumanMessage(content=f"{system}\n\n{_text(m.content)}"), *rest[i + 1 :]]
    return [HumanMessage(content=system), *rest]


def _usage(message: AIMessage, prompt: Sequence[BaseMessage], reply: str) -> dict[str, int]:
    """The message's token usage, counted with tiktoken when the model reported none."""
    if message.usage_metadata:
        return dict(message.usage_metadata)
    inp = _count_tokens("\n".join(_text(m.content) for m in prompt))
    out = _count_tokens(reply)
    return {"input_tokens": inp, "output_tokens": out, "total_tokens": inp + out}


class JsonToolCallingChatModel(BaseChatModel):
    """Tool calling for a chat model without it: each reply that may call a tool is JSON that follows
    a schema choosing between the bound tools' arguments and a final answer.

    `inner` sends the requests (a `ChatOpenAI` for an endpoint without native tool calls);
    `schema_style` says how it takes the schema (see `ADAPTER_STYLES`). Steering for small
    models: with `tool_choice="auto"`, `tool_first` makes the first reply after a user turn a
    tool call, and after `max_tool_rounds` tool-calling replies only a final answer is allowed,
    so an agent loop ends. Calls without tools go to `inner` unchanged.
    """

    inner: BaseChatModel
    schema_style: str = "json_schema"
    tool_first: bool = False
    max_tool_rounds: int = 4
    system_role: bool = True  # False: system text is folded into the first user turn
    tool_max_tokens: int = 256  # the reply budget of a tool turn when no max_tokens is set

    @property
    def _llm_type(self) -> str:
        return "json-tool-calling"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"inner": self.inner._identifying_params, "schema_style": self.schema_style, "tool_first": self.tool_first,
                "max_tool_rounds": self.max_tool_rounds, "system_role": self.system_role}  # fmt: skip

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: str | bool | dict[str, Any] | None = None, **kwargs: Any) -> Runnable[Any, AIMessage]:
        """Bind tools (LangChain tools, functions, pydantic classes or OpenAI tool dicts); `tool_choice` is
        "auto", "none", "any"/"required"/True, or a tool's name (also as {"type": "function", "function": {"name": ...}})."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        self._choice(formatted, tool_choice)  # fail at bind time, not on the first call
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    @staticmethod
    def _choice(tools: Sequence[Mapping[str, Any]], tool_choice: Any) -> tuple[list[str], bool]:
        """(tools the reply may call, whether it is forced to call one)."""
        names = [t["function"]["name"] for t in tools]
        if tool_choice in (None, "auto", False, "none"):
            return (names if tool_choice not in (False, "none") else []), False
        if tool_choice is True or tool_choice in _FORCED:
            return names, True
        name = tool_choice.get("function", {}).get("name") if isinstance(tool_choice, Mapping) else tool_choice
        if name not in names:
            raise ValueError(f"tool_choice {tool_choice!r} names no bound tool; use 'auto', 'none', 'any', or one of {names}")
        return [name], True

    def _plan(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> tuple[list[BaseMessage], dict[str, Any], _ToolTurn | None]:
        """The messages and request arguments for `inner`, and the tool turn when the reply may call a tool."""
        tools = kwargs.pop("tools", None) or []
        allowed, forced = self._choice(tools, kwargs.pop("tool_choice", None))
        kwargs.pop("parallel_tool_calls", None)
        turn: _ToolTurn | None = None
        prompt = messages
        if any(isinstance(m, ToolMessage) or (isinstance(m, AIMessage) and m.tool_calls) for m in messages) or allowed:
            prompt = _render_history(messages, _tag_key(tools))
        if allowed:
            rounds = _rounds(messages)
            if forced:
                answer = False
            elif rounds >= self.max_tool_rounds:
                allowed, answer = [], True
            else:
                answer = not (self.tool_first and rounds == 0)
            turn = _ToolTurn(tools, allowed, answer)
            prompt = _with_system(prompt, turn.instructions())
            if self.schema_style != "prompt":
                kwargs = _with_response_format(kwargs, schema_response_format(turn.schema, self.schema_style, name="tool_or_answer"))
                if kwargs.get("max_tokens") is None and getattr(self.inner, "max_tokens", None) is None:
                    kwargs["max_tokens"] = self.tool_max_tokens
            else:
                kwargs = _with_response_format(kwargs, None)
                prompt = _with_system(prompt, f"Reply with one JSON object that follows this JSON schema: {json.dumps(turn.schema)}")
        if not self.system_role:
            prompt = _fold_system(list(prompt))
        return list(prompt), kwargs, turn

    def _finish(self, result: ChatResult, prompt: list[BaseMessage], turn: _ToolTurn | None) -> ChatResult:
        generations = []
        for gen in result.generations:
            raw = gen.message
            reply = _text(raw.content)
            source = raw if isinstance(raw, AIMessage) else AIMessage(content=raw.content)
            message = turn.parse(reply) if turn is not None else source
            message.usage_metadata = _usage(source, prompt, reply)  # type: ignore[assignment]
            message.response_metadata = {**raw.response_metadata, **({"json_reply": reply} if turn is not None else {})}
            message.id = raw.id
            generations.append(ChatGeneration(message=message, generation_info=gen.generation_info))
        return ChatResult(generations=generations, llm_output=result.llm_output)

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any
    ) -> ChatResult:
        prompt, request, turn = self._plan(messages, kwargs)
        # `inner` is called below the callbacks: this model reports the call (and its usage) once
        return self._finish(self.inner._generate(prompt, stop=stop, **request), prompt, turn)

    async def _agenerate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any
    ) -> ChatResult:
        prompt, request, turn = self._plan(messages, kwargs)
        return self._finish(await self.inner._agenerate(prompt, stop=stop, **request), prompt, turn)


# --------------------------------------------------------------------------- teammind's chat(...) on any chat model


class ChatClient(Protocol):
    """What the built-in agents call: one chat completion, accounted, failing with an `LLMError`."""

    def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        json_mode: bool = False,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        max_tokens: int = 256,
        temperature: float = 0.0,
        team: str | None = None,
        json_schema: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> LLMReply: ...


def schema_style_of(model: BaseChatModel) -> str:
    """How `model` takes a JSON schema: recorded by `chat_model`, else OpenAI's style for `ChatOpenAI`-like
    models, else "prompt" (no `response_format`; the schema goes into the prompt)."""
    style = (getattr(model, "metadata", None) or {}).get(SCHEMA_STYLE_KEY)
    if style in ADAPTER_STYLES:
        return str(style)
    if isinstance(model, JsonToolCallingChatModel):
        return model.schema_style
    try:
        from langchain_openai.chat_models.base import BaseChatOpenAI
    except ImportError:  # pragma: no cover - langchain-openai is a core dependency
        return "prompt"
    return "json_schema" if isinstance(model, BaseChatOpenAI) else "prompt"


def _error_status(exc: BaseException) -> int | None:
    """The HTTP error status an exception carries (LangChain attaches the response, 200 included, to any failure)."""
    code = getattr(exc, "status_code", None)
    if not isinstance(code, int):
        code = getattr(getattr(exc, "response", None), "status_code", None)
    return code if isinstance(code, int) and code >= 400 else None


def llm_error(exc: Exception, where: str) -> LLMError:
    """The `LLMError` subclass for a chat model's exception (openai's, langchain-core's `ModelError`s, or any other)."""
    import openai
    from langchain_core import exceptions as lc

    if isinstance(exc, LLMError):
        return exc
    detail = _short(str(exc) or type(exc).__name__, 200)
    if isinstance(exc, openai.APITimeoutError | lc.ModelTimeoutError | TimeoutError):
        return LLMTimeoutError(f"timed out calling {where}: {detail}")
    if isinstance(exc, openai.APIConnectionError | lc.ModelConnectionError | ConnectionError):
        cause = exc.__cause__ or exc.__context__
        return LLMConnectionError(f"cannot connect to {where}: {_short(cause) if cause else detail}")
    status = _error_status(exc)
    if status is None and isinstance(exc, lc.ModelError):
        status = next((code for cls, code in ((lc.ModelRateLimitError, 429), (lc.ModelAPIError, 500), (lc.ModelNotFoundError, 404),
                                              (lc.ModelAuthenticationError, 401), (lc.ModelPermissionDeniedError, 403),
                                              (lc.ModelInvalidRequestError, 400)) if isinstance(exc, cls)), None)  # fmt: skip
    if status is not None:
        body = str(getattr(getattr(exc, "response", None), "text", "") or "") or str(exc)
        return LLMStatusError(f"HTTP {status} from {where}: {_short(body, 200)}", status_code=status, body=body)
    if isinstance(exc, ValueError | TypeError | LookupError | AttributeError):  # a body that is not a chat completion
        return LLMResponseError(f"malformed reply from {where}: {detail}")
    return LLMError(f"LLM call to {where} failed: {type(exc).__name__}: {detail}")


def _describe(model: BaseChatModel) -> str:
    inner = model.inner if isinstance(model, JsonToolCallingChatModel) else model
    name = getattr(inner, "model_name", None) or getattr(inner, "model", None) or type(inner).__name__
    base = getattr(inner, "openai_api_base", None)
    return f"{base} (model {name})" if base else f"{type(inner).__name__} (model {name})"


class ChatModelClient:
    """`chat(...) -> LLMReply` on a LangChain chat model, so the built-in agents run on any of them.

    The JSON schema is asked for in the model's style (`schema_style_of`, or `schema_style`):
    OpenAI's `response_format` (json_schema / json_object / none) with `max_tokens` and
    `temperature` for `ChatOpenAI`-like models; for other models ("prompt") the schema goes
    into the system prompt and their own sampling settings apply. Usage comes from the reply's
    `usage_metadata` (counted with tiktoken when the model reports none); every failure is an
    `LLMError` with the usage the failed call cost. Thread-safe when the model is.
    """

    def __init__(
        self, model: BaseChatModel, *, schema_style: str | None = None, ledger: UsageLedger | None = None, max_retries: int | None = None
    ) -> None:
        if schema_style is not None and schema_style not in ADAPTER_STYLES:
            raise LLMConfigError("schema_style", f"is {schema_style!r}; use one of {ADAPTER_STYLES}.")
        self.model = model
        self.schema_style = schema_style or schema_style_of(model)
        self.ledger = ledger
        inner = model.inner if isinstance(model, JsonToolCallingChatModel) else model
        retries = max_retries if max_retries is not None else getattr(inner, "max_retries", None)
        self.max_retries = retries if isinstance(retries, int) and retries >= 0 else 2  # for replies that are not a chat completion
        self.where = _describe(model)
        self._schema_rejected = False

    def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        json_mode: bool = False,
        tools: Sequence[Mapping[str, Any]] | None = None,
        tool_choice: str | Mapping[str, Any] | None = None,
        max_tokens: int = 256,
        temperature: float = 0.0,
        team: str | None = None,
        json_schema: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> LLMReply:
        """One chat completion, as `LLMClient.chat`. Raises an `LLMError` subclass (never a provider's exception)."""
        lc_messages = convert_to_messages([dict(m) for m in messages])
        kwargs: dict[str, Any] = {}
        schema_sent = False
        if self.schema_style == "prompt":
            if json_schema is not None:
                lc_messages = _with_system(lc_messages, f"Reply with one JSON object that follows this JSON schema: {json.dumps(dict(json_schema))}")
            elif json_mode:
                lc_messages = _with_system(lc_messages, "Reply with one JSON object.")
        else:
            response_format, schema_sent = chat_response_format(json_schema, json_mode, self.schema_style, self._schema_rejected)
            request = {"max_tokens": int(max_tokens), "temperature": float(temperature), "extra_body": dict(extra_body or {})}
            kwargs = _with_response_format(request, response_format)
        runnable: Any = self.model
        if tools:
            try:
                runnable = self.model.bind_tools(list(tools), tool_choice=tool_choice)
            except NotImplementedError:
                raise LLMConfigError("tools", f"{type(self.model).__name__} has no tool calling; wrap it in JsonToolCallingChatModel.") from None
        try:
            return self._chat(runnable, lc_messages, kwargs, team)
        except LLMStatusError as exc:
            if not rejects_schema(exc, schema_sent):
                raise
            self._schema_rejected = True
            reply = self._chat(runnable, lc_messages, _with_response_format(kwargs, {"type": "json_object"}), team)
            reply.usage = LLMUsage().add(exc.usage).add(reply.usage)
            return reply

    def _chat(self, runnable: Any, messages: list[BaseMessage], kwargs: dict[str, Any], team: str | None) -> LLMReply:
        config = {"metadata": {"team": team}} if team else None

        def attempt(start: float, retries: int) -> LLMReply:
            try:
                message = runnable.invoke(messages, config=config, **kwargs)
            except Exception as exc:  # noqa: BLE001 - every provider's errors become LLMErrors
                raise llm_error(exc, self.where) from None
            if not isinstance(message, AIMessage):
                raise LLMResponseError(f"malformed reply from {self.where}: {type(message).__name__}, not an AIMessage")
            return self._reply(message, messages, time.perf_counter() - start, retries)

        return accounted_call(attempt, self.max_retries, lambda usage: self._account(team, usage))

    def _account(self, team: str | None, usage: LLMUsage) -> None:
        if self.ledger is not None:
            self.ledger.add(team or "", usage)

    @staticmethod
    def _reply(message: AIMessage, prompt: list[BaseMessage], latency: float, retries: int) -> LLMReply:
        text = _text(message.content)
        calls = [ToolCall(name=c["name"], arguments=c.get("args"), id=c.get("id") or "") for c in message.tool_calls]
        meta = message.usage_metadata
        estimated = not meta
        if meta:
            prompt_tokens, completion_tokens = int(meta.get("input_tokens") or 0), int(meta.get("output_tokens") or 0)
        else:
            prompt_tokens = _count_tokens("\n".join(_text(m.content) for m in prompt))
            completion_tokens = _count_tokens(text + "".join(json.dumps(c.arguments) for c in calls))
        return LLMReply(
            text=text,
            usage=LLMUsage(calls=1, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, latency_s=latency),
            raw=message,
            tool_calls=calls,
            finish_reason=message.response_metadata.get("finish_reason"),
            model=str(message.response_metadata.get("model_name") or message.response_metadata.get("model") or ""),
            retries=retries,
            usage_estimated=estimated,
        )


def as_chat_client(llm: LLMClient | LLMConfig | BaseChatModel | ChatClient, *, ledger: UsageLedger | None = None) -> ChatClient:
    """The object with `.chat(...)` for an `LLMClient` (as is), an `LLMConfig` (a new `LLMClient`),
    or any LangChain `BaseChatModel` (a `ChatModelClient`)."""
    if isinstance(llm, LLMClient | ChatModelClient):
        return llm
    if isinstance(llm, LLMConfig):
        return LLMClient(llm, ledger=ledger)
    if isinstance(llm, BaseChatModel):
        return ChatModelClient(llm, ledger=ledger)
    if callable(getattr(llm, "chat", None)):
        return llm
    raise LLMConfigError(
        "llm",
        f"a {type(llm).__name__} is not an LLM; pass an LLMClient, an LLMConfig, or a LangChain chat model "
        "(e.g. teammind.agents.chat_model('embedded')).",
    )

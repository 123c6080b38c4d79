"""The reasoning-gym adapter: spec parsing, determinism, answers and tools as free-text actions."""

from __future__ import annotations

import pytest

pytest.importorskip("reasoning_gym", reason="needs the envs extra: pip install -e '.[envs]'")

from teammind.suites import make_env_factory
from teammind.suites.reasoning_gym.env import TEMPLATES, RGEnv, make_factory, parse_action, scripted_agent_factory


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ("rg:", "dataset:"),
        ("rg:no_such_dataset", "dataset:"),
        ("rg:arc_1d:max_answers=0", "max_answers:"),
        ("rg:arc_1d:max_answers=two", "max_answers:"),
        ("rg:arc_1d:task_names=not_a_task", "task_names:"),
        ("rg:gsm_symbolic:task_names=move_1pix_solid_right", "task_names:"),
        ("rg:arc_1d:bogus=1", "bogus:"),
        ("rg:arc_1d:size=10", "size:"),
        ("rg:arc_1d:min_size=2", "min_size:"),
        ("rg:chain_sum:min_terms=many", "min_terms:"),
        ("rg:arc_1d:max_answers", "options:"),
        ("rg:arc_1d:python_timeout=0", "python_timeout:"),
        ("rg:arc_1d:task_names=gravity_left|gravity_right,task_weights=3", "task_weights:"),
        ("rg:arc_1d:task_names=gravity_left,task_weights=0", "task_weights:"),
        ("rg:arc_1d:task_names=gravity_left,task_weights=heavy", "task_weights:"),
        ("rg:arc_1d:task_weights=2", "task_weights:"),
        ("rg:arc_1d:solver_order=random", "solver_order:"),
    ],
)
def test_spec_errors_name_the_field(spec, field):
    with pytest.raises(ValueError) as err:
        make_factory(spec)
    assert str(err.value).startswith(field)


def test_unknown_task_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="valid names: .*move_1pix_solid_right"):
        make_factory("rg:arc_1d:task_names=nope")


def test_registry_builds_rg_environments_with_canonical_spec():
    factory = make_env_factory("rg:chain_sum:max_answers=2,min_terms=3")
    assert factory.spec == "rg:chain_sum:max_answers=2,min_terms=3"
    env = factory()
    assert isinstance(env, RGEnv) and env.options.max_answers == 2


def test_same_seed_same_item_and_family():
    a, b = make_factory("rg:arc_1d")(), make_factory("rg:arc_1d")()
    oa, ob = a.reset(7), b.reset(7)
    assert (oa.task, a.family, a.index) == (ob.task, b.family, b.index)
    assert a.reset(8).task != oa.task


def test_observation_is_free_text_with_action_templates():
    env = make_factory("rg:gsm_symbolic")()
    obs = env.reset(0)
    assert obs.free_text and obs.valid_actions == TEMPLATES
    assert obs.task == obs.text and "final answer" in obs.task


def test_families_name_the_template():
    gsm = make_factory("rg:gsm_symbolic")()
    gsm.reset(0)
    assert gsm.family.startswith("gsm_symbolic/t") and gsm.family[len("gsm_symbolic/t") :].isdigit()
    arc = make_factory("rg:arc_1d")()
    arc.reset(3)
    assert arc.family == arc.entry["metadata"]["task_name"]
    chain = make_factory("rg:chain_sum")()
    chain.reset(0)
    assert chain.family == "chain_sum"


def test_task_names_restrict_arc_items():
    env = make_factory("rg:arc_1d:task_names=gravity_left|mark_size_two_blocks")()
    families = set()
    for seed in range(6):
        env.reset(seed)
        families.add(env.family)
    assert families <= {"gravity_left", "mark_size_two_blocks"} and len(families) == 2


def test_task_weights_skew_which_family_seeds_play():
    from collections import Counter

    from teammind.suites.reasoning_gym.env import _dataset

    env = make_factory("rg:arc_1d:task_names=gravity_left|gravity_right|change_to_five,task_weights=8|1|1")()
    ds = _dataset("arc_1d", env.options)
    played = Counter(ds[env.locate(seed)[1]]["metadata"]["task_name"] for seed in range(100))
    assert set(played) == {"gravity_left", "gravity_right", "change_to_five"}
    assert played["gravity_left"] > 60 and played["gravity_right"] < 25 and played["change_to_five"] < 25
    assert env.options.spec.endswith("task_weights=8|1|1")
    with pytest.raises(ValueError, match=r"task_names=a\|b,task_weights=3\|1"):  # the fix names the spec's own separator
        make_factory("rg:arc_1d:task_names=gravity_left|gravity_right,task_weights=3")


def test_several_datasets_alternate_by_seed():
    env = make_factory("rg:basic_arithmetic,chain_sum")()
    seen = []
    for seed in range(4):
        env.reset(seed)
        seen.append((env.dataset, env.index))
    assert seen == [("basic_arithmetic", 0), ("chain_sum", 0), ("basic_arithmetic", 1), ("chain_sum", 1)]


def test_correct_answer_succeeds_and_ends_the_episode():
    env = make_factory("rg:arc_1d")()
    env.reset(1)
    result = env.step("answer " + env.entry["answer"])
    assert result.done and result.observation.success and env.score() == 1.0 and result.reward == 1.0
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step("answer 0")


def test_non_numeric_answer_to_gsm_symbolic_scores_zero():
    env = make_factory("rg:gsm_symbolic")()
    env.reset(0)
    result = env.step("answer banana")
    assert result.info["answer_score"] == 0.0 and env.score() == 0.0 and result.done


def test_a_scorer_that_raises_scores_zero(monkeypatch):
    env = make_factory("rg:chain_sum")()
    env.reset(0)
    from teammind.suites.reasoning_gym import env as rg

    ds = rg._dataset("chain_sum", env.options)

    def broken(answer, entry):
        raise ValueError("cannot parse")

    monkeypatch.setattr(ds, "score_answer", broken)
    result = env.step("answer 12")
    assert result.info["answer_score"] == 0.0 and not result.observation.success


def test_answer_attempts_are_limited():
    env = make_factory("rg:chain_sum:max_answers=2")()
    env.reset(0)
    first = env.step("answer 123456789")
    assert not first.done and first.info["answers_left"] == 1 and "1 answer attempt left" in first.observation.text
    second = env.step("answer " + env.entry["answer"])
    assert second.done and env.success()
    env.reset(0)
    env.step("answer 1")
    last = env.step("answer 2")
    assert last.done and not env.success() and "No answer attempts left" in last.observation.text


def test_unknown_action_form_is_explained_not_fatal():
    env = make_factory("rg:chain_sum")()
    env.reset(0)
    result = env.step("think about it")
    assert not result.done and result.info["invalid_action"]
    assert "answer <text>" in result.observation.text or "'answer <text>'" in result.observation.text
    assert env.answers_left == 1


def test_calculate_and_python_actions_return_tool_output():
    env = make_factory("rg:chain_sum")()
    env.reset(0)
    assert env.step("calculate 6 * 7").observation.text.endswith("= 42")
    assert env.step("calculate x + 1").observation.text.startswith("error:")
    assert env.step("python\nprint(sum(range(5)))").observation.text == "10"
    assert env.step("python ```python\nprint('fenced')\n```").observation.text == "fenced"
    assert env.steps == 4 and env.answers_left == 1


def test_parse_action_forms():
    assert parse_action("Answer: 42") == ("answer", "42")
    assert parse_action("python\nprint(1)\n") == ("python", "print(1)")
    assert parse_action("hello world") == (None, "hello world")


def test_scripted_agent_only_for_datasets_it_can_solve():
    assert callable(scripted_agent_factory("rg:arc_1d"))
    with pytest.raises(ValueError, match=r"^agent: .*gsm_symbolic.*arc_1d"):
        scripted_agent_factory("rg:gsm_symbolic")


def test_llm_free_text_replies_keep_their_form_or_become_answers():
    from teammind.agents.llm_agent import match_free_text, reply_schema

    assert match_free_text("Python\nprint(1)", TEMPLATES) == ("python\nprint(1)", "free")
    assert match_free_text("calculate 2 + 2", TEMPLATES) == ("calculate 2 + 2", "free")
    assert match_free_text("42", TEMPLATES) == ("answer 42", "free-answer")
    assert match_free_text("  ", TEMPLATES) == (None, "fallback")
    schema = reply_schema(TEMPLATES, free_text=True)
    assert schema["properties"]["action"]["enum"] == ["answer", "calculate", "python"] and "argument" in schema["required"]


def test_llm_free_text_reply_joins_the_action_word_and_its_argument():
    from _fake_openai import FakeOpenAI, ok

    from teammind.agents.base import StepContext
    from teammind.agents.environment import Observation
    from teammind.agents.llm import LLMClient, LLMConfig
    from teammind.agents.llm_agent import LLMAgent

    obs = Observation("What is 2 + 3?", TEMPLATES, "What is 2 + 3?", free_text=True)
    ctx = StepContext(task=obs.task, observation=obs, step_index=0, max_steps=3, team="team-0", memory=None)
    with FakeOpenAI([ok('{"action": "calculate", "argument": "2 + 3", "note": "sum"}')]) as srv:
        action = LLMAgent(LLMClient(LLMConfig(srv.base_url, "fake-model", timeout_s=5, max_retries=1))).act(ctx)
        schema = srv.requests[0]["response_format"]["json_schema"]["schema"]
    assert action.action == "calculate 2 + 3"
    assert schema["properties"]["action"]["enum"] == ["answer", "calculate", "python"]


def test_the_spec_accepts_exactly_the_solver_orders_the_scripted_solver_has():
    from teammind.suites.reasoning_gym.scripted import SOLVER_ORDERS as SOLVER
    from teammind.suites.reasoning_gym.env import SOLVER_ORDERS as SPEC

    assert SPEC == SOLVER
    assert scripted_agent_factory("rg:arc_1d:solver_order=sampled")("team-0").order_kind == "sampled"

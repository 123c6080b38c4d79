"""Evaluation and admission training on your own team and task list, through the same specs as the built-in suites."""

from __future__ import annotations

import json
import textwrap

import pytest

from teammind import EvalSpec, TrainSpec, evaluate, train
from teammind.memory import InvalidFieldError
from teammind.rl.train import TrainConfig

TEAM_MODULE = textwrap.dedent('''
    from langchain_core.tools import tool
    from langgraph.prebuilt import create_react_agent
    from scripted_chat import ScriptedChatModel

    @tool
    def square(x: int) -> int:
        """Square x."""
        return x * x

    def make_team(memory):
        # every team squares the task's number first, then its own rank: the first call is shared, the second is not
        def answer(messages):
            return str(int(messages[0].content.split()[-1]) ** 2)
        model = ScriptedChatModel(plan=[("square", {"x": 7}), ("square", {"x": memory.rank})], answer_fn=answer)
        return create_react_agent(model, memory.share([square]) + memory.tools())

    def load(n="8"):
        return [{"task": f"square {i}", "grade": (lambda a, i=i: a.strip() == str(i * i))} for i in range(int(n))]
''')


@pytest.fixture
def team_module(tmp_path, monkeypatch):
    (tmp_path / "squareteam.py").write_text(TEAM_MODULE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_eval_plays_every_variant_on_your_tasks_with_tool_call_columns(team_module):
    data = evaluate(EvalSpec(team="squareteam:make_team", tasks="squareteam:load:n=4", seeds=(0, 1, 2), variants=("none", "all", "novelty")))
    rows = {r["variant"]: r for r in data["rows"]}
    assert set(rows) == {"none", "all", "novelty"} and all(r["success"] == 1.0 for r in rows.values())
    # the first team to answer stops the others, so how many calls the others got to make depends on thread timing
    assert 2.0 <= rows["none"]["tool_calls"] <= 6.0 and rows["none"]["tool_calls_shared"] == 0.0
    assert rows["all"]["tool_calls_shared"] > 0 and rows["all"]["admitted"] > 0
    assert rows["all"]["env_steps"] == rows["all"]["tool_calls"]
    assert rows["all"]["env_steps_ratio_to_none"] == pytest.approx(rows["all"]["tool_calls"] / rows["none"]["tool_calls"], rel=1e-3)


def test_training_on_your_team_writes_a_policy_and_held_out_evaluations(team_module):
    out = team_module / "run"
    config = TrainConfig(team="squareteam:make_team", tasks="squareteam:load:n=8", train_seeds=(0, 5), eval_seeds=(6, 7), episodes=4,
                         group=2, tasks_per_iteration=1, eval_every=1)
    result = train(TrainSpec(out=str(out), config=config))
    evals = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if '"eval"' in line]
    assert {e["variant"] for e in evals} >= {"none", "all", "learned"}
    assert (out / "admission.safetensors").is_file() and result["last"]["iteration"] == config.iterations == 2
    from teammind.suites.registry import trained_on

    assert trained_on(out / "admission.safetensors") == "squareteam:make_team on squareteam:load:n=8"


def test_ungraded_tasks_are_refused_for_learning(team_module):
    (team_module / "plain.py").write_text("def load():\n    return ['square 3']\n")
    with pytest.raises(InvalidFieldError) as err:
        evaluate(EvalSpec(team="squareteam:make_team", tasks="plain:load", seeds=(0,), variants=("all",)))
    assert err.value.field == "grader"


def test_a_team_without_tasks_is_refused():
    with pytest.raises(InvalidFieldError) as err:
        EvalSpec(team="squareteam:make_team", seeds=(0,))
    assert err.value.field == "tasks"


def test_one_policy_trains_on_a_mix_and_reports_each_part(team_module):
    from teammind.memory import LearnedAdmission
    from teammind.rl.train import MixPart

    out = team_module / "mix"
    mix = (MixPart(team="squareteam:make_team", tasks="squareteam:load:n=8", train_seeds=(0, 5), eval_seeds=(6,)),
           MixPart(team="squareteam:make_team", tasks="squareteam:load:n=12", train_seeds=(0, 9), eval_seeds=(10, 11)))
    config = TrainConfig(mix=mix, features="scalar", episodes=4, group=2, tasks_per_iteration=2, eval_every=1)
    train(TrainSpec(out=str(out), config=config))
    evals = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if '"eval"' in line]
    assert all(set(e["parts"]) == {p.name for p in mix} for e in evals)
    policy = LearnedAdmission.load(out / "admission.safetensors")
    assert policy.features == "scalar" and policy.trained_on == " + ".join(p.name for p in mix)


def test_a_mix_file_with_an_unknown_field_names_it(tmp_path):
    path = tmp_path / "mix.json"
    path.write_text(json.dumps([{"env": "twx:coin", "train_seeds": [1000, 1999], "eval_seeds": [0], "worlds": 3}]))
    with pytest.raises(InvalidFieldError) as err:
        TrainConfig.load_mix(path)
    assert err.value.field == "mix.worlds"

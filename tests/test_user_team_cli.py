"""`teammind run --team module:factory --task/--tasks`: your own LangGraph team from the command line."""

from __future__ import annotations

import json
import textwrap

import pytest

from teammind import RunSpec, run
from teammind.cli import main
from teammind.memory import InvalidFieldError

TEAM_MODULE = textwrap.dedent('''
    from langchain_core.tools import tool
    from langgraph.prebuilt import create_react_agent
    from scripted_chat import ScriptedChatModel

    RUNS = []

    @tool
    def double(x: int) -> int:
        """Double x."""
        RUNS.append(x)
        return 2 * x

    def make_team(memory, answer="4"):
        model = ScriptedChatModel(plan=[("double", {"x": 2})], answer=answer)
        return create_react_agent(model, memory.share([double]) + memory.tools())

    def grade(answer):
        return answer.strip() == "4"

    def load(n="2"):
        return [f"what is double {i}?" for i in range(int(n))]
''')


@pytest.fixture
def team_module(tmp_path, monkeypatch):
    (tmp_path / "myteam.py").write_text(TEAM_MODULE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_run_with_your_own_team_and_one_task_writes_its_summary(team_module):
    out = team_module / "out.json"
    code = main(["run", "--team", "myteam:make_team", "--task", "what is double 2?", "--grader", "myteam:grade", "--admission", "all",
                 "--aggregator", "majority", "--bank", "memory", "--json", str(out), "--quiet"])
    summary = json.loads(out.read_text())
    assert code == 0 and summary["success"] == 1.0 and summary["answer"] == "4"
    assert summary["tool_calls"] == 1 and summary["tool_calls_shared"] == 2 and summary["admission"] == "all"


def test_factory_options_reach_your_team(team_module):
    out = team_module / "out.json"
    main(["run", "--team", "myteam:make_team:answer=5", "--task", "q", "--grader", "myteam:grade", "--admission", "none", "--json", str(out),
          "--quiet"])
    summary = json.loads(out.read_text())
    assert summary["answer"] == "5" and summary["success"] == 0.0 and summary["tool_calls"] == 3


def test_a_task_loader_runs_every_task(team_module):
    out = team_module / "out.json"
    main(["run", "--team", "myteam:make_team", "--tasks", "myteam:load:n=3", "--grader", "myteam:grade", "--admission", "all",
          "--aggregator", "majority", "--bank", "memory", "--json", str(out), "--quiet"])
    summary = json.loads(out.read_text())
    assert summary["tasks"] == 3 and len(summary["runs"]) == 3 and summary["success"] == 1.0
    assert summary["tool_calls"] == sum(r["tool_calls"] for r in summary["runs"])


def test_the_python_api_gives_the_cli_summary(team_module):
    out = team_module / "out.json"
    argv = ["--team", "myteam:make_team", "--task", "q", "--grader", "myteam:grade", "--admission", "none", "--aggregator", "majority"]
    main(["run", *argv, "--json", str(out), "--quiet"])
    cli = json.loads(out.read_text())
    api = run(RunSpec(team="myteam:make_team", task="q", grader="myteam:grade", admission="none", aggregator="majority"))
    drop = {"run_id", "namespace", "wall_s", "teams", "answer_team"}  # under a tie, the first team to finish answers
    assert {k: v for k, v in cli.items() if k not in drop} == {k: v for k, v in api.items() if k not in drop}


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"team": "myteam:make_team"}, "task"),
    ({"team": "myteam:make_team", "task": "q", "tasks": "myteam:load"}, "task"),
    ({"task": "q"}, "task"),
    ({"team": "orchestra"}, "team"),
])
def test_a_bad_user_team_spec_names_the_field(kwargs, field):
    with pytest.raises(InvalidFieldError) as err:
        RunSpec(**kwargs)
    assert err.value.field == field


def test_an_unknown_team_module_is_a_clear_error(team_module, capsys):
    code = main(["run", "--team", "nosuchmodule:make", "--task", "q", "--admission", "none", "--quiet"])
    assert code == 2 and "cannot import module 'nosuchmodule'" in capsys.readouterr().err

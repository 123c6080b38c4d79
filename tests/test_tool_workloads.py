"""Tool workloads where parallel teams overlap: the scripted arithmetic team, and the bench and CLI runs of both workloads."""

from __future__ import annotations

import json
from fractions import Fraction
from functools import partial

import pytest

from teammind import ParallelTeams
from teammind.agents.team_memory import TeamMemory
from teammind.suites.reasoning_gym.scripted import arithmetic_expression
from teammind.suites.reasoning_gym.tasks import load_tasks
from teammind.suites.reasoning_gym.team import ArithmeticSolver, ExpressionError, operation_text, parse_tree, scripted_team


def tree_value(expression: str) -> Fraction:
    """The value of `parse_tree(expression)`, computed exactly node by node."""
    values: dict[str, Fraction] = {}
    for name, node in parse_tree(expression).items():
        if "num" in node:
            values[name] = Fraction(node["num"])
        elif "neg" in node:
            values[name] = -values[node["neg"]]
        else:
            left, right = values[node["left"]], values[node["right"]]
            values[name] = {"+": left + right, "-": left - right, "*": left * right, "/": left / right}[node["op"]]
    return values[name]


@pytest.mark.parametrize("expression", ["1 - 2 - 3 + 4", "5 - 3 - 6", "2 - -1", "( 56 + -33 ) - 84", "-( ( -6915 / 5 ) - 7652 + 4844 ) - 7314",
                                        "415 * 336 * -940 - 590 + 330 + 846", "10 - (2 + 3) - (4 - 1)", "7"])
def test_the_regrouped_tree_keeps_the_value(expression):
    assert tree_value(expression) == Fraction(eval(expression))  # noqa: S307 - literals of this test only


def test_a_chain_is_regrouped_into_independent_pairs():
    nodes = parse_tree("1 - 2 - 3 + 4")
    ops = [n for n in nodes.values() if "op" in n]
    leaves = {name for name, n in nodes.items() if "num" in n}
    assert len(ops) == 3 and sum(1 for n in ops if n["left"] in leaves and n["right"] in leaves) == 2


@pytest.mark.parametrize(("op", "left", "right", "text"), [("+", "5", "-3", "5 - 3"), ("-", "2", "-1", "2 + 1"), ("*", "3", "-4", "3 * -4"),
                                                           ("-", "-9376", "8961", "-9376 - 8961")])
def test_an_operation_reads_as_a_person_writes_it(op, left, right, text):
    assert operation_text(op, left, right) == text


def test_an_expression_that_is_not_arithmetic_is_refused():
    with pytest.raises(ExpressionError):
        parse_tree("__import__('os')")


@pytest.mark.parametrize("dataset", ["chain_sum", "basic_arithmetic"])
def test_the_arithmetic_team_solves_the_dataset_alone(dataset):
    teams = ParallelTeams(scripted_team, k=1, admission="none")
    assert [teams.run(t).summary["success"] for t in load_tasks(dataset, n=10)] == [1.0] * 10


def test_teams_start_on_different_sub_results():
    question = next(t.text for t in load_tasks("chain_sum", n=20) if len(arithmetic_expression(t.text).split()) >= 7)
    solver = ArithmeticSolver()
    firsts = [solver.next_call(solver.plan(question, rank), {}) for rank in range(2)]
    assert firsts[0] != firsts[1]


def test_with_all_the_teams_run_each_calculation_once(bank):
    tasks = load_tasks("basic_arithmetic", n=6)
    shared = ParallelTeams(scripted_team, k=3, bank=bank, admission="all", aggregator="majority")
    alone = ParallelTeams(scripted_team, k=3, admission="none", aggregator="majority")
    for task in tasks:
        operations = len({operation for operation in alone.run(task).summary["actions"]["team-0"]})
        with_memory, without = shared.run(task).summary, alone.run(task).summary
        assert without["tool_calls"] == 3 * operations and with_memory["tool_calls"] == operations
        assert with_memory["tool_calls_shared"] == 2 * operations and with_memory["success"] == 1.0


def test_recall_reads_the_sub_results_instead_of_being_served(bank):
    task = next(t for t in load_tasks("chain_sum", n=10) if len(arithmetic_expression(t.text).split()) >= 5)
    summary = ParallelTeams(partial(scripted_team, recall="true"), k=3, bank=bank, admission="all", aggregator="majority").run(task).summary
    assert summary["success"] == 1.0 and summary["reads"] >= summary["tool_calls_shared"]


def test_the_latency_option_reaches_the_calculator():
    task = next(t for t in load_tasks("chain_sum", n=10) if len(arithmetic_expression(t.text).split()) == 5)
    teams = ParallelTeams(partial(scripted_team, latency_s=0.05), k=1, admission="none")
    assert teams.run(task).summary["wall_s"] >= 0.1


def test_a_bad_latency_option_names_the_field():
    with pytest.raises(ValueError, match="^latency_s: "):
        scripted_team(TeamMemory(None, ("teammind", "options"), "team-0"), latency_s="soon")


@pytest.mark.integration
def test_the_bench_compares_the_variants_on_both_workloads(run_py, tmp_path):
    out = tmp_path / "tool_workloads.json"
    run_py("bench/tool_workloads.py", "--tasks", "2", "--latency", "0,0.05", "--out", str(out), "--quiet", timeout=600)
    rows = json.loads(out.read_text())["rows"]
    assert {(r["workload"], r["latency_s"], r["variant"]) for r in rows} == {
        (w, lat, v) for w in ("countries", "chain_sum") for lat in (0.0, 0.05) for v in ("none", "all", "novelty")}
    assert all(r["success"]["mean"] == 1.0 for r in rows)
    calls = {(r["workload"], r["latency_s"], r["variant"]): r["tool_calls"]["mean"] for r in rows}
    assert all(calls[(w, lat, "all")] < calls[(w, lat, "none")] for w, lat, _ in calls)


@pytest.mark.integration
def test_the_cli_runs_the_scripted_country_team_on_the_task_loader(run_py, tmp_path):
    out = tmp_path / "run.json"
    run_py("-m", "teammind.cli", "run", "--team", "teammind.suites.countries.team:scripted_team", "--tasks",
           "teammind.suites.countries.tasks:load_tasks:n=5", "--json", str(out), timeout=600)
    report = json.loads(out.read_text())
    assert report["tasks"] == 5 and report["success"] == 1.0 and report["tool_calls_shared"] > 0

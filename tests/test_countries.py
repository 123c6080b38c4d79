"""The country workload: pycountry tools, graded multi-hop tasks with a held-out split, and the teams that use them."""

from __future__ import annotations

import re
import time
from collections import Counter
from functools import partial

import pycountry
import pytest
from scripted_chat import ScriptedChatModel

from teammind import ParallelTeams
from teammind.agents.team_memory import RunControl, SharedCalls, TeamMemory, served_reply
from teammind.memory import InvalidFieldError, make_policy
from teammind.suites.countries import data
from teammind.suites.countries import tools as T
from teammind.suites.countries.tasks import TEMPLATES, load_tasks, question, split_countries, split_of
from teammind.suites.countries.team import CountrySolver, react_team, scripted_team

# -- tools -------------------------------------------------------------------------------------


def test_find_country_gives_the_codes_of_a_named_country():
    assert T.find_country("France") == "France | alpha-2 FR | alpha-3 FRA | numeric 250 | official name French Republic"


@pytest.mark.parametrize("query", ["FRA", "fr", "250", "french republic", "FRANCE"])
def test_find_country_takes_any_name_or_code_in_any_case(query):
    assert [c.alpha_2 for c in T.parse_countries(T.find_country(query))] == ["FR"]


def test_find_country_ignores_accents():
    assert T.parse_countries(T.find_country("Cote d'Ivoire"))[0].alpha_2 == "CI"


def test_country_subdivisions_counts_every_type_as_pycountry_lists_it():
    country, types = T.parse_subdivisions(T.country_subdivisions("FR"))
    expected = Counter(s.type for s in pycountry.subdivisions.get(country_code="FR"))
    assert country.alpha_3 == "FRA" and types == dict(expected) and sum(types.values()) == len(pycountry.subdivisions.get(country_code="FR"))


def test_find_subdivision_names_its_country_and_parent():
    assert T.parse_subdivision(T.find_subdivision("Savoie")) == {"code": "FR-73", "name": "Savoie", "type": "Metropolitan department",
                                                                 "country": "FR", "parent": "FR-ARA"}


@pytest.mark.parametrize("code", ["JPY", "jpy", "392"])
def test_find_currency_takes_the_letters_or_the_numeric_code(code):
    assert T.parse_currency(T.find_currency(code)) == {"alpha_3": "JPY", "name": "Yen", "numeric": "392"}


@pytest.mark.parametrize("language", ["German", "de", "deu"])
def test_country_name_in_translates_with_pycountrys_catalogue(language):
    assert T.parse_name_in(T.country_name_in("FR", language)) == "Frankreich"


@pytest.mark.parametrize(
    ("tool", "args", "says"),
    [
        (T.find_country, ("Atlantis",), "no country matches 'Atlantis'; pass an English name"),
        (T.country_subdivisions, ("FRA",), "no country has alpha-2 code 'FRA'; pass a two-letter code such as FR (find_country gives it)"),
        (T.find_subdivision, ("Nowhere Land",), "no subdivision matches 'Nowhere Land'"),
        (T.find_currency, ("XQQ",), "no currency has code 'XQQ'; pass an ISO 4217 code"),
        (T.country_name_in, ("FR", "Klingon"), "no country names in language 'Klingon'"),
        (T.country_name_in, ("ZZ", "German"), "no country has alpha-2 code 'ZZ'"),
    ],
)
def test_bad_input_gets_a_reply_that_says_what_to_pass(tool, args, says):
    assert tool(*args).startswith(says)


def test_the_langchain_tools_keep_the_names_and_arguments():
    assert {t.name: sorted(t.args) for t in T.country_tools()} == {
        "find_country": ["name"], "country_subdivisions": ["alpha_2"], "find_subdivision": ["name"], "find_currency": ["code"],
        "country_name_in": ["alpha_2", "language"],
    }


def test_latency_is_added_to_every_call():
    find = T.country_tools(latency_s=0.05)[0]
    started = time.perf_counter()
    find.invoke({"name": "France"})
    find.invoke({"name": "Japan"})
    assert time.perf_counter() - started >= 0.1


def test_a_negative_latency_is_refused_naming_the_field():
    with pytest.raises(InvalidFieldError) as err:
        T.country_tools(latency_s=-1)
    assert err.value.field == "latency_s"


def test_a_reply_served_from_the_shared_memory_parses_like_the_tools_own():
    reply = T.country_subdivisions("US")
    served = served_reply("country_subdivisions(alpha_2='US')", "team-0", "call-1", reply)
    assert T.parse_subdivisions(served) == T.parse_subdivisions(reply)


# -- tasks -------------------------------------------------------------------------------------


def test_the_loader_is_deterministic_for_a_seed():
    first, again = load_tasks(n=12, seed=3), load_tasks(n=12, seed=3)
    assert [(t.text, t.id) for t in first] == [(t.text, t.id) for t in again]


def test_a_longer_list_starts_with_the_shorter_one():
    assert [t.text for t in load_tasks(n=4, seed=5)] == [t.text for t in load_tasks(n=8, seed=5)][:4]


def test_the_splits_partition_the_countries():
    train, test = {c.alpha_2 for c in split_countries("train")}, {c.alpha_2 for c in split_countries("test")}
    assert not train & test and train | test == {c.alpha_2 for c in data.countries()} and len(test) > 40


def countries_named(text: str) -> set[str]:
    """The alpha-2 codes of every country a question names (directly, or through a subdivision)."""
    plan = CountrySolver().plan(text, 0)
    assert plan is not None
    if plan["kind"] == "name_in_language":
        return {s.country for s in data.find_subdivisions(plan["subdivision"])}
    names = plan.get("names") or [plan.get("code") or plan.get("name")]
    return {data.find_countries(n)[0].alpha_2 for n in names}


@pytest.mark.parametrize("split", ["train", "test"])
def test_a_split_asks_only_about_its_own_countries(split):
    named = set().union(*(countries_named(t.text) for t in load_tasks(n=24, split=split)))
    assert named and {split_of(code) for code in named} == {split}


def test_the_templates_option_picks_the_templates():
    tasks = load_tasks(n=6, templates="currency_code|name_in_language")
    assert {t.id.rsplit(":", 1)[1] for t in tasks} == {"currency_code", "name_in_language"}


@pytest.mark.parametrize("template", TEMPLATES)
def test_each_grader_accepts_the_expected_answer_in_any_case(template):
    _, _, grade, expected = question(7, templates=template)
    assert grade(expected) == 1.0 and grade(expected.upper() + ".") == 1.0


@pytest.mark.parametrize("template", TEMPLATES)
def test_each_grader_rejects_other_answers(template):
    _, _, grade, expected = question(7, templates=template)
    assert grade("") == 0.0 and grade(f"I think {expected}") == 0.0 and grade(expected + " 1") == 0.0


def test_the_count_grader_takes_only_the_exact_number():
    _, _, grade, expected = question(0, templates="subdivision_count")
    assert grade(f" {expected} ") == 1.0 and grade(f"{expected}.0") == 1.0 and grade(str(int(expected) + 1)) == 0.0


def test_the_which_country_grader_needs_the_country_and_its_numeric_code():
    _, text, grade, expected = question(1, templates="most_subdivisions")
    name, numeric = expected.rsplit(", ", 1)
    best = data.find_countries(name)[0]
    other = next(n for n in re.findall(r'"([^"]+)"', text) if n != name)
    assert grade(f"{best.alpha_3}, {int(numeric)}") == 1.0
    assert grade(name) == 0.0 and grade(f"{name}, {int(numeric) + 1}") == 0.0 and grade(f"{other}, {numeric}") == 0.0


@pytest.mark.parametrize(("options", "field"), [({"n": 0}, "n"), ({"seed": "x"}, "seed"), ({"split": "dev"}, "split"),
                                                ({"templates": "trivia"}, "templates")])
def test_bad_loader_options_name_the_field(options, field):
    with pytest.raises(ValueError, match=f"^{field}: "):
        load_tasks(**options)


# -- teams -------------------------------------------------------------------------------------


def test_the_scripted_team_answers_every_template_alone():
    tasks = load_tasks(n=8)
    teams = ParallelTeams(scripted_team, k=1, admission="none")
    summaries = [teams.run(t).summary for t in tasks]
    assert [s["success"] for s in summaries] == [1.0] * 8
    assert min(s["tool_calls"] for s in summaries) >= 2


def test_the_scripted_team_solves_held_out_questions():
    teams = ParallelTeams(scripted_team, k=1, admission="none")
    assert all(teams.run(t).summary["success"] == 1.0 for t in load_tasks(n=4, split="test"))


def test_teams_take_the_countries_of_a_which_question_in_different_orders():
    text = question(1, templates="most_subdivisions")[1]
    firsts = [CountrySolver().plan(text, rank)["names"][0] for rank in range(3)]
    assert len(set(firsts)) == 3


def test_with_all_the_teams_run_each_distinct_call_once(bank):
    tasks = load_tasks(n=4)
    team = partial(scripted_team, recall=False)
    shared = ParallelTeams(team, k=3, bank=bank, admission="all", aggregator="majority")
    alone = ParallelTeams(team, k=3, admission="none", aggregator="majority")
    for task in tasks:
        with_memory, without = shared.run(task).summary, alone.run(task).summary
        distinct = {call for calls in without["actions"].values() for call in calls}
        assert without["tool_calls"] == 3 * len(distinct) and with_memory["tool_calls"] == len(distinct)
        assert with_memory["tool_calls_shared"] == 2 * len(distinct) and with_memory["success"] == without["success"] == 1.0
    assert [len(set(c for cs in alone.run(t).summary["actions"].values() for c in cs)) for t in tasks] == [2, 6, 2, 2]


def test_recall_reads_another_teams_subdivision_count_instead_of_calling(bank):
    task = load_tasks(n=1, seed=1)[0]
    namespace, calls, control = ("teammind", "recall-test"), SharedCalls(), RunControl()
    memories = [TeamMemory(bank, namespace, f"team-{r}", admission=make_policy("all"), task=task.text, n_teams=2, rank=r, calls=calls,
                           control=control) for r in range(2)]
    first = scripted_team(memories[0]).invoke(task.input)
    second = scripted_team(memories[1]).invoke(task.input)
    answers = [state["messages"][-1].content for state in (first, second)]
    assert task.grade(answers[0]) == task.grade(answers[1]) == 1.0
    assert memories[0].counts.tool_calls == 6
    assert memories[1].counts.tool_calls == 0 and memories[1].counts.tool_calls_shared == 0 and memories[1].counts.reads == 3
    assert {writer for call in memories[1].log for writer in call.read_writers.values()} == {"team-0"}


def test_the_latency_option_reaches_every_call():
    task = load_tasks(n=1, templates="currency_code")[0]
    teams = ParallelTeams(partial(scripted_team, latency_s="0.05"), k=1, admission="none")
    assert teams.run(task).summary["wall_s"] >= 0.1


def test_a_question_the_scripted_team_cannot_read_gets_a_plain_reply():
    result = ParallelTeams(scripted_team, k=1, admission="none").invoke({"messages": [("user", "What is the capital of Mars?")]})
    assert result.answer == "I cannot read this question." and result.summary["tool_calls"] == 0


def test_the_react_team_calls_the_shared_country_tools(bank):
    plan = [("find_country", {"name": "France"}), ("country_subdivisions", {"alpha_2": "FR"})]
    make_team = partial(react_team, llm=ScriptedChatModel(plan=plan, answer="95"))
    summary = ParallelTeams(make_team, k=2, bank=bank, admission="all", aggregator="majority").invoke(
        {"messages": [("user", "How many metropolitan departments does France have?")]}).summary
    assert summary["answer"] == "95" and summary["tool_calls"] == 2 and summary["tool_calls_shared"] == 2

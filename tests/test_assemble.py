"""From specs to live objects: admission words, and the note when a learned policy runs off its training environment."""

from __future__ import annotations

import pytest

from teammind import AdmitAll, InvalidFieldError, LearnedAdmission, NoveltyThreshold
from teammind import assemble
from teammind.suites.registry import shipped_admission_path, trained_on


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    monkeypatch.setattr(assemble, "_NOTED", set())


def test_admission_words_map_to_policies():
    assert assemble.parse_admission("none") is None
    assert isinstance(assemble.parse_admission("all"), AdmitAll)
    assert assemble.parse_admission("novelty:0.8").threshold == 0.8
    assert isinstance(assemble.parse_admission("learned", "twx:coin"), LearnedAdmission)


def test_learned_with_a_missing_path_names_the_field(tmp_path):
    with pytest.raises(InvalidFieldError) as err:
        assemble.parse_admission(f"learned:{tmp_path / 'nope.safetensors'}", "twx:coin")
    assert err.value.field == "admission"


def test_shipped_policy_records_where_it_was_trained():
    assert trained_on(shipped_admission_path("twx:coin")) == "twx:coin"
    assert trained_on(shipped_admission_path("twx:twc")) == "twx:twc"


def test_a_trained_checkpoint_keeps_its_environment(tmp_path):
    policy = LearnedAdmission(seed=0)
    policy.trained_on = "rg:arc_1d"
    path = policy.save(tmp_path / "a.safetensors")
    assert LearnedAdmission.load(path).trained_on == "rg:arc_1d"
    assert trained_on(path) == "rg:arc_1d"


def test_learned_policy_off_its_environment_says_so_once(capsys, tmp_path):
    path = shipped_admission_path("twx:coin")
    assemble.parse_admission(f"learned:{path}", "rg:arc_1d")
    assemble.parse_admission(f"learned:{path}", "rg:arc_1d")
    err = capsys.readouterr().err
    assert err.count("trained on twx:coin, not rg:arc_1d") == 1


def test_learned_without_a_policy_trained_for_the_workload_falls_back_to_novelty_and_says_so_once(capsys):
    policies = [assemble.parse_admission("learned", env) for env in ("rg:arc_1d", "rg:arc_1d", None)]
    assert all(isinstance(p, NoveltyThreshold) for p in policies)
    err = capsys.readouterr().err
    assert err.count("no admission policy was trained for rg:arc_1d, so learned uses the novelty rule") == 1
    assert "for this workload" in err


def test_learned_keeps_the_policies_trained_where_it_runs():
    import torch

    coin, twc = assemble.parse_admission("learned", "twx:coin"), assemble.parse_admission("learned", "twx:twc")
    assert isinstance(coin, LearnedAdmission) and isinstance(twc, LearnedAdmission)
    shipped = LearnedAdmission.load(shipped_admission_path("twx:twc"))
    assert all(torch.equal(a, b) for a, b in zip(twc.net.state_dict().values(), shipped.net.state_dict().values()))
    assert not all(torch.equal(a, b) for a, b in zip(coin.net.state_dict().values(), shipped.net.state_dict().values()))


def test_learned_policy_on_its_environment_says_nothing(capsys):
    assemble.parse_admission("learned", "twx:coin")
    assert capsys.readouterr().err == ""


def test_novelty_default_threshold_is_the_documented_one():
    assert assemble.parse_admission("novelty").threshold == NoveltyThreshold().threshold == 0.9

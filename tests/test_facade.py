"""The public facade: `teammind.run(RunSpec)` is what `teammind run` does, and specs round-trip through JSON."""

from __future__ import annotations

import json

import pytest

import teammind
from teammind import EvalSpec, InvalidFieldError, RunSpec, TrainSpec
from teammind.cli import main as cli_main

TIMING_KEYS = {"wall_s"}


def _comparable(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in TIMING_KEYS}


@pytest.mark.parametrize("admission", ["none", "all", "novelty"])
def test_run_returns_the_summary_the_cli_writes(tmp_path, admission, capsys):
    out = tmp_path / "cli.json"
    argv = ["run", "--env", "twx:coin", "--seed", "3", "--teams", "3", "--admission", admission, "--bank", "memory",
            "--run-id", "r1", "--quiet", "--json", str(out)]
    assert cli_main(argv) == 0
    from_cli = json.loads(out.read_text())
    from_api = teammind.run(RunSpec(env="twx:coin", seed=3, teams=3, admission=admission, bank="memory", run_id="r1"))
    assert set(from_api) == set(from_cli)
    assert _comparable(json.loads(json.dumps(from_api))) == _comparable(from_cli)


def test_summary_names_the_admission_in_the_spec_vocabulary():
    assert teammind.run(RunSpec(seed=1, admission="none", max_steps=5))["admission"] == "none"
    assert teammind.run(RunSpec(seed=1, admission="all", max_steps=5, bank="memory"))["admission"] == "all"


@pytest.mark.parametrize("spec", [RunSpec(env="twx:twc", seed=4, admission="novelty:0.8", api_key="secret"),
                                  EvalSpec(seeds=(0, 3, 7), variants=("none", "learned"), retrieval_variants=("q",), epochs=3),
                                  TrainSpec(out="runs/x", workers=2)])
def test_spec_round_trips_through_json_without_secrets(spec):
    data = json.loads(spec.to_json())
    assert "secret" not in json.dumps(data)
    rebuilt = type(spec).from_dict(data)
    assert rebuilt == (spec if not getattr(spec, "api_key", None) else type(spec)(**{**spec.__dict__, "api_key": None}))


@pytest.mark.parametrize("field,value", [("teams", 0), ("max_steps", -1), ("admission", "admit-all"), ("admission", "novelty:2"),
                                         ("retrieval", "bm25"), ("agent", "human"), ("aggregator", "vote"), ("seed", True)])
def test_run_spec_names_the_bad_field(field, value):
    with pytest.raises(InvalidFieldError) as err:
        RunSpec(**{field: value})
    assert err.value.field == field and err.value.fix


def test_spec_from_dict_refuses_unknown_fields_and_other_kinds():
    with pytest.raises(InvalidFieldError, match="tems"):
        RunSpec.from_dict({"kind": "run", "tems": 3})
    with pytest.raises(InvalidFieldError, match="kind"):
        RunSpec.from_dict(EvalSpec().to_dict())


def test_eval_spec_refuses_a_one_epoch_stream():
    with pytest.raises(InvalidFieldError) as err:
        EvalSpec(retrieval_variants=("q",), epochs=1)
    assert err.value.field == "epochs"


def test_cli_flags_override_a_spec_file(tmp_path):
    from teammind.cli import build_parser
    from teammind.commands.run import spec_from_args

    path = tmp_path / "spec.json"
    path.write_text(RunSpec(env="twx:twc", seed=5, teams=2, max_steps=60).to_json())
    spec = spec_from_args(build_parser().parse_args(["run", "--spec", str(path), "--seed", "9"]))
    assert (spec.env, spec.seed, spec.teams, spec.max_steps) == ("twx:twc", 9, 2, 60)


def test_cli_errors_name_the_flag(capsys):
    assert cli_main(["run", "--teams", "0", "--quiet"]) == 2
    assert "--teams: is 0" in capsys.readouterr().err

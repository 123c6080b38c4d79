"""`teammind report`: one self-contained HTML page per run folder (rl/report.py, rl/browser.py, demos/report.py).

The train and eval folders come from tiny real `teammind train` / `teammind eval`
runs (one module fixture, run side by side); the others are written with the
real writers (demos.eval.write_run_folder, rl.plots.save_figure).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from teammind.memory import InvalidFieldError
from teammind.reporting.report import detect_kind, load_report, render_html, write_report

ROOT = Path(__file__).resolve().parents[1]
TINY_TRAIN = ["train", "--env", "twx:coin", "--episodes", "4", "--group", "2", "--tasks-per-iteration", "1", "--max-steps", "6",
              "--eval-seeds", "0..0", "--eval-every", "1", "--quiet"]
TINY_EVAL = ["eval", "--env", "twx:coin", "--seeds", "0", "--teams", "2", "--max-steps", "6", "--variants", "none", "all",
             "--epochs", "2", "--qnet", "none", "--quiet"]


def _cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "teammind.cli", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A real training run folder and a real evaluation run folder (tiny sizes; the CLI in this process, so imports load once)."""
    from teammind.cli import main

    root = tmp_path_factory.mktemp("runs")
    assert main([*TINY_TRAIN, "--out", str(root / "train")]) == 0
    assert main([*TINY_EVAL, "--out", str(root / "eval")]) == 0
    return {"train": root / "train", "eval": root / "eval"}


def _plot(path: Path, title: str) -> None:
    from teammind.rl.plots import _figure, save_figure

    fig, ax = _figure(1, 1, (4, 3))
    ax[0][0].bar(["none", "all"], [1.0, 0.6])
    ax[0][0].set_title(title)
    save_figure(fig, path)


def _suite_row(env: str, variant: str, steps: float, **extra) -> dict:
    return {"env": env, "agent": "scripted", "variant": variant, "seeds": [0, 1, 2], "success": 0.5, "success_std": 0.1,
            "env_steps": steps, "env_steps_std": 1.5, "admitted": 3.0, "admitted_std": 0.5, **extra}


@pytest.fixture
def suite_dir(tmp_path) -> Path:
    rows = [_suite_row("twx:coin", "none", 20.0), _suite_row("twx:coin", "all", 15.0),
            _suite_row("rg:maze", "none", 40.0), _suite_row("rg:maze", "learned", 30.0)]
    (tmp_path / "suite.json").write_text(json.dumps(rows))
    _plot(tmp_path / "suite_success.png", "suite")
    return tmp_path


# -- kinds ----------------------------------------------------------------------------------


def test_each_folder_kind_is_detected_from_its_files(runs, suite_dir, tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "bench.json").write_text(json.dumps({"rows": [{"variant": "a", "x": 1.0}]}))
    assert [detect_kind(p) for p in (runs["train"], runs["eval"], suite_dir, tmp_path / "results")] == ["train", "eval", "suite", "results"]


def test_train_report_shows_command_evals_and_selected_checkpoint(runs):
    page = render_html(load_report(runs["train"]))
    assert "training run" in page and "<h1>" in page and runs["train"].name in page
    assert f"teammind train --spec {runs['train'] / 'spec.json'}" in page  # the command reruns the spec the folder ran
    assert "held-out evaluation: baselines, last and best learned policy" in page
    for row in ("none (baseline)", "all (baseline)", "learned (last)"):
        assert row in page
    selected = json.loads((runs["train"] / "selected.json").read_text())["selected"]
    if selected:
        assert f"iteration {selected['iteration']} -&gt; admission.safetensors" in page
    else:
        assert "none qualified" in page
    latest = json.loads((runs["train"] / "checkpoints" / "latest.json").read_text())["checkpoint"]
    assert f"checkpoints/{latest}" in page and "latest (--resume starts here)" in page
    assert "curves.png" in page and "metrics.jsonl" in page


def test_eval_report_has_variant_rows_with_mean_std_and_ratio_to_none(runs):
    page = render_html(load_report(runs["eval"]))
    data = json.loads((runs["eval"] / "eval.json").read_text())
    assert "evaluation run" in page and "admission variants" in page and "retrieval stream" in page
    assert f"teammind eval --spec {runs['eval'] / 'spec.json'}" in page
    assert "env steps / none" in page and "×1.00" in page  # `none` against itself
    all_row = next(r for r in data["rows"] if r["variant"] == "all")
    assert f'{all_row["env_steps"]:.2f}<span class="sd">± {all_row["env_steps_std"]:.2f}</span>' in page
    assert "similarity" in page and "success by epoch" in page
    assert "admission.png" in page and "retrieval.png" in page


def test_suite_report_has_one_table_per_env_with_ratios_to_none(suite_dir):
    report = load_report(suite_dir)
    assert [t.title for t in report.tables] == ["twx:coin: admission", "rg:maze: admission"]
    page = render_html(report)
    assert "env steps / none" in page and "×0.75" in page  # 15 / 20 and 30 / 40
    assert "suite_success.png" in page


def test_bench_suite_layout_renders_stream_rows_command_and_cell_charts(tmp_path):
    stream = {"env": "twx:coin", "agent": "scripted", "variant": "q", "seeds": [0, 1, 2], "epochs": 3, "success": 0.7, "success_std": 0.1,
              "success_by_epoch": [0.5, 0.6, 0.7], "q_success_r": None, "q_success_note": "only 1 experiences were used (need 3)"}
    (tmp_path / "suite.json").write_text(json.dumps({"suite": "twx", "rows": [_suite_row("twx:coin", "none", 20.0)],
                                                     "retrieval_rows": [stream], "command": "python bench/suite.py twx"}))
    (tmp_path / "coin-scripted").mkdir()
    _plot(tmp_path / "coin-scripted" / "admission.png", "cell")
    page = render_html(load_report(tmp_path))
    assert "twx:coin: retrieval stream" in page and "0.50 → 0.60 → 0.70" in page
    assert "python bench/suite.py twx" in page and "only 1 experiences were used" in page
    assert "coin-scripted/admission.png" in page


def test_any_folder_of_json_rows_renders_and_lists_unknown_files(tmp_path):
    (tmp_path / "bench.json").write_text(json.dumps({"env": "twx:coin", "rows": [{"variant": "a", "wall_s": 1.5, "wall_s_std": 0.25}],
                                                     "baselines": {"none": {"variant": "none", "wall_s": 2.0}}}))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "notes.txt").write_text("hello")
    _plot(tmp_path / "chart.png", "chart")
    report = load_report(tmp_path)
    page = render_html(report)
    assert report.kind == "results"
    assert "bench.json / rows" in page and "bench.json / baselines" in page and "1.50" in page
    assert "broken.json could not be read" in page  # a note, not a crash
    assert "notes.txt" in page and "not read by the report" in page
    assert "chart.png" in page


def test_a_run_killed_mid_write_still_renders(runs, tmp_path):
    import shutil

    run = tmp_path / "killed"
    shutil.copytree(runs["train"], run, ignore=shutil.ignore_patterns("experience", "selected.json"))
    with (run / "metrics.jsonl").open("a") as f:
        f.write('{"type": "train", "iteration": 9, "succ')  # the line a kill -9 cut short
    page = render_html(load_report(run))
    assert "1 line(s) are not JSON" in page and "in progress or stopped" in page


# -- safety ------------------------------------------------------------------------------------


def test_images_are_inlined_as_data_uris(runs):
    page = render_html(load_report(runs["eval"]))
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 2 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "http://" not in page and "https://" not in page and "<script" not in page.lower()
    assert not re.search(r"""(href|src)=["']?(/|file:)""", page)


def test_text_from_files_is_escaped(tmp_path):
    from teammind.rl import evaluate
    from teammind.evaluation import write_run_folder
    from teammind.graphs.parallel import SUMMARY_KEYS
    from teammind.rl.evaluate import admission_rows

    evil = "<script>alert(1)</script>"
    summary = {k: 1.0 for k in getattr(evaluate, "ROW_KEYS", SUMMARY_KEYS)}
    rows = admission_rows(["none", evil], [0], {"none": [summary], evil: [summary]})
    write_run_folder(tmp_path, {"rows": rows, "retrieval_rows": [], "per_seed": [], "config": {"env": '"><img src=x onerror=alert(1)>'}})
    (tmp_path / "<b onclick=x>odd.txt").write_text("x")
    page = render_html(load_report(tmp_path))
    assert evil not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;b onclick=x&gt;odd.txt" in page


def test_an_unrecognisable_folder_gives_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing to report")
    with pytest.raises(InvalidFieldError) as err:
        load_report(tmp_path)
    message = str(err.value)
    assert str(tmp_path) in message and "RUN_DIR" in message and "notes.txt" in message
    assert "eval.json" in message and "metrics.jsonl" in message and "suite.json" in message
    with pytest.raises(InvalidFieldError, match="does not exist"):
        detect_kind(tmp_path / "missing")


# -- CLI and browser -------------------------------------------------------------------------------


def test_cli_writes_the_page(suite_dir, tmp_path):
    out = tmp_path / "page.html"
    proc = _cli("report", str(suite_dir), "--out", str(out))
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, stdout
    assert f"wrote {out}" in stdout and out.read_text().startswith("<!doctype html>")


def test_cli_refuses_an_empty_folder_naming_it(tmp_path, capsys):
    from teammind.cli import main

    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "error: RUN_DIR" in err and str(tmp_path) in err and "eval.json" in err


def test_headless_chromium_renders_the_page_to_a_real_image(runs, tmp_path):
    import numpy as np
    from PIL import Image

    from teammind.reporting.browser import find_browser, screenshot

    if find_browser() is None:
        pytest.skip("no chromium / chromium-browser / google-chrome on PATH")
    page = write_report(runs["train"], tmp_path / "train.html")
    png = screenshot(page, tmp_path / "train.png", width=1000)
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size[0] == 1000 and im.size[1] > 1000  # cropped to the page, which is long
        pixels = np.asarray(im.convert("L"), dtype=np.float64)
    assert pixels.std() > 20  # text, tables and charts, not a blank page
    assert (pixels < 128).mean() > 0.01


def test_the_report_command_reruns_the_spec_the_folder_ran(tmp_path):
    import shlex

    from teammind.cli import build_parser
    from teammind.commands.eval import spec_from_args
    from teammind.reporting.report import load_report
    from teammind.specs import EvalSpec

    spec = EvalSpec(env="twx:twc", seeds=(100, 101, 102), max_steps=120, variants=("none", "learned"), retrieval_variants=("q",),
                    epochs=4, stream_tasks="fresh", failure_reward=0.0, stream_admission="learned",
                    lessons_from=(1000, 1001, 1002), run_name="r1", out=str(tmp_path))
    (tmp_path / "spec.json").write_text(spec.to_json())
    (tmp_path / "eval.json").write_text(json.dumps({"rows": [], "retrieval_rows": [], "per_seed": [], "config": {"env": "twx:twc"}}))
    command = load_report(tmp_path).command
    argv = shlex.split(command)[1:]
    assert argv[:2] == ["eval", "--spec"]
    assert spec_from_args(build_parser().parse_args(argv)) == spec

"""One self-contained HTML page from a run folder (`teammind report RUN_DIR`).

The folder's kind is read from its files:

- ``train``: a `teammind train --out` folder (rl/train.py): config.json,
  metrics.jsonl (``type`` "train" per iteration, "eval" per held-out
  evaluation), curves.png, selected.json, checkpoints/latest.json and the
  policy files;
- ``eval``: a `teammind eval --out` folder (demos/eval.py): eval.json
  ({rows, retrieval_rows, per_seed, config}), per_seed.jsonl, admission.png,
  retrieval.png;
- ``suite``: suite.json, a list of eval-style rows (``env``, ``agent``,
  ``variant``, ``seeds``, metric means and ``<metric>_std``), possibly from
  several environments, with PNGs beside it;
- ``results``: any other folder of ``*.json`` result files and ``*.png``
  charts (bench/results, say): every list of rows and every dict of rows in
  the JSON becomes a table.

The page needs nothing but a browser: charts are inlined as base64 data URIs,
the CSS is inline, there is no script. Every piece of text taken from the
folder is escaped, so a hostile file name or variant name stays text.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import math
import os
import shlex
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teammind.memory import InvalidFieldError
from teammind.memory.files import atomic_write_text

KINDS = ("train", "eval", "suite", "results")
KIND_TITLES = {"train": "training run", "eval": "evaluation run", "suite": "evaluation suite", "results": "results folder"}
EXPECTED = ("a `teammind train --out` folder (config.json, metrics.jsonl), a `teammind eval --out` folder (eval.json), "
            "a suite folder (suite.json), or any folder of *.json result rows and *.png charts")
REPORT_NAME = "report.html"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_JSON_BYTES = 50 * 2**20  # bigger JSON files are listed, not read
MAX_PNG_BYTES = 20 * 2**20
MAX_IMAGES = 60
MAX_TABLE_ROWS = 500  # longer tables are cut (the file is listed)
COLLAPSE_ROWS = 12  # longer tables of a results folder start folded (<details>)
WIDE_TABLE = 12  # inferred tables with more columns leave out all-zero metrics
MAX_TABLES_PER_FILE = 40
MAX_TEXT = 200  # characters of one text cell
ID_KEYS = ("env", "agent", "variant", "name", "benchmark", "comparison", "type", "iteration", "epoch", "seed", "workers")
CAPTIONS = {
    "curves.png": "Learning curves (rl/plots.py): training reward, admitted fraction, held-out env steps of the learned "
                  "policy against the none / all baselines, and experience Q against the success of the episodes that used it.",
    "admission.png": "Admission variants: success rate, env steps and entries admitted per variant (mean ± std over seeds).",
    "retrieval.png": "Retrieval stream: success rate per epoch for each retrieval variant (mean ± std over seeds).",
}
FILE_ROLES = {
    "config.json": "the run's configuration",
    "metrics.jsonl": "one line per training iteration and per held-out evaluation",
    "curves.png": "learning curves",
    "selected.json": "the policy selected on the held-out seeds",
    "admission.safetensors": "the final admission policy (the selected one, else the last)",
    "last.safetensors": "the admission policy of the last iteration",
    "best.safetensors": "the selected admission policy",
    "qnet.safetensors": "the experience Q-network",
    "checkpoints": "crash-safe checkpoints (--resume)",
    "experience": "the experience store (Chroma)",
    "eval.json": "rows, retrieval rows, per-seed records and config",
    "per_seed.jsonl": "one record per episode",
    "admission.png": "admission chart",
    "retrieval.png": "retrieval-stream chart",
    "suite.json": "result rows of the suite",
    REPORT_NAME: "this report",
}


# -- the page model ----------------------------------------------------------------


@dataclass
class Cell:
    text: str
    num: bool = False
    sub: str = ""  # a second, smaller line (the ± std)


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    note: str = ""
    collapsed: bool = False
    footnotes: list[str] = field(default_factory=list)


@dataclass
class Image:
    name: str  # relative to the run folder
    caption: str
    data: bytes
    size: tuple[int, int] | None


@dataclass
class FileInfo:
    name: str
    size: int
    what: str
    is_dir: bool = False


@dataclass
class Report:
    kind: str
    run_dir: Path
    facts: list[tuple[str, str]] = field(default_factory=list)
    command: str | None = None
    command_note: str = ""
    config: dict[str, Any] | None = None
    config_name: str = ""
    tables: list[Table] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    files: list[FileInfo] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    consumed: set[str] = field(default_factory=set)  # files the kind read (others are rendered generically)

    @property
    def title(self) -> str:
        return f"{KIND_TITLES[self.kind]}: {self.run_dir.name or str(self.run_dir)}"


# -- detecting and loading ------------------------------------------------------------


def _top_files(run_dir: Path) -> list[Path]:
    return sorted((p for p in run_dir.iterdir() if not p.name.startswith(".")), key=lambda p: p.name)


def detect_kind(run_dir: str | Path) -> str:
    """'train', 'eval', 'suite' or 'results'; a folder with nothing recognisable raises, naming what was expected."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise InvalidFieldError("RUN_DIR", f"{run_dir} does not exist", f"pass {EXPECTED}")
    if not run_dir.is_dir():
        raise InvalidFieldError("RUN_DIR", f"{run_dir} is a file, not a run folder", f"pass the folder that holds it: {EXPECTED}")
    names = {p.name for p in _top_files(run_dir)}
    if "metrics.jsonl" in names or ("config.json" in names and ({"selected.json", "checkpoints"} & names or _is_train_config(run_dir))):
        return "train"
    if "eval.json" in names:
        return "eval"
    if "suite.json" in names:
        return "suite"
    if any(p.is_file() and p.suffix.lower() in (".json", ".jsonl", ".png") for p in _top_files(run_dir)):
        return "results"
    found = ", ".join(sorted(names)[:12]) or "nothing"
    raise InvalidFieldError("RUN_DIR", f"{run_dir} holds no run files a report can show (found: {found})", f"pass {EXPECTED}")


def _is_train_config(run_dir: Path) -> bool:
    """config.json of a training run that has not written metrics yet (rl/train.py's TrainConfig)."""
    try:
        data = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and {"episodes", "group", "trainer", "credit"} <= set(data)


def load_report(run_dir: str | Path) -> Report:
    """Everything the page shows, read from the folder (unreadable files become notes, not crashes)."""
    run_dir = Path(run_dir)
    kind = detect_kind(run_dir)
    report = Report(kind=kind, run_dir=run_dir)
    {"train": _load_train, "eval": _load_eval, "suite": _load_suite, "results": lambda r: None}[kind](report)
    for path in _top_files(run_dir):
        if path.is_file() and path.suffix.lower() in (".json", ".jsonl") and path.name not in report.consumed:
            _load_generic_file(report, path)
    report.images = _load_images(report)
    report.files = _list_files(report)
    return report


def _read_json(report: Report, path: Path) -> Any:
    """Parsed JSON, or None with a note on the page."""
    report.consumed.add(path.name)
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            report.notes.append(f"{path.name} is {path.stat().st_size / 2**20:.0f} MiB; not read (limit {MAX_JSON_BYTES // 2**20} MiB)")
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        report.notes.append(f"{path.name} could not be read: {type(err).__name__}: {err}")
        return None


def _read_jsonl(report: Report, path: Path) -> list[Any]:
    """Parsed lines; a broken line (e.g. a run killed mid-write) is skipped with a note."""
    report.consumed.add(path.name)
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            report.notes.append(f"{path.name} is {path.stat().st_size / 2**20:.0f} MiB; not read")
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        report.notes.append(f"{path.name} could not be read: {type(err).__name__}: {err}")
        return []
    rows, bad = [], 0
    for line in lines:
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            bad += 1
    if bad:
        report.notes.append(f"{path.name}: {bad} line(s) are not JSON and were skipped")
    return rows


# -- train ------------------------------------------------------------------------------


TRAIN_METRICS = ("success", "env_steps", "llm_calls", "prompt_tokens", "admitted", "proposed", "read_by_other", "wall_s")
TRAIN_LINE_KEYS = ("iteration", "episodes", "return_mean", "success", "env_steps", "admitted_fraction", "p_admit", "loss",
                   "lambda_sparse", "experiences_used", "qnet_loss", "wall_s", "episodes_per_s")


def _load_train(report: Report) -> None:
    d = report.run_dir
    config = _read_json(report, d / "config.json") if (d / "config.json").is_file() else None
    if config is not None and not isinstance(config, dict):
        report.notes.append("config.json is not a JSON object; ignored")
        config = None
    metrics = [m for m in _read_jsonl(report, d / "metrics.jsonl") if isinstance(m, dict)] if (d / "metrics.jsonl").is_file() else []
    selected_doc = _read_json(report, d / "selected.json") if (d / "selected.json").is_file() else None
    selected = selected_doc.get("selected") if isinstance(selected_doc, dict) else None
    latest = None
    if (d / "checkpoints" / "latest.json").is_file():
        latest = _read_json(report, d / "checkpoints" / "latest.json")
        report.consumed.discard("latest.json")
    train = [m for m in metrics if m.get("type") == "train"]
    evals = [m for m in metrics if m.get("type") == "eval"]

    if config:
        report.config, report.config_name = config, "config.json"
        report.command, report.command_note = spec_command(report, "train")
        report.facts.append(("environment", str(config.get("env", "?"))))
    planned = _planned_iterations(config)
    done = max((int(m.get("iteration", 0)) for m in train), default=0)
    if isinstance(selected_doc, dict) and isinstance(selected_doc.get("last_iteration"), int):
        status = f"finished: {selected_doc['last_iteration']} iterations"
    elif train:
        status = f"in progress or stopped: {done} of {planned or '?'} iterations (no selected.json yet)"
    else:
        status = "not started: no training iteration in metrics.jsonl"
    report.facts.append(("status", status))
    if train:
        report.facts.append(("episodes", str(train[-1].get("episodes", "?"))))
        total_wall = sum(float(m.get("wall_s") or 0) for m in train)
        report.facts.append(("training wall time", f"{total_wall:.1f} s"))
    if config and config.get("eval_seeds") is not None:
        report.facts.append(("held-out seeds", seeds_text(config["eval_seeds"])))
    if isinstance(latest, dict):
        report.facts.append(("latest checkpoint", f"checkpoints/{latest.get('checkpoint', '?')} (iteration {latest.get('iteration', '?')})"))
    if isinstance(selected, dict):
        report.facts.append(("selected policy", f"iteration {selected.get('iteration', '?')} -> admission.safetensors"))
    elif selected_doc is not None:
        report.facts.append(("selected policy", "none qualified: admission.safetensors is the last iteration's"))

    base = {v: next((m for m in evals if m.get("variant") == v and m.get("iteration") == 0), None) for v in ("none", "all")}
    learned = [m for m in evals if m.get("variant") == "learned"]

    def with_ratios(row: dict[str, Any], label: str) -> dict[str, Any]:
        out = {"row": label, **row}
        out["env_steps_ratio_to_none"] = _ratio(row.get("env_steps"), (base["none"] or {}).get("env_steps"))
        out["admitted_ratio_to_all"] = _ratio(row.get("admitted"), (base["all"] or {}).get("admitted"))
        return out

    summary_rows = []
    for v in ("none", "all"):
        if base[v]:
            summary_rows.append(with_ratios(base[v], f"{v} (baseline)"))
    if learned:
        summary_rows.append(with_ratios(learned[-1], "learned (last)"))
        best = max(learned, key=lambda m: (_f(m.get("success")), -_f(m.get("env_steps")), -_f(m.get("admitted"))))
        summary_rows.append(with_ratios(best, "learned (best success, then fewest steps)"))
        if isinstance(selected, dict):
            sel = next((m for m in learned if m.get("iteration") == selected.get("iteration")), None)
            if sel is not None:
                summary_rows.append(with_ratios(sel, "learned (selected)"))
    columns = ["row", "iteration", *[k for k in TRAIN_METRICS if any(k in r for r in summary_rows)],
               "env_steps_ratio_to_none", "admitted_ratio_to_all"]
    if summary_rows:
        seeds = summary_rows[0].get("seeds")
        report.tables.append(rows_table(
            "held-out evaluation: baselines, last and best learned policy", summary_rows, columns=columns,
            note=f"mean ± std over {_plural(len(seeds) if isinstance(seeds, list) else '?', 'held-out seed')}; "
                 "ratios: env steps to the no-memory baseline (none), entries admitted to all"))
    if learned:
        report.tables.append(rows_table("learned policy at every evaluation", [with_ratios(m, "learned") for m in learned],
                                        columns=columns[1:]))
    if train:
        keys = [k for k in TRAIN_LINE_KEYS if any(k in m for m in train)]
        shown = train if len(train) <= 2 else [train[0], train[-1]]
        report.tables.append(rows_table("training: first and last iteration", shown, columns=keys))
        if len(train) > 2:
            report.tables.append(rows_table(f"training: all {len(train)} iterations", train, columns=keys, collapsed=True))
    ckpt_rows = _checkpoint_rows(report, d / "checkpoints", latest)
    if ckpt_rows or isinstance(selected_doc, dict):
        for name in ("admission.safetensors", "best.safetensors", "last.safetensors", "qnet.safetensors"):
            p = d / name
            if p.is_file():
                what = FILE_ROLES[name]
                if name == "admission.safetensors" and isinstance(selected, dict):
                    what = f"the selected policy (iteration {selected.get('iteration')})"
                ckpt_rows.append({"checkpoint": name, "what": what, "size": _size_text(p.stat().st_size)})
        report.tables.append(rows_table("checkpoints and policy files", ckpt_rows, columns=["checkpoint", "iteration", "what", "size"]))


def _checkpoint_rows(report: Report, root: Path, latest: Any) -> list[dict[str, Any]]:
    if not root.is_dir():
        return []
    rows = []
    for ckpt in sorted(p for p in root.glob("it-*") if p.is_dir() and not p.is_symlink()):
        state: dict[str, Any] = {}
        if (ckpt / "state.json").is_file():
            try:
                loaded = json.loads((ckpt / "state.json").read_text(encoding="utf-8"))
                state = loaded if isinstance(loaded, dict) else {}
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
                report.notes.append(f"checkpoints/{ckpt.name}/state.json could not be read: {err}")
        is_latest = isinstance(latest, dict) and latest.get("checkpoint") == ckpt.name
        best = state.get("best")
        what = "latest (--resume starts here)" if is_latest else "older checkpoint"
        if not state:
            what = "incomplete (no state.json)"
        elif isinstance(best, dict):
            what += f"; selected so far: iteration {best.get('iteration')}"
        size = sum(p.stat().st_size for p in ckpt.iterdir() if p.is_file())
        rows.append({"checkpoint": f"checkpoints/{ckpt.name}", "iteration": state.get("iteration"), "what": what, "size": _size_text(size)})
    return rows


def _planned_iterations(config: dict[str, Any] | None) -> int | None:
    try:
        return math.ceil(int(config["episodes"]) / (int(config["group"]) * int(config["tasks_per_iteration"])))  # type: ignore[index]
    except (TypeError, KeyError, ValueError, ZeroDivisionError):
        return None


def spec_command(report: Report, kind: str) -> tuple[str | None, str]:
    """(the command that reruns the folder's spec.json, a note); no spec.json: no command."""
    spec = report.run_dir / "spec.json"
    if not spec.is_file():
        return None, "no spec.json in this folder (written before runs kept their spec): the configuration below is what ran"
    report.consumed.add(spec.name)
    return shlex.join(["teammind", kind, "--spec", str(spec)]), "reruns spec.json, the spec this folder ran (configuration below)"


# -- eval -------------------------------------------------------------------------------


def _load_eval(report: Report) -> None:
    d = report.run_dir
    data = _read_json(report, d / "eval.json")
    if not isinstance(data, dict):
        if data is not None:
            report.notes.append("eval.json is not a JSON object ({rows, retrieval_rows, per_seed, config}); shown as found")
        return
    config = data.get("config") if isinstance(data.get("config"), dict) else None
    if config:
        report.config, report.config_name = config, "eval.json: config"
        report.command, report.command_note = spec_command(report, "eval")
        for label, key in (("environment", "env"), ("agent", "agent"), ("teams (K)", "teams"), ("max steps per team", "max_steps")):
            if config.get(key) is not None:
                report.facts.append((label, str(config[key])))
        if config.get("seeds") is not None:
            report.facts.append(("seeds", seeds_text(config["seeds"])))
        if config.get("total_s") is not None:
            report.facts.append(("wall time", f"{_f(config['total_s']):.1f} s"))
    rows = [r for r in data.get("rows") or [] if isinstance(r, dict)]
    if rows:
        report.tables.append(rows_table(
            "admission variants", rows,
            note=f"mean ± std over {_plural(_n_seeds(rows), 'seed')}; ratios: cost to the no-memory baseline (none), entries admitted to all"))
    rrows = [r for r in data.get("retrieval_rows") or [] if isinstance(r, dict)]
    if rrows:
        epochs = rrows[0].get("epochs")
        report.tables.append(rows_table(
            "retrieval stream", rrows, drop=("epochs", "stream_admission", "last_epoch_success"),
            note=f"{_plural(epochs, 'epoch')} over {_plural(_n_seeds(rrows), 'seed')}, admission {rrows[0].get('stream_admission', '?')}; "
                 "metrics of the last epoch (mean ± std), success by epoch, and MemRL's Q ~ success correlation"))
    per_seed = _read_jsonl(report, d / "per_seed.jsonl") if (d / "per_seed.jsonl").is_file() else data.get("per_seed") or []
    per_seed = [r for r in per_seed if isinstance(r, dict)]
    if per_seed:
        report.tables.append(rows_table(f"per episode ({len(per_seed)} records)", per_seed,
                                        drop=("episode_id", "experiences_retrieved", "experiences_used"), collapsed=True))
    if not rows and not rrows:
        report.notes.append("eval.json has no rows and no retrieval_rows")


# -- suite ------------------------------------------------------------------------------


def _load_suite(report: Report) -> None:
    """suite.json: a list of rows, or bench/suite.py's {suite, rows, retrieval_rows, cells, command, machine, ...}."""
    data = _read_json(report, report.run_dir / "suite.json")
    rows: list[Any] = []
    retrieval: list[Any] = []
    cells: list[Any] = []
    if isinstance(data, list):
        rows = data
    elif isinstance(data, dict):
        rows = data.get("rows") or data.get("results") or []
        retrieval = data.get("retrieval_rows") or []
        cells = data.get("cells") or []
        if isinstance(data.get("command"), str):
            report.command, report.command_note = data["command"], "from suite.json"
        elif isinstance(data.get("commands"), list) and data["commands"]:
            report.command, report.command_note = "\n".join(str(c) for c in data["commands"]), "from suite.json"
        meta = {k: v for k, v in data.items() if k not in ("rows", "results", "retrieval_rows", "cells", "command", "commands")
                and (_is_scalar(v) or isinstance(v, dict))}
        if meta:
            report.config, report.config_name = meta, "suite.json"
        if data.get("suite") is not None:
            report.facts.append(("suite", str(data["suite"]) + (" (quick smoke sizes)" if data.get("quick") else "")))
    rows = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
    retrieval = [r for r in retrieval if isinstance(r, dict)] if isinstance(retrieval, list) else []
    cells = [c for c in cells if isinstance(c, dict)] if isinstance(cells, list) else []
    if not rows and not retrieval:
        if data is not None:
            report.notes.append("suite.json holds no result rows (expected a list of {env, agent, variant, seeds, metrics}, "
                                "or {rows, retrieval_rows, ...})")
        return
    envs: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        envs.setdefault(str(r.get("env", "-")), []).append(r)
    stream_envs: dict[str, list[dict[str, Any]]] = {}
    for r in retrieval:
        stream_envs.setdefault(str(r.get("env", "-")), []).append(r)
    report.facts.append(("environments", ", ".join(dict.fromkeys([*envs, *stream_envs]))))
    report.facts.append(("rows", f"{len(rows)} admission, {len(retrieval)} retrieval" if retrieval else str(len(rows))))
    if isinstance(data, dict) and isinstance(data.get("total_s"), (int, float)):
        report.facts.append(("wall time", f"{data['total_s']:.0f} s"))
    for env in dict.fromkeys([*envs, *stream_envs]):
        if env in envs:
            env_rows = _add_ratios_to_none(envs[env])
            report.tables.append(rows_table(f"{env}: admission", env_rows, drop=("env",),
                                            note=f"mean ± std over {_plural(_n_seeds(env_rows), 'seed')}; ratios to the no-memory baseline (none)"))
        if env in stream_envs:
            s_rows = stream_envs[env]
            report.tables.append(rows_table(f"{env}: retrieval stream", s_rows, drop=("env", "epochs", "stream_admission", "last_epoch_success"),
                                            note=f"{_plural(s_rows[0].get('epochs', '?'), 'epoch')} over {_plural(_n_seeds(s_rows), 'seed')}; "
                                                 "metrics of the last epoch, success by epoch, Q ~ success correlation"))
    if cells:
        report.tables.append(rows_table("cells", cells, drop=("variants", "retrieval_variants", "machine", "run_name", "experience_store")))


def _add_ratios_to_none(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows lacking `*_ratio_to_none` get it for the cost metrics, against the `none` row of the same agent."""
    if any(k.endswith("_ratio_to_none") for r in rows for k in r):
        return rows
    out = []
    for r in rows:
        base = next((b for b in rows if b.get("variant") == "none" and b.get("agent") == r.get("agent")), None)
        r = dict(r)
        if base is not None:
            for key in ("env_steps", "llm_calls", "prompt_tokens", "wall_s"):
                if isinstance(r.get(key), (int, float)):
                    r[f"{key}_ratio_to_none"] = _ratio(r.get(key), base.get(key))
        out.append(r)
    return out


# -- any JSON ---------------------------------------------------------------------------


def _load_generic_file(report: Report, path: Path) -> None:
    data = _read_jsonl(report, path) if path.suffix.lower() == ".jsonl" else _read_json(report, path)
    if data is None:
        return
    tables: list[Table] = []
    _walk(data, path.name, tables, top=True)
    if not tables:
        report.notes.append(f"{path.name}: no result rows found")
    if len(tables) > MAX_TABLES_PER_FILE:
        report.notes.append(f"{path.name}: {len(tables)} tables, the first {MAX_TABLES_PER_FILE} are shown")
    report.tables.extend(tables[:MAX_TABLES_PER_FILE])


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool)) or (isinstance(v, list) and all(isinstance(x, (str, int, float, bool)) for x in v))


def _is_row(v: Any) -> bool:
    return isinstance(v, dict) and any(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v.values())


def _walk(data: Any, path: str, tables: list[Table], top: bool = False, depth: int = 0) -> None:
    """Tables from lists of rows, dicts of rows, and each dict's scalars (key / value)."""
    if depth > 5 or len(tables) > MAX_TABLES_PER_FILE:
        return
    if isinstance(data, list):
        rows = [r for r in data if isinstance(r, dict)]
        if rows:
            tables.append(rows_table(path, rows, collapsed=len(rows) > COLLAPSE_ROWS))
        return
    if not isinstance(data, dict):
        return
    if not top and len(data) >= 2 and all(_is_row(v) for v in data.values()):
        named = not all(v.get("variant") == k for k, v in data.items())  # {"none": {"variant": "none", ...}} needs no name column
        rows = [{**({"name": k} if named else {}), **{kk: vv for kk, vv in v.items() if not (named and kk == "name")}} for k, v in data.items()]
        tables.append(rows_table(path, rows, collapsed=len(rows) > COLLAPSE_ROWS))
        return
    scalars = {k: v for k, v in data.items() if _is_scalar(v)}
    if scalars:
        tables.append(kv_table(path if not top else f"{path}: about", scalars))
    for k, v in data.items():
        if not _is_scalar(v):
            _walk(v, f"{path} / {k}", tables, depth=depth + 1)


# -- tables -------------------------------------------------------------------------------


def rows_table(title: str, rows: Sequence[dict[str, Any]], *, columns: Sequence[str] | None = None, drop: Iterable[str] = (),
               note: str = "", collapsed: bool = False) -> Table:
    """Rows x columns; a metric with a `<metric>_std` beside it shows as mean over ± std.

    Inferred columns (no `columns`): long text goes under the table as footnotes, and a table wider than
    WIDE_TABLE columns leaves out the mean ± std metrics that are 0 in every row (the note names them).
    """
    shown = list(rows[:MAX_TABLE_ROWS])
    notes = [note] if note else []
    footnotes: list[str] = []
    if columns is None:
        cols, long_cols = infer_columns(rows, drop)
        if len(cols) > WIDE_TABLE:
            zero = [c for c in cols if c not in ID_KEYS and any(f"{c}_std" in r for r in rows) and all(_is_zero(r, c) for r in rows)]
            if zero:
                cols = [c for c in cols if c not in zero]
                notes.append("0 in every row, not shown: " + ", ".join(label(c) for c in zero))
        key = cols[0] if cols else None
        for r in shown:
            for c in long_cols:
                if isinstance(r.get(c), str) and r[c]:
                    who = f"{r.get(key)}: " if key is not None and key in r else ""
                    footnotes.append(f"{who}{label(c)}: {_clip(r[c])}")
    else:
        cols = list(columns)
    if len(rows) > MAX_TABLE_ROWS:
        notes.append(f"first {MAX_TABLE_ROWS} of {len(rows)} rows")
    return Table(title=title, columns=[label(c) for c in cols], rows=[[cell(r, c) for c in cols] for r in shown],
                 note="; ".join(notes), collapsed=collapsed, footnotes=footnotes)


def _is_zero(row: dict[str, Any], key: str) -> bool:
    v, s = row.get(key), row.get(f"{key}_std", 0)
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0 and isinstance(s, (int, float)) and s == 0)


def kv_table(title: str, values: dict[str, Any]) -> Table:
    return Table(title=title, columns=["key", "value"], rows=[[Cell(str(k)), cell(values, k)] for k in values])


def infer_columns(rows: Sequence[dict[str, Any]], drop: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """(columns, long-text keys): identifying keys first (env, agent, variant, ...), then seeds, short text, metrics, ratios."""
    dropped = set(drop)
    keys: list[str] = []
    for r in rows:
        for k in r:
            if k not in keys and k not in dropped:
                keys.append(str(k))
    present = set(keys)
    keys = [k for k in keys if not (k.endswith("_std") and k[: -len("_std")] in present)]
    keys = [k for k in keys if not all(isinstance(r.get(k), dict) for r in rows if k in r)]
    ident = [k for k in ID_KEYS if k in keys]
    ratios = [k for k in keys if ("_ratio_to_" in k or "_delta_to_" in k) and k not in ident]
    text = [k for k in keys if k not in ident and k not in ratios and any(isinstance(r.get(k), str) for r in rows)
            and all(isinstance(r.get(k), str) or r.get(k) is None for r in rows)]
    first = [*ident, *(["seeds"] if "seeds" in keys else [])]
    middle = [k for k in keys if k not in first and k not in text and k not in ratios]
    short_text = [k for k in text if all(len(str(r.get(k) or "")) <= 32 for r in rows)]
    long_text = [k for k in text if k not in short_text]
    return [*first, *short_text, *middle, *ratios], long_text


LABELS = {
    "experiences_stored": "exp. stored", "experiences_used_per_episode": "exp. used / episode",
    "experiences_used_distinct": "exp. used (distinct)", "q_mean_used": "mean Q of used", "q_success_r": "Q ~ success r",
    "q_success_n": "Q ~ success n", "last_epoch_success_delta_to_similarity": "last success − similarity",
    "success_by_epoch": "success by epoch", "read_by_other": "read by other",
}


def label(key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    if "_ratio_to_" in key:
        metric, _, base = key.partition("_ratio_to_")
        return f"{metric.replace('_', ' ')} / {base}"
    if "_delta_to_" in key:
        metric, _, base = key.partition("_delta_to_")
        return f"{metric.replace('_', ' ')} − {base}"
    return str(key).replace("_", " ")


def cell(row: dict[str, Any], key: str) -> Cell:
    if key not in row:
        return Cell("")
    v = row[key]
    if v is None:
        return Cell("–", num=True)
    if isinstance(v, bool):
        return Cell("yes" if v else "no")
    if isinstance(v, (int, float)):
        if "_ratio_to_" in key:
            return Cell(f"×{v:.2f}", num=True)
        if "_delta_to_" in key:
            return Cell(f"{v:+.2f}", num=True)
        std = row.get(f"{key}_std")
        digits = _digits(v)
        if isinstance(std, (int, float)) and not isinstance(std, bool):
            return Cell(fmt(v, digits), num=True, sub=f"± {fmt(std, digits)}")
        return Cell(fmt(v, digits), num=True)
    if isinstance(v, list) and key == "seeds" and all(isinstance(s, int) for s in v):
        return Cell(seeds_text(v), num=True)
    if isinstance(v, list) and v and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        return Cell(" → ".join(fmt(x) for x in v[:50]) + (" …" if len(v) > 50 else ""), num=True)
    if isinstance(v, str):
        return Cell(_clip(v))
    return Cell(_clip(json.dumps(v, default=str)))


def _digits(x: float) -> int:
    """Decimals for a number: none for integers and |x| >= 100, 2 from 0.01, 4 below."""
    if isinstance(x, int):
        return 0
    a = abs(x)
    if math.isnan(a) or a >= 100:
        return 0
    return 2 if a >= 0.01 or a == 0 else 4


def fmt(x: float, digits: int | None = None) -> str:
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return str(x)
    if digits is None:
        digits = _digits(x)
    if isinstance(x, int) and not isinstance(x, bool) and digits == 0:
        return f"{x:,}"
    return f"{x:,.{digits}f}"


def seeds_text(seeds: Any) -> str:
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        return str(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}..{seeds[-1]}"
    return ",".join(map(str, seeds))


def _n_seeds(rows: Sequence[dict[str, Any]]) -> str:
    seeds = rows[0].get("seeds")
    return str(len(seeds)) if isinstance(seeds, list) else str(seeds or "?")


def _plural(n: Any, word: str) -> str:
    return f"{n} {word}" if str(n) == "1" else f"{n} {word}s"


def _ratio(value: Any, base: Any) -> float | None:
    if not isinstance(value, (int, float)) or not isinstance(base, (int, float)) or not base:
        return None
    return value / base


def _f(x: Any) -> float:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else 0.0


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _size_text(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def flatten(config: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in config.items():
        if isinstance(v, dict) and v:
            out += flatten(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", v))
    return out


# -- images and files ------------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR, or None if it is not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_MAGIC) or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def _load_images(report: Report) -> list[Image]:
    root = report.run_dir
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):  # no symlinked folders
        dirnames[:] = sorted(n for n in dirnames if not n.startswith(".") and n != "experience")
        if Path(dirpath).relative_to(root).parts.__len__() > 2:
            dirnames[:] = []
        found += [Path(dirpath) / n for n in sorted(filenames) if n.lower().endswith(".png") and not n.startswith(".")]
    order = list(CAPTIONS)
    found.sort(key=lambda p: (p.parent != root, order.index(p.name) if p.parent == root and p.name in order else len(order),
                              str(p.relative_to(root))))
    images = []
    for p in found:
        rel = str(p.relative_to(root))
        if len(images) >= MAX_IMAGES:
            report.notes.append(f"more than {MAX_IMAGES} PNG files; the first {MAX_IMAGES} are shown")
            break
        try:
            if p.is_symlink() or not p.is_file():
                report.notes.append(f"{rel}: not a regular file; not shown")
                continue
            if p.stat().st_size > MAX_PNG_BYTES:
                report.notes.append(f"{rel}: {p.stat().st_size / 2**20:.0f} MiB, too big to inline")
                continue
            data = p.read_bytes()
        except OSError as err:
            report.notes.append(f"{rel} could not be read: {err}")
            continue
        size = png_size(data)
        if size is None:
            report.notes.append(f"{rel} is not a PNG image; not shown")
            continue
        caption = CAPTIONS.get(p.name, "")
        images.append(Image(name=rel, caption=caption, data=data, size=size))
    return images


def _list_files(report: Report) -> list[FileInfo]:
    files = []
    for p in _top_files(report.run_dir):
        if p.is_symlink():
            files.append(FileInfo(p.name, 0, "symbolic link (not followed)"))
        elif p.is_dir():
            n, size = 0, 0
            for dirpath, _, filenames in os.walk(p):
                for name in filenames:
                    try:
                        size += (Path(dirpath) / name).stat().st_size
                        n += 1
                    except OSError:
                        pass
            what = FILE_ROLES.get(p.name, "folder")
            if what == "folder" and ((p / "eval.json").is_file() or (p / "metrics.jsonl").is_file()):
                what = "a run folder of its own (teammind report it for its own page)"
            files.append(FileInfo(p.name + "/", size, f"{what} ({n} files)", is_dir=True))
        else:
            what = FILE_ROLES.get(p.name, "")
            if not what:
                suffix = p.suffix.lower()
                what = ("shown above" if suffix in (".json", ".jsonl", ".png") else "not read by the report")
            files.append(FileInfo(p.name, p.stat().st_size, what))
    return files


# -- HTML ------------------------------------------------------------------------------------------

CSS = """
:root { --ink:#1d2330; --muted:#5d6675; --line:#d9dee7; --head:#eef1f6; --accent:#2457a6; --bg:#ffffff; --band:#f7f8fb; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink); font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif; }
main { max-width:1240px; margin:0 auto; padding:24px 20px 40px; }
header { border-bottom:3px solid var(--accent); padding-bottom:12px; margin-bottom:18px; }
h1 { font-size:26px; margin:0 0 4px; }
h1 .kind { color:var(--accent); font-weight:600; }
h2 { font-size:19px; margin:30px 0 10px; padding-bottom:4px; border-bottom:1px solid var(--line); }
h3 { font-size:16px; margin:22px 0 6px; }
.path, .generated, .note, figcaption { color:var(--muted); font-size:13px; }
.path { font-family:ui-monospace,"DejaVu Sans Mono",monospace; word-break:break-all; }
dl.facts { display:grid; grid-template-columns:max-content 1fr; gap:4px 18px; margin:0; background:var(--band); padding:12px 16px; border-radius:6px; }
dl.facts dt { color:var(--muted); }
dl.facts dd { margin:0; font-weight:500; }
pre.command { background:#1f2430; color:#e8ecf3; padding:12px 14px; border-radius:6px; white-space:pre-wrap; word-break:break-word;
  font:13px/1.5 ui-monospace,"DejaVu Sans Mono",monospace; margin:6px 0; }
dl.config { columns:3 20em; column-gap:28px; margin:8px 0 0; font-size:13px; }
dl.config div { break-inside:avoid; display:flex; gap:8px; padding:2px 0; border-bottom:1px dotted var(--line); }
dl.config dt { color:var(--muted); flex:1; }
dl.config dd { margin:0; font-family:ui-monospace,"DejaVu Sans Mono",monospace; text-align:right; word-break:break-all; }
.scroll { overflow-x:auto; margin:4px 0 8px; }
table { border-collapse:collapse; font-size:13.5px; }
th, td { border:1px solid var(--line); padding:4px 7px; vertical-align:top; }
th { background:var(--head); font-weight:600; text-align:center; vertical-align:bottom; }
td { text-align:left; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
td .sd { display:block; color:var(--muted); font-size:11.5px; }
tbody tr:nth-child(even) td { background:var(--band); }
details > summary { cursor:pointer; color:var(--accent); margin:6px 0; }
details > summary h3 { display:inline; }
figure { margin:18px 0 26px; }
figure img { max-width:100%; height:auto; border:1px solid var(--line); border-radius:4px; display:block; }
figcaption { margin-top:6px; }
figcaption b { color:var(--ink); font-family:ui-monospace,"DejaVu Sans Mono",monospace; font-weight:600; }
ul.footnotes { margin:2px 0 10px; padding-left:20px; color:var(--muted); font-size:12.5px; }
ul.notes { background:#fff6e0; border:1px solid #f0d48a; border-radius:6px; padding:10px 10px 10px 30px; }
footer { margin-top:34px; color:var(--muted); font-size:12px; border-top:1px solid var(--line); padding-top:8px; }
"""


def h(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _table_html(t: Table, level: str = "h3") -> str:
    head = "".join(f"<th>{h(c).replace(' ', '&nbsp;') if len(c) <= 7 else h(c)}</th>" for c in t.columns)  # "wall s" in one piece
    body = []
    for row in t.rows:
        tds = []
        for c in row:
            sub = f'<span class="sd">{h(c.sub)}</span>' if c.sub else ""
            tds.append(f'<td class="num">{h(c.text)}{sub}</td>' if c.num else f"<td>{h(c.text)}{sub}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    note = f'<p class="note">{h(t.note)}</p>' if t.note else ""
    table = f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
    if t.footnotes:
        table += '<ul class="footnotes">' + "".join(f"<li>{h(f)}</li>" for f in t.footnotes) + "</ul>"
    if t.collapsed:
        return f"<details><summary><{level}>{h(t.title)}</{level}> ({len(t.rows)} rows, click to show)</summary>{note}{table}</details>"
    return f"<{level}>{h(t.title)}</{level}>{note}{table}"


def render_html(report: Report, *, generated: str | None = None) -> str:
    """The page as one string: inline CSS, images as data URIs, no script, no external URL."""
    generated = generated or _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>teammind report: {h(report.title)}</title>", f"<style>{CSS}</style></head><body><main>",
        f'<header><h1><span class="kind">{h(KIND_TITLES[report.kind])}</span> {h(report.run_dir.name or str(report.run_dir))}</h1>',
        f'<div class="path">{h(report.run_dir.resolve())}</div>',
        f'<div class="generated">report generated {h(generated)} by <code>teammind report</code></div></header>',
    ]
    if report.facts:
        parts.append('<dl class="facts">' + "".join(f"<dt>{h(k)}</dt><dd>{h(v)}</dd>" for k, v in report.facts) + "</dl>")
    if report.command or report.config:
        parts.append("<h2>Command and configuration</h2>")
        if report.command:
            note = f'<p class="note">{h(report.command_note)}</p>' if report.command_note else ""
            parts.append(f'<pre class="command">{h(report.command)}</pre>{note}')
        if report.config:
            items = "".join(f"<div><dt>{h(k)}</dt><dd>{h(_config_value(v))}</dd></div>" for k, v in flatten(report.config))
            parts.append(f'<h3>{h(report.config_name or "configuration")}</h3><dl class="config">{items}</dl>')
    if report.notes:
        parts.append("<h2>Notes</h2><ul class=\"notes\">" + "".join(f"<li>{h(n)}</li>" for n in report.notes) + "</ul>")
    if report.tables:
        parts.append("<h2>Results</h2>")
        parts += [_table_html(t) for t in report.tables]
    if report.images:
        parts.append("<h2>Charts</h2>")
        for img in report.images:
            uri = "data:image/png;base64," + base64.b64encode(img.data).decode("ascii")
            dims = f' width="{img.size[0]}" height="{img.size[1]}"' if img.size else ""
            cap = f"<b>{h(img.name)}</b>" + (f" — {h(img.caption)}" if img.caption else "")
            parts.append(f'<figure><img src="{uri}" alt="{h(img.name)}"{dims}><figcaption>{cap}</figcaption></figure>')
    parts.append("<h2>Files</h2>")
    rows = "".join(f'<tr><td>{h(f.name)}</td><td class="num">{h(_size_text(f.size))}</td><td>{h(f.what)}</td></tr>' for f in report.files)
    parts.append(f'<div class="scroll"><table><thead><tr><th>file</th><th>size</th><th>what</th></tr></thead><tbody>{rows}</tbody></table></div>')
    parts.append(f"<footer>{h(report.title)} · {h(report.run_dir.resolve())}</footer></main></body></html>")
    return "\n".join(parts) + "\n"


def _config_value(v: Any) -> str:
    if isinstance(v, list):
        return seeds_text(v) if all(isinstance(s, int) for s in v) and v else ", ".join(map(str, v)) or "[]"
    if v is None or isinstance(v, bool):
        return "–" if v is None else str(v).lower()
    return _clip(str(v))


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Render RUN_DIR's page to `out` (default RUN_DIR/report.html); returns the path written."""
    run_dir = Path(run_dir)
    report = load_report(run_dir)
    path = Path(out) if out is not None else run_dir / REPORT_NAME
    atomic_write_text(path, render_html(report))
    return path

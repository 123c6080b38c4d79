"""`teammind serve-llm`: run the embedded llama.cpp server in the foreground."""

from __future__ import annotations

import argparse
import signal
import sys
import threading


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "serve-llm",
        help="serve an embedded LLM (SmolLM2-135M-Instruct or Gemma 3 270M on llama.cpp) until Ctrl-C",
        description="Start the local OpenAI-compatible llama.cpp server on 127.0.0.1 and keep it running until Ctrl-C. "
        "Other teammind processes (ensure_llm('embedded')) reuse it while it runs.",
    )
    p.add_argument("--port", type=int, default=None, help="port to listen on (default: a free port)")
    p.add_argument("--model", default="smollm2", choices=("smollm2", "gemma3"),
                   help="which embedded model: SmolLM2-135M-Instruct (default) or Gemma 3 270M (a base model; its own server and state folder)")
    p.add_argument("--model-path", default=None, help="a .gguf model file (default: the chosen model's GGUF from its PyPI package)")
    p.add_argument("--n-ctx", type=int, default=2048, help="context size in tokens (default 2048)")
    p.add_argument("--startup-timeout", type=float, default=120.0, help="seconds to wait for the server to answer (default 120)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from teammind.agents.llm_server import EmbeddedLLMError, EmbeddedLLMServer

    if args.port is not None and not 0 < args.port < 65536:
        print(f"error: --port must be in 1..65535, got {args.port}", file=sys.stderr)
        return 2
    stop = threading.Event()
    # Ctrl-C and SIGTERM both stop the loop below. SIGINT gets its handler explicitly: a process started in the
    # background of a non-interactive shell inherits SIGINT as ignored, and Python then leaves it ignored.
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with EmbeddedLLMServer(model=args.model, model_path=args.model_path, port=args.port, n_ctx=args.n_ctx,
                               startup_timeout_s=args.startup_timeout) as server:
            how = "reusing the server already running" if server.reused else "started"
            print(f"{how}: pid {server.pid}, model {server.config.model}", flush=True)
            print(f"base URL: {server.base_url}", flush=True)
            print(f"use it with: --llm {server.base_url}  (or TEAMMIND_LLM_BASE_URL={server.base_url})", flush=True)
            print("Ctrl-C to stop.", flush=True)
            try:
                while not stop.wait(1.0):
                    if server.owned and server.process is not None and server.process.poll() is not None:
                        print(f"error: the server exited with code {server.process.returncode}; see {server.log_path}", file=sys.stderr)
                        return 1
            except KeyboardInterrupt:
                pass
            print("stopping", flush=True)
    except EmbeddedLLMError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0

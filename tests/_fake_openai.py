"""A tiny, real OpenAI-compatible HTTP endpoint for tests (stdlib http.server in a thread).

It answers `POST /v1/chat/completions` from a script of behaviours, one per
request (the last one repeats), and `GET /v1/models`. Every request body is
recorded so tests can check what the client sent.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict[str, Any] = b""
    content_type: str = "application/json"
    delay_s: float = 0.0
    headers: dict[str, str] | None = None


def completion(content: str, prompt_tokens: int | None = 11, completion_tokens: int | None = 7, model: str = "fake-model") -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
    }
    if prompt_tokens is not None:
        body["usage"] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + (completion_tokens or 0)}
    return body


def ok(content: str, **kw: Any) -> Reply:
    return Reply(200, completion(content, **kw))


def error(status: int, message: str = "boom") -> Reply:
    # retry-after-ms keeps the openai library's backoff short in tests
    return Reply(status, {"error": {"message": message, "type": "server_error"}}, headers={"retry-after-ms": "20"})


class FakeOpenAI:
    """`with FakeOpenAI([ok("hi")]) as srv: LLMConfig(srv.base_url, "m")`."""

    def __init__(self, script: list[Reply] | Callable[[dict[str, Any]], Reply]) -> None:
        self.script = script
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, reply: Reply) -> None:
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                body = reply.body
                if isinstance(body, dict):
                    body = json.dumps(body)
                if isinstance(body, str):
                    body = body.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(body)))
                    for k, v in (reply.headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout)

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/").endswith("/models"):
                    self._send(Reply(200, {"object": "list", "data": [{"id": "fake-model", "object": "model", "owned_by": "test"}]}))
                else:
                    self._send(Reply(404, {"error": {"message": "not found"}}))

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    request = json.loads(raw)
                except ValueError:
                    request = {"_raw": raw.decode(errors="replace")}
                request["_path"] = self.path
                with fake._lock:
                    fake.requests.append(request)
                    n = len(fake.requests) - 1
                if callable(fake.script):
                    reply = fake.script(request)
                else:
                    reply = fake.script[min(n, len(fake.script) - 1)]
                self._send(reply)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> "FakeOpenAI":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

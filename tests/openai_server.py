"""A fake OpenAI-compatible server on 127.0.0.1 for testing the real `openai` client offline.

openai 3.x talks through httpx2, so mocks of `httpx` do not intercept it; a real HTTP server does,
and exercises the SDK's own request building and error mapping too. The server answers
`POST /v1/chat/completions` from a per-test script of `Reply`s, records every request, and can
play a server that refuses some `response_format` types before the script is consulted. A reply
can also be a fault of the server's own: `truncated` (a 200 whose JSON body is cut short), `reset`
(the connection reset in the middle of the body), `hang` (never answers) and `html` (a web page):

    with FakeOpenAIServer(rejects=JSON_MODE_ONLY) as server:
        server.script(completion('{"title": "x"}'))
        ...  # OpenAI(base_url=server.base_url, ...)
        server.requests[0].body["response_format"]
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Callable
from typing import Any

# Which response_format types a kind of server refuses with a 400.
OPENAI_LIKE: frozenset[str] = frozenset()
JSON_MODE_ONLY = frozenset({"json_schema"})  # DeepSeek; older llama.cpp builds
TEXT_ONLY = frozenset({"json_schema", "json_object"})

# DeepSeek's words when a response_format type is not supported.
REJECTION_MESSAGE = "This response_format type is unavailable now"


@dataclass(frozen=True)
class Reply:
    """One scripted HTTP response: `body` is sent as JSON, or as text when it is a str."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    content_type: str | None = None  # default: application/json, or text/plain for a str body
    cut_at: int | None = None  # send only this many bytes of the body, as the whole body
    reset_at: int | None = None  # announce the whole body, reset the connection after this many bytes
    hang: bool = False  # never answer (until the server shuts down)

    @property
    def payload(self) -> bytes:
        return (self.body if isinstance(self.body, str) else json.dumps(self.body)).encode()


@dataclass(frozen=True)
class Request:
    """One request as the server saw it."""

    path: str
    headers: dict[str, str]
    body: Any

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body["messages"]

    @property
    def response_format_type(self) -> str | None:
        return (self.body.get("response_format") or {}).get("type")


def completion(
    content: str | None,
    *,
    finish_reason: str = "stop",
    refusal: str | None = None,
    prompt_tokens: int = 42,
    completion_tokens: int = 7,
    model: str = "fake-model",
) -> Reply:
    """A 200 chat completion whose single choice says `content`."""
    return Reply(body={
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0,
            "finish_reason": finish_reason,
            "message": {"role": "assistant", "content": content, "refusal": refusal},
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    })


def error(status: int, message: str, *, headers: dict[str, str] | None = None) -> Reply:
    """An OpenAI-style error body."""
    kind = {429: "rate_limit_error"}.get(status, "invalid_request_error" if status < 500 else "server_error")
    return Reply(
        status=status,
        body={"error": {"message": message, "type": kind, "param": None, "code": None}},
        headers=headers or {},
    )


def truncated(reply: Reply, at: int | None = None) -> Reply:
    """`reply` as a complete HTTP message whose JSON body is cut short (at half, by default): what
    a proxy that gives up mid-body, or a crashing server, sends."""
    return replace(reply, cut_at=len(reply.payload) // 2 if at is None else at)


def reset(reply: Reply, at: int | None = None) -> Reply:
    """`reply` whose connection is reset (RST) after part of the body (half, by default)."""
    return replace(reply, reset_at=len(reply.payload) // 2 if at is None else at)


def hang() -> Reply:
    """A server that accepts the request and never answers."""
    return Reply(hang=True)


def html(page: str = "<!DOCTYPE html><html><head><title>Welcome</title></head><body>It works!</body></html>",
         status: int = 200) -> Reply:
    """A web page, as a base URL without /v1 (or a captive portal) serves."""
    return Reply(status=status, body=page, content_type="text/html; charset=utf-8")


class FakeOpenAIServer:
    """A threaded HTTP server on an ephemeral port; use as a context manager."""

    def __init__(self, rejects: frozenset[str] = OPENAI_LIKE,
                 responder: Callable[[Request], Reply] | None = None):
        """`responder` answers whatever the script does not: for parallel requests, whose order
        a script cannot know, it can answer by what each request asks."""
        self.rejects = rejects
        self.responder = responder
        self.requests: list[Request] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()  # releases hanging replies
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # A short poll interval: shutdown() waits up to one interval, once per test.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.01,), daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    @property
    def unused(self) -> int:
        """Scripted replies not served yet."""
        return len(self._replies)

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def _answer(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            if request.path != "/v1/chat/completions":
                return error(404, f"no route {request.path}")
            if request.response_format_type in self.rejects:
                return error(400, REJECTION_MESSAGE)
            if self._replies:
                return self._replies.popleft()
        if self.responder is not None:
            return self.responder(request)
        # 418 is not retried, so a test that asks too often fails at once and clearly.
        return error(418, "fake server: the test script ran out of replies")


def _handler_for(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            request = Request(self.path, headers, json.loads(raw or b"null"))
            reply = server._answer(request)
            if reply.hang:
                server._closing.wait(timeout=300)
                self.close_connection = True
                return
            if reply.delay_s:
                time.sleep(reply.delay_s)
            data = reply.payload
            sent = data[: reply.cut_at] if reply.cut_at is not None else data
            try:
                self.send_response(reply.status)
                content_type = reply.content_type or (
                    "text/plain" if isinstance(reply.body, str) else "application/json")
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(sent)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if reply.reset_at is None:
                    self.wfile.write(sent)
                    return
                self.wfile.write(sent[: reply.reset_at])
                self.wfile.flush()
                # SO_LINGER 0: close() sends a RST instead of an orderly FIN.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
                self.close_connection = True
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left; that is what a delay is for

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep pytest output clean

    return Handler

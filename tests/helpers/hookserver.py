"""A real local HTTP server that answers webhook POSTs like Slack and Teams do.

Each path has a script of answers used in order (``200``, ``429`` with ``Retry-After``, ``500``,
``404`` …), then 200 ("ok") for ever. Every POST is recorded with its JSON body and the status
it got, so a test can count the posts that were *accepted* per path.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


@dataclass
class Post:
    path: str
    body: dict
    status: int


class HookServer:
    def __init__(self) -> None:
        self.scripts: dict[str, list[Answer]] = {}
        self.posts: list[Post] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with server.lock:
                    script = server.scripts.get(self.path)
                    answer = script.pop(0) if script else Answer()
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body = {"unreadable": raw.decode("utf-8", "replace")}
                    server.posts.append(Post(self.path, body, answer.status))
                self.send_response(answer.status)
                for name, value in {"Content-Type": "text/plain", **answer.headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> HookServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *answers: Answer) -> str:
        self.scripts[path] = list(answers)
        return self.url(path)

    def accepted(self, path: str) -> list[dict]:
        """The bodies of the posts to ``path`` that were answered 2xx."""
        return [p.body for p in self.posts if p.path == path and 200 <= p.status < 300]

    def tries(self, path: str) -> int:
        return sum(1 for p in self.posts if p.path == path)

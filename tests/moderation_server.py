"""A moderation service for the tests of HTTP detectors: a real HTTP server on localhost
(http.server in a thread) speaking the documented shapes. `/v1/moderations` is
OpenAI-compatible (a bearer key is required; "idiot" scores 0.97 for harassment, any
other text 0.02); `/score` is a generic JSON endpoint (`{"texts": [...]}` in,
`{"data": {"scores": [{"toxic": S}, ...]}}` out); `/flaky` fails twice with 503, `/busy`
once with 429, then each answers as `/v1/moderations` does (without the key); `/hang`
answers after 2 s; `/malformed`, `/short` and `/notjson` answer out of shape."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

KEY = "sk-test-not-a-real-key"


def _harassment(text: str) -> float:
    return 0.97 if "idiot" in text else 0.02


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        server = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server.requests.append((self.path, body, self.headers.get("Authorization")))
        route = self.path.strip("/").split("/")[0]
        if route == "v1" and self.headers.get("Authorization") != f"Bearer {KEY}":
            return self._answer(401, {"error": {"message": "bad key"}})
        if route == "flaky" and sum(p.startswith("/flaky") for p, _, _ in server.requests) <= 2:
            return self._answer(503, {"error": "overloaded"})
        if route == "busy" and sum(p.startswith("/busy") for p, _, _ in server.requests) <= 1:
            return self._answer(429, {"error": "slow down"}, {"Retry-After": "0"})
        if route == "hang":
            time.sleep(2)
        if route == "malformed":
            return self._answer(200, {"results": [{"category_scores": {"harassment": "high"}}
                                                  for _ in body["input"]]})
        if route == "short":
            return self._answer(200, {"results": []})
        if route == "notjson":
            return self._raw(200, b"<html>gateway</html>")
        if route == "score":
            return self._answer(200, {"data": {"scores": [{"toxic": _harassment(t)} for t in body["texts"]]}})
        self._answer(200, {"id": "modr-1", "model": body.get("model"), "results": [
            {"flagged": _harassment(t) > 0.5, "categories": {"harassment": _harassment(t) > 0.5, "violence": False},
             "category_scores": {"harassment": _harassment(t), "violence": 0.01}} for t in body["input"]]})

    def _answer(self, status, data, headers=None):
        self._raw(status, json.dumps(data).encode(), headers)

    def _raw(self, status, data, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (the hanging route)
            pass


@contextlib.contextmanager
def serving() -> Iterator[tuple[ThreadingHTTPServer, str]]:
    """The server, in a thread, and its base URL; `server.requests` lists (path, body,
    Authorization header) of each request, in the order they came."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.requests = []
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()

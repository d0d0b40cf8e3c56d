"""Helpers: a real `charter serve` on a free 127.0.0.1 port (uvicorn in a thread), and helpers to
check answers against the OpenAPI description."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import attrs
import httpx
import jsonschema
import uvicorn

from charter.server import ServerConfig, create_app, uvicorn_config
from charter.server.openapi import openapi_spec

EXAMPLES = Path(__file__).parents[2] / "examples"
SPEC = openapi_spec()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running(config: ServerConfig) -> Iterator[httpx.Client]:
    """Serve `config` as `charter serve` does until the block ends; yields a client for it."""
    port = free_port()
    server = uvicorn.Server(uvicorn_config(create_app(config), config, "127.0.0.1", port, "warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(10)


@contextlib.contextmanager
def serving_process(*args: str) -> Iterator[str]:
    """`charter serve ARGS` as a real process on a free port until the block ends (then
    stopped as an operator would, by SIGTERM); yields its base URL once it answers."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "charter.cli", "serve", *args, "--port", str(port)],
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")})
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                assert httpx.get(base + "/health").json() == {"status": "ok"}
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "charter serve did not start"
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        # uvicorn shuts down gracefully, then re-raises the signal it caught
        assert server.wait(10) in (0, -signal.SIGTERM)


def validate(response: httpx.Response, path: str, method: str) -> Any:
    """The answer's JSON, checked against the schema OpenAPI gives for its status."""
    answers = SPEC["paths"][path][method]["responses"]
    assert str(response.status_code) in answers, f"{method} {path}: undocumented status {response.status_code}"
    schema = answers[str(response.status_code)]["content"]["application/json"]["schema"]
    data = response.json()
    jsonschema.Draft202012Validator({**schema, "components": SPEC["components"]}).validate(data)
    return data


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The error of an answer that must have this status and code."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "location"}, body
    assert body["error"]["code"] == code, body
    return body["error"]


def with_token(client: httpx.Client, token: str) -> httpx.Client:
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def config(**options: Any) -> ServerConfig:
    return attrs.evolve(ServerConfig((str(EXAMPLES / "acme_support.charter"),)), **options)

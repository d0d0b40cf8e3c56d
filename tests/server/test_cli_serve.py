"""`charter serve` as a command: a real process, its start-up errors and its token file."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from charter.cli import main

from ._support import EXAMPLES, free_port


def test_a_policy_error_stops_it_before_serving(tmp_path: Path):
    broken = tmp_path / "broken.charter"
    broken.write_text('norm n:\n    forbid assistant sayz "x"\n')
    result = CliRunner().invoke(main, ["serve", str(broken), "--port", "0"])
    assert result.exit_code == 2 and "error[E114]" in result.output and "broken.charter:2:22" in result.output


def test_an_empty_token_file_is_a_usage_error(tmp_path: Path):
    (tmp_path / "token").write_text("\n")
    result = CliRunner().invoke(main, ["serve", str(EXAMPLES / "acme_support.charter"),
                                       "--token-file", str(tmp_path / "token")])
    assert result.exit_code == 2 and "is empty" in result.output


def test_the_command_serves_with_its_token(tmp_path: Path):
    (tmp_path / "token").write_text("s3cret\n")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "charter.cli", "serve", str(EXAMPLES / "acme_support.charter"), "--port", str(port),
         "--token-file", str(tmp_path / "token"), "--log-level", "warning", "--read-timeout", "0.5"],
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
        assert httpx.get(base + "/v1/policy").status_code == 401
        answer = httpx.get(base + "/v1/policy", headers={"Authorization": "Bearer s3cret"})
        assert answer.status_code == 200 and answer.json()["norms"]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as silent:  # --read-timeout took
            assert silent.recv(100).startswith(b"HTTP/1.1 408 ")
    finally:
        server.terminate()
        # uvicorn shuts down gracefully, then re-raises the signal it caught
        assert server.wait(10) in (0, -signal.SIGTERM)


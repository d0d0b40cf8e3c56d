"""`charter serve` as a command: a real process, its start-up errors and its token file."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
from click.testing import CliRunner

from charter.cli import main

from ._support import EXAMPLES, serving_process


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
    with serving_process(str(EXAMPLES / "acme_support.charter"), "--token-file", str(tmp_path / "token"),
                         "--log-level", "warning", "--read-timeout", "0.5") as base:
        assert httpx.get(base + "/v1/policy").status_code == 401
        answer = httpx.get(base + "/v1/policy", headers={"Authorization": "Bearer s3cret"})
        assert answer.status_code == 200 and answer.json()["norms"]
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as silent:  # --read-timeout took
            assert silent.recv(100).startswith(b"HTTP/1.1 408 ")


def test_a_wrong_on_unspecified_setting_is_a_usage_error():
    result = CliRunner().invoke(main, ["serve", str(EXAMPLES / "acme_support.charter"),
                                       "--on-unspecified", "high=ignore"])
    assert result.exit_code == 2
    assert "Invalid value for '--on-unspecified': 'ignore' is not an action for an open question" in result.output


def test_an_escalation_file_that_is_no_queue_stops_the_start(tmp_path: Path):
    (tmp_path / "notes.db").write_text("not a database " * 100)
    result = CliRunner().invoke(main, ["serve", str(EXAMPLES / "acme_support.charter"),
                                       "--escalations", str(tmp_path / "notes.db")])
    assert result.exit_code == 2
    assert "notes.db cannot be opened as an escalation queue: file is not a database" in result.output

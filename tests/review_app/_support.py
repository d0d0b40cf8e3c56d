"""A real `charter review` (the command, in a process of its own) on a copy of the Model
Spec example, on a free loopback port."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import attrs
import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL_SPEC = ROOT / "examples" / "model_spec" / "model_spec.charter"
MODEL_SPEC_TRACES = ROOT.parent / "shared" / "data" / "model_spec_examples.jsonl"


@attrs.frozen
class Review:
    url: str
    policy: Path
    ledger: Path
    process: subprocess.Popen


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running(tmp: Path, *extra: str) -> Iterator[Review]:
    """`charter review` on a copy of examples/model_spec until the block ends."""
    if not MODEL_SPEC_TRACES.exists():
        pytest.skip(f"{MODEL_SPEC_TRACES} is absent")
    policy, ledger = tmp / "model_spec.charter", tmp / "decisions.ledger"
    shutil.copy(MODEL_SPEC, policy)
    shutil.copy(MODEL_SPEC_TRACES, tmp / MODEL_SPEC_TRACES.name)  # named as the docs name it
    port = _free_port()
    command = [sys.executable, "-m", "charter.cli", "review", policy.name, "--traces", MODEL_SPEC_TRACES.name,
               "--ledger", ledger.name, "--port", str(port), *extra]
    process = subprocess.Popen(command, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "charter review did not start"
            try:
                httpx.get(url + "/identity", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield Review(url, policy, ledger, process)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
        assert "Traceback" not in stderr, stderr

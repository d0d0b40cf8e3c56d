"""`charter serve` under wrk (a load generator written in C, Debian's `wrk`): requests/s
and latency of `POST /v1/check` with a 7-message conversation, beside `GET /health`
(the server's floor: routing, no checking) in the same run, on 127.0.0.1 only.

    apt-get install -y wrk
    python benchmarks/wrk_check.py                        # 8 connections, 10 s each, 3 rounds
    python benchmarks/wrk_check.py --connections 8 32 --seconds 5 --rounds 5

The policy is benchmarks/policy/support.charter (31 norms); the conversation is the
first of benchmarks/corpus.py's with 7 messages. The two endpoints are run in turn,
round after round, so that they meet the same spells of load; each figure is the median
of the rounds. The last line is one JSON object with them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402
import memory  # noqa: E402

POLICY = HERE / "policy" / "support.charter"
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def conversation(messages: int = 7) -> dict:
    """The first conversation of the benchmark corpus with exactly `messages` messages."""
    generator = corpus.Generator(seed=0)
    for _ in range(10_000):
        record = generator.trace()
        if len(record["messages"]) == messages:
            return record
    raise SystemExit(f"no conversation of {messages} messages in the corpus")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"charter serve exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit("charter serve did not start")


def wrk(url: str, connections: int, seconds: int, script: Path | None) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) of one wrk run; any non-2xx answer stops the run."""
    command = ["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    command += ["-s", str(script)] if script else []
    done = subprocess.run(command + [url], capture_output=True, text=True, check=True)
    out = done.stdout
    if "Non-2xx" in out:
        raise SystemExit(f"non-2xx answers from {url}:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50, p99 = (_ms(re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)) for p in ("50", "99"))
    return rate, p50, p99


def _ms(found: re.Match) -> float:
    return float(found.group(1)) * _UNITS[found.group(2)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, nargs="+", default=[8])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="charter-wrk-"))
    body = json.dumps(conversation())
    script = workdir / "check.lua"
    script.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                      f"wrk.body = {json.dumps(body)}\n")
    port = free_port()
    server = subprocess.Popen(memory.charter_command() + ["serve", str(POLICY), "--port", str(port),
                                                          "--log-level", "warning"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, server)
        base = f"http://127.0.0.1:{port}"
        wrk(base + "/v1/check", 8, 2, script)  # warm up
        load = os.getloadavg()[0]
        rows, summary = [], {}
        for connections in args.connections:
            runs: dict[str, list[tuple[float, float, float]]] = {"check": [], "health": []}
            for _ in range(args.rounds):
                runs["check"].append(wrk(base + "/v1/check", connections, args.seconds, script))
                runs["health"].append(wrk(base + "/health", connections, args.seconds, None))
            for name, results in runs.items():
                rate, p50, p99 = (statistics.median(r[i] for r in results) for i in range(3))
                rows.append(f"| {name} | {connections} | {rate:,.0f} | {p50:.1f} | {p99:.1f} |")
                summary[f"{name}_c{connections}"] = {"rps": round(rate), "p50_ms": round(p50, 2),
                                                     "p99_ms": round(p99, 2)}
            check, health = summary[f"check_c{connections}"], summary[f"health_c{connections}"]
            summary[f"health_vs_check_rps_c{connections}"] = round(health["rps"] / check["rps"], 2)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"load average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end; "
          f"{args.rounds} rounds of {args.seconds} s; medians\n")
    print("| endpoint | connections | requests/s | p50 ms | p99 ms |\n|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    summary["load_average"] = round(load, 2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

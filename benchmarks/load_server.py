"""Load test of `charter serve`, on 127.0.0.1 only, bounded in requests and in time.

    python benchmarks/load_server.py                       # concurrency 1, 4, 16, 64
    python benchmarks/load_server.py --concurrency 1 8 --requests 500 --seconds 10

Starts `charter serve` in a subprocess over a copy of examples/acme_support.charter, then
for each concurrency level drives two paths with an async httpx client:

- check:   POST /v1/check with a whole synthetic support conversation (benchmarks/corpus.py);
- session: per conversation, POST /v1/sessions, then for each message a POST
           .../candidate for assistant replies followed by POST .../messages, then DELETE.

Halfway through each run the policy file is rewritten and POST /v1/policy/reload swaps
it in while the other requests go on; the run fails (exit 1) if any request was not
answered with a 2xx or the reload did not swap the policy. Prints a table of requests/s
and p50/p99 latency per path and concurrency, as the client sees them, and the mean time
the server itself spent per answer (from its latency histogram): client and server share
the machine's cores, so at high concurrency the client's own work shows in its figures.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from corpus import Generator  # noqa: E402

ROOT = Path(__file__).parents[1]
EXTRA_NORM = "\nnorm reloaded_{n}:\n    forbid assistant says \"reload marker {n}\"\n"


class Run:
    """One path at one concurrency: latencies, failures, and the reload in the middle."""

    def __init__(self, requests: int, seconds: float):
        self.budget = requests
        self.deadline = time.monotonic() + seconds
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.reloaded: bool | None = None

    def more(self) -> bool:
        return len(self.latencies) + len(self.failures) < self.budget and time.monotonic() < self.deadline

    async def request(self, client: httpx.AsyncClient, method: str, url: str, body: Any = None) -> Any:
        started = time.perf_counter()
        try:
            answer = await client.request(method, url, json=body)
        except httpx.HTTPError as error:
            self.failures.append(f"{method} {url}: {type(error).__name__}")
            return None
        if answer.status_code // 100 != 2:
            self.failures.append(f"{method} {url}: {answer.status_code} {answer.text[:200]}")
            return None
        self.latencies.append(time.perf_counter() - started)
        return answer.json()


async def _check_worker(run: Run, client: httpx.AsyncClient, traces: itertools.cycle) -> None:
    while run.more():
        await run.request(client, "POST", "/v1/check", next(traces))


async def _session_worker(run: Run, client: httpx.AsyncClient, traces: itertools.cycle) -> None:
    while run.more():
        trace = next(traces)
        session = await run.request(client, "POST", "/v1/sessions", {"meta": trace["meta"]})
        if session is None:
            continue
        url = f"/v1/sessions/{session['id']}"
        for message in trace["messages"]:
            if not run.more():
                break
            if message["role"] == "assistant":
                await run.request(client, "POST", url + "/candidate", message)
            await run.request(client, "POST", url + "/messages", message)
        await run.request(client, "DELETE", url)


async def _reload_midway(run: Run, client: httpx.AsyncClient, policy: Path, marker: int) -> None:
    """Once half the requests are answered, change the policy and reload it."""
    while run.more() and len(run.latencies) < run.budget // 2:
        await asyncio.sleep(0.005)
    before = (await client.get("/v1/policy")).json()["content_hash"]
    policy.write_text(policy.read_text() + EXTRA_NORM.format(n=marker))
    answer = await client.post("/v1/policy/reload")
    run.reloaded = answer.status_code == 200 and answer.json()["policy"]["content_hash"] != before


async def _server_time(client: httpx.AsyncClient, path: str) -> tuple[float, float]:
    """Seconds the server spent answering the path's routes, and how many answers, so far
    (from its latency histogram): what the server costs, apart from the client's own time."""
    routes = ("/v1/check",) if path == "check" else ("/v1/sessions", "/v1/sessions/{id}",
                                                     "/v1/sessions/{id}/messages", "/v1/sessions/{id}/candidate")
    total = count = 0.0
    for line in (await client.get("/metrics")).text.splitlines():
        name, _, value = line.rpartition(" ")
        for route in routes:
            if name == f'charter_request_duration_seconds_sum{{route="{route}"}}':
                total += float(value)
            elif name == f'charter_request_duration_seconds_count{{route="{route}"}}':
                count += float(value)
    return total, count


async def measure(base_url: str, path: str, concurrency: int, traces: list[dict], policy: Path,
                  requests: int, seconds: float, marker: int) -> dict[str, Any]:
    worker = _check_worker if path == "check" else _session_worker
    limits = httpx.Limits(max_connections=concurrency + 1, max_keepalive_connections=concurrency + 1)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        run = Run(requests, seconds)
        cycle = itertools.cycle(traces[marker % len(traces):] + traces[:marker % len(traces)])
        server_before = await _server_time(client, path)
        started = time.perf_counter()
        await asyncio.gather(_reload_midway(run, client, policy, marker),
                             *(worker(run, client, cycle) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        server_after = await _server_time(client, path)
    latencies = sorted(run.latencies)
    return {
        "path": path, "concurrency": concurrency, "requests": len(latencies), "failed": len(run.failures),
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else float("nan"),
        "server_ms": 1000 * (server_after[0] - server_before[0]) / max(1.0, server_after[1] - server_before[1]),
        "reloaded": run.reloaded, "first_failure": run.failures[0] if run.failures else None,
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_server(policy: Path, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "charter.cli", "serve", str(policy), "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"], env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("charter serve did not start")


def _table(rows: list[dict[str, Any]]) -> str:
    lines = ["| path | concurrency | requests | failed | requests/s | p50 ms | p99 ms | server mean ms | reload mid-run |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        reload = {True: "swapped", False: "FAILED", None: "not reached"}[r["reloaded"]]
        lines.append(f"| {r['path']} | {r['concurrency']} | {r['requests']} | {r['failed']} | {r['rps']:.0f} | "
                     f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['server_ms']:.2f} | {reload} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--requests", type=int, default=2000, help="Requests per path and level (a bound).")
    parser.add_argument("--seconds", type=float, default=15.0, help="Seconds per path and level (a bound).")
    parser.add_argument("--traces", type=int, default=200, help="Distinct synthetic conversations to cycle through.")
    args = parser.parse_args(argv)

    generator = Generator(seed=0, malformed=0.0, max_messages=12)
    traces = [generator.trace() for _ in range(args.traces)]
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(shutil.copy(ROOT / "examples" / "acme_support.charter", Path(tmp) / "policy.charter"))
        port = _free_port()
        server = _start_server(policy, port)
        try:
            rows = []
            for marker, (path, concurrency) in enumerate(itertools.product(("check", "session"), args.concurrency)):
                rows.append(asyncio.run(measure(f"http://127.0.0.1:{port}", path, concurrency, traces, policy,
                                                args.requests, args.seconds, marker)))
                row = rows[-1]
                print(f"{path} x{concurrency}: {row['requests']} requests, {row['failed']} failed", file=sys.stderr)
        finally:
            server.terminate()
            server.wait(10)
    print(_table(rows))
    failed = [r for r in rows if r["failed"] or r["reloaded"] is not True]
    for r in failed:
        print(f"{r['path']} x{r['concurrency']}: {r['failed']} failed ({r['first_failure']}), "
              f"reload {r['reloaded']}", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

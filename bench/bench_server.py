"""HTTP throughput and latency of the real server on 127.0.0.1.

Starts ``wordlens serve`` on the trained models, measures its start time (until
/readyz answers 200), then loads it from this separate process at several
concurrencies for similarity, neighbours (most_similar) and related words, and
reports requests/s and p50/p99 latency, plus each worker's resident memory (RSS,
and PSS, which splits the shared memory-mapped pages between the processes)
against the size of the matrices on disk.

    .venv/bin/python bench/bench_server.py [--models models] [--workers 2] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx2
import numpy as np
from common import ROOT, table


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> int:
    """One keep-alive HTTP/1.1 GET; returns the status code (body read and dropped)."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await reader.readexactly(length)
    return status


async def load(port: int, paths: list[str], concurrency: int, seconds: float) -> dict:
    """``concurrency`` keep-alive connections sending GETs back to back for ``seconds``.

    A minimal client on raw asyncio streams, so that the load generator costs little
    CPU next to the server on this 2-core machine.
    """
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def user(offset: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = offset
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            status = await _get(reader, writer, paths[i % len(paths)])
            latencies.append(time.perf_counter() - started)
            errors += status != 200
            i += concurrency
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(user(k) for k in range(concurrency)))
    return figures(latencies, time.perf_counter() - started, errors)


def figures(latencies: list[float], elapsed: float, errors: int) -> dict:
    """requests/s, p50 and p99 latency (ms) and errors of a load run."""
    latencies = sorted(latencies)
    return {
        "requests/s": len(latencies) / elapsed,
        "p50 ms": 1e3 * statistics.median(latencies),
        "p99 ms": 1e3 * latencies[int(0.99 * (len(latencies) - 1))],
        "errors": errors,
    }


def memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process in KiB."""
    rss = pss = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Rss:"):
            rss = int(line.split()[1])
        elif line.startswith("Pss:"):
            pss = int(line.split()[1])
    return rss, pss


def worker_pids(parent: int) -> list[int]:
    """The worker processes of the ``wordlens serve`` process ``parent``."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [
        int(pid)
        for pid in children
        if "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()
    ]


def start_server(models: str, workers: int, port: int) -> tuple[subprocess.Popen, float]:
    """Start ``wordlens serve`` on 127.0.0.1:``port`` and wait until /readyz answers
    200 on 8 new connections per worker in a row and every worker runs; returns the
    process and the seconds that took."""
    started = time.perf_counter()
    answered = 0  # consecutive 200s, each on a new connection
    server = subprocess.Popen(
        [
            sys.executable, "-m", "wordlens", "serve", "--models", models,
            "--port", str(port), "--workers", str(workers), "--log-level", "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    while True:
        try:
            ready = httpx2.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
        except httpx2.TransportError:
            ready = False
        # Each GET opens a new connection, which the kernel hands to one worker's
        # socket (by a hash of the client port); a worker still loading holds it until
        # it is ready. 8 answers in a row make it unlikely (< 1 %) that a worker of 2
        # was never asked.
        answered = answered + 1 if ready else 0
        if answered >= 8 * workers and len(worker_pids(server.pid)) == workers:
            return server, time.perf_counter() - started
        if ready:
            continue
        if server.poll() is not None:
            raise SystemExit("server exited")
        if time.perf_counter() - started > 120:
            server.kill()
            raise SystemExit("server not ready after 120 s")
        time.sleep(0.05)


def start_only(models: str, workers: int, times: int) -> None:
    """Start the server ``times`` times; print each start time and the workers' memory
    once ready (before any query)."""
    for attempt in range(1, times + 1):
        server, seconds = start_server(models, workers, free_port())
        try:
            memory = [memory_kib(pid) for pid in worker_pids(server.pid)]
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        shown = ", ".join(f"RSS {rss / 1024:.0f} / PSS {pss / 1024:.0f} MiB" for rss, pss in memory)
        print(f"start {attempt}: {seconds:.2f} s to /readyz with {workers} worker(s); {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="models")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument(
        "--start-only",
        type=int,
        metavar="N",
        default=0,
        help="only start the server N times and print start time and memory per worker",
    )
    args = parser.parse_args()
    if args.start_only:
        start_only(str(Path(args.models).resolve()), args.workers, args.start_only)
        return

    from wordlens.app.engine import Engine

    args.models = str(Path(args.models).resolve())
    engine = Engine(args.models, verify=False)
    matrix_bytes = sum(p.stat().st_size for p in Path(args.models).glob("*/*.npy"))
    port = free_port()
    server, start_seconds = start_server(args.models, args.workers, port)
    try:
        rng = np.random.default_rng(0)
        rows = []
        for name, model in engine.models.items():
            words = [quote(model.words[i]) for i in rng.integers(0, min(5000, len(model)), 500)]
            workloads = {
                "similarity": [
                    f"/similarity?model={name}&w1={a}&w2={b}" for a, b in itertools.pairwise(words)
                ],
                "most_similar": [f"/most_similar?model={name}&positive={w}&topn=10" for w in words],
            }
            if model.family.answers("context_similarity"):
                workloads["related"] = [f"/related?model={name}&word={w}&topn=10" for w in words]
            for workload, paths in workloads.items():
                for concurrency in args.concurrency:
                    figures = asyncio.run(load(port, paths, concurrency, args.seconds))
                    rows.append(
                        {"model": name, "query": workload, "concurrency": concurrency, **figures}
                    )
        memory = [memory_kib(pid) for pid in worker_pids(server.pid)]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    print(table(rows))
    print()
    print(f"server start to /readyz: {start_seconds:.2f} s with {args.workers} worker(s)")
    print(f"model matrices on disk: {matrix_bytes / 2**20:.1f} MiB")
    for k, (rss, pss) in enumerate(memory, 1):
        print(f"worker {k}: RSS {rss / 1024:.1f} MiB, PSS {pss / 1024:.1f} MiB")


if __name__ == "__main__":
    main()

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
import signal
from pathlib import Path
from urllib.parse import quote

import numpy as np
from common import free_port, load, process_memory, start_server, table, worker_pids


def start_only(models: str, workers: int, times: int) -> None:
    """Start the server ``times`` times; print each start time and the workers' memory
    once ready (before any query)."""
    for attempt in range(1, times + 1):
        server, seconds = start_server(models, workers, free_port())
        try:
            memory = [process_memory(pid) for pid in worker_pids(server.pid)]
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        shown = ", ".join(
            f"RSS {m['rss']:.0f} / PSS {m['pss']:.0f} / private {m['private']:.0f} MiB"
            for m in memory
        )
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
        memory = [process_memory(pid) for pid in worker_pids(server.pid)]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    print(table(rows))
    print()
    print(f"server start to /readyz: {start_seconds:.2f} s with {args.workers} worker(s)")
    print(f"model matrices on disk: {matrix_bytes / 2**20:.1f} MiB")
    for k, mib in enumerate(memory, 1):
        print(
            f"worker {k}: RSS {mib['rss']:.1f} MiB, PSS {mib['pss']:.1f} MiB, "
            f"private {mib['private']:.1f} MiB"
        )


if __name__ == "__main__":
    main()

"""Soak: the real server under a steady mixed load, with 2 workers and then with 1.

Starts ``wordlens serve`` on the default models and holds 64 keep-alive connections
for ``--seconds`` (default 60), each sending back to back a mix of every query
family over both models: similarity, most_similar, related, context_similarity,
keywords, batch keywords (10 documents), words and complete. Prints requests/s,
p50/p99 latency and errors; each worker's share of the requests (the worker serving
each connection read from /proc); each worker's resident memory (RSS) every
``--sample`` seconds; and the 2-worker to 1-worker throughput ratio. Targets: no
error, RSS within 5 % after the warm-up, each worker at least 35 % of the requests,
the ratio at least 1.6.

    .venv/bin/python bench/bench_soak.py [--models models] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import itertools
import json
import signal
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import numpy as np
import uvloop
from bench_server import figures, free_port, start_server, worker_pids
from common import ROOT, table

from tests.procfs import connection_owners, rss_mib

CONNECTIONS = 64


def _get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def _post(path: str, body: dict) -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


def _query(family: int, model: str, a: str, b: str, texts: list[str]) -> bytes:
    """One request of query family ``family`` (0-7) on words ``a``, ``b`` and ``texts``."""
    a, b = quote(a), quote(b)
    match family:
        case 0:
            return _get(f"/similarity?model={model}&w1={a}&w2={b}")
        case 1:
            return _get(f"/most_similar?model={model}&positive={a}&topn=10")
        case 2:
            return _get(f"/related?model={model}&word={a}&topn=10")
        case 3:
            return _get(f"/context_similarity?model={model}&w1={a}&w2={b}")
        case 4:
            return _post("/keywords", {"model": model, "text": texts[0], "topn": 5})
        case 5:
            documents = [{"id": j, "text": text} for j, text in enumerate(texts)]
            return _post("/keywords/batch", {"model": model, "topn": 5, "documents": documents})
        case 6:
            return _get(f"/words/{a}?model={model}")
        case _:
            return _get(f"/complete?model={model}&prefix={a[:2]}&limit=10")


def request_mix(models: str, count: int = 400) -> list[bytes]:
    """``count`` raw HTTP/1.1 requests per model, the 8 query families interleaved."""
    from wordlens.app.engine import Engine

    rng = np.random.default_rng(0)
    with gzip.open(ROOT / "corpus/data/en.txt.gz", "rt", encoding="utf-8") as stream:
        lines = [line.strip() for line in itertools.islice(stream, 5000) if line.strip()]
    requests = []
    for name, model in Engine(models, verify=False).models.items():
        words = [model.words[i] for i in rng.integers(0, min(5000, len(model)), 2 * count)]
        for k in range(count):
            texts = [lines[i] for i in rng.integers(0, len(lines), 10)]
            requests.append(_query(k % 8, name, words[2 * k], words[2 * k + 1], texts))
    return requests


async def _exchange(reader, writer, request: bytes) -> int:
    """One keep-alive request; returns the status (body read and dropped)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await reader.readexactly(length)
    return int(head.split(b" ", 2)[1])


async def soak(
    port: int, requests: list[bytes], seconds: float, workers: list[int], sample_every: float
) -> dict:
    """CONNECTIONS connections sending ``requests`` for ``seconds``; the workers' RSS
    every ``sample_every`` seconds."""
    latencies: list[float] = []
    served = [0] * CONNECTIONS
    errors = 0
    rss: list[dict] = []
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(CONNECTIONS)]
    client_ports = [writer.get_extra_info("sockname")[1] for _, writer in streams]
    await asyncio.sleep(0.5)  # let the server accept every connection
    owners = connection_owners(port, client_ports, workers)
    started = time.perf_counter()
    deadline = started + seconds

    async def user(k: int) -> None:
        nonlocal errors
        reader, writer = streams[k]
        for i in itertools.count(k * 37):
            if time.perf_counter() >= deadline:
                break
            sent = time.perf_counter()
            try:
                status = await _exchange(reader, writer, requests[i % len(requests)])
            except (OSError, asyncio.IncompleteReadError):
                errors += 1
                break
            latencies.append(time.perf_counter() - sent)
            served[k] += 1
            errors += status != 200

    async def sample() -> None:
        while time.perf_counter() < deadline:
            rss.append(
                {"s": round(time.perf_counter() - started), **{w: rss_mib(w) for w in workers}}
            )
            await asyncio.sleep(min(sample_every, max(0.0, deadline - time.perf_counter())))

    await asyncio.gather(sample(), *(user(k) for k in range(CONNECTIONS)))
    elapsed = time.perf_counter() - started
    for _, writer in streams:
        writer.close()
    share: Counter = Counter()
    for owner, count in zip(owners, served, strict=True):
        share[owner] += count
    return {
        **figures(latencies, elapsed, errors),
        "share": {w: share[w] / max(1, sum(served)) for w in workers},
        "unmapped": share[None],
        "rss": rss,
    }


def run(models: str, workers: int, seconds: float, sample: float, requests: list[bytes]) -> dict:
    port = free_port()
    server, _ = start_server(models, workers, port)
    try:
        pids = worker_pids(server.pid)
        # warm-up: first touches of the pages, out of the figures
        # uvloop (which uvicorn uses too) keeps the client's share of the 2 cores small
        uvloop.run(soak(port, requests, min(10.0, seconds / 6), pids, sample))
        return uvloop.run(soak(port, requests, seconds, pids, sample))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="models")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between RSS samples")
    args = parser.parse_args()
    models = str(Path(args.models).resolve())
    requests = request_mix(models)

    results = {w: run(models, w, args.seconds, args.sample, requests) for w in (2, 1)}
    rows = []
    for workers, result in results.items():
        rss = result["rss"]
        drift = max(
            (max(s[w] for s in rss) - min(s[w] for s in rss)) / min(s[w] for s in rss)
            for w in result["share"]
        )
        rows.append(
            {
                "workers": workers,
                "connections": CONNECTIONS,
                "requests/s": result["requests/s"],
                "p50 ms": result["p50 ms"],
                "p99 ms": result["p99 ms"],
                "errors": result["errors"],
                "share of requests": " / ".join(f"{x:.1%}" for x in result["share"].values()),
                "RSS drift": f"{drift:.1%}",
            }
        )
    print(table(rows))
    print()
    ratio = results[2]["requests/s"] / results[1]["requests/s"]
    print(f"throughput, 2 workers / 1 worker: {ratio:.2f}")
    for workers, result in results.items():
        if result["unmapped"]:
            print(f"{workers} worker(s): {result['unmapped']} requests on unmapped connections")
        print(f"\nRSS MiB over time, {workers} worker(s) (after a warm-up):\n")
        names = {w: f"worker {i + 1}" for i, w in enumerate(result["share"])}
        print(table([{"s": s["s"], **{names[w]: s[w] for w in names}} for s in result["rss"]]))


if __name__ == "__main__":
    main()
